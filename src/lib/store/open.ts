// Opening the store: one SQLite file shared by many concurrent autolab processes.
// kysely is used as the query *builder*; queries run synchronously on better-sqlite3 so that a
// write transaction can be `BEGIN IMMEDIATE` (better-sqlite3's transaction().immediate()) —
// kysely's own SQLite transactions start with a deferred BEGIN, which turns into SQLITE_BUSY
// when two processes upgrade their read locks at once.
import BetterSqlite3 from 'better-sqlite3'
import {existsSync, mkdirSync, statSync} from 'node:fs'
import {dirname, resolve} from 'node:path'
import {
  type CompiledQuery, type Compilable, DummyDriver, Kysely, Migrator, SqliteAdapter,
  SqliteDialect, SqliteIntrospector, SqliteQueryCompiler,
} from 'kysely'
import {AutolabError, toAutolabError} from '../output/errors.js'
import {alignSidecarModes, diagnoseStoreError, openReadOnly, sqliteDatabase, whyReadOnly} from './access.js'
import {refuseLostStore} from './lost.js'
import {MIGRATIONS} from './migrations.js'
import type {Database} from './schema.js'
import {seedDefaults} from './seed.js'

const BUSY_TIMEOUT_MS = 15_000

export class Store {
  /** Builds queries only; run them with all/first/run so they execute synchronously. */
  readonly db: Kysely<Database>
  private readonly statements = new Map<string, BetterSqlite3.Statement>()
  private cachedId?: string

  /**
   * @param readOnlyReason why this process cannot write the store (it was opened read-only), or
   * null when it can: reads work either way, writes are refused with STORE_READONLY.
   */
  constructor(readonly path: string, readonly sqlite: BetterSqlite3.Database, readonly readOnlyReason: string | null = null) {
    this.db = new Kysely<Database>({
      dialect: {
        createAdapter: () => new SqliteAdapter(),
        createDriver: () => new DummyDriver(),
        createIntrospector: (db) => new SqliteIntrospector(db),
        createQueryCompiler: () => new SqliteQueryCompiler(),
      },
    })
  }

  /** The directory holding the store file; the local host's work root defaults to it. */
  get dir(): string {
    return dirname(this.path)
  }

  /** The store's random identity, given when it was created (migration 0005_store_meta). */
  get id(): string {
    if (this.cachedId === undefined) {
      const row = this.first<{value: string}>(this.db.selectFrom('store_meta').select('value').where('key', '=', 'store_id'))
      if (!row) throw new AutolabError('STORE_ERROR', `The store ${this.path} has no store_id.`)
      this.cachedId = row.value
    }
    return this.cachedId
  }

  prepare(sqlText: string): BetterSqlite3.Statement {
    let statement = this.statements.get(sqlText)
    if (!statement) {
      statement = this.sqlite.prepare(sqlText)
      this.statements.set(sqlText, statement)
    }
    return statement
  }

  all<R>(query: Compilable<R> | CompiledQuery<R>): R[] {
    const compiled = 'compile' in query ? query.compile() : query
    return this.diagnosed(() => this.prepare(compiled.sql).all(...(compiled.parameters as unknown[])) as R[])
  }

  first<R>(query: Compilable<R> | CompiledQuery<R>): R | undefined {
    const compiled = 'compile' in query ? query.compile() : query
    return this.diagnosed(() => this.prepare(compiled.sql).get(...(compiled.parameters as unknown[])) as R | undefined)
  }

  run(query: Compilable<unknown> | CompiledQuery<unknown>): BetterSqlite3.RunResult {
    const compiled = 'compile' in query ? query.compile() : query
    return this.diagnosed(() => this.prepare(compiled.sql).run(...(compiled.parameters as unknown[])))
  }

  /**
   * A write transaction: BEGIN IMMEDIATE takes the write lock up front, so concurrent writers
   * queue on the busy timeout instead of failing with SQLITE_BUSY half way. Nested calls join
   * the outer transaction. On a read-only store nothing is attempted: STORE_READONLY.
   */
  write<T>(fn: () => T): T {
    if (this.readOnlyReason !== null) {
      throw new AutolabError('STORE_READONLY', `The store is read-only: ${this.readOnlyReason}. Nothing was changed.`, {details: {store: this.path}})
    }
    if (this.sqlite.inTransaction) return fn()
    return this.diagnosed(() => this.sqlite.transaction(fn).immediate())
  }

  /** The store's own faults (a full disk, a file turned read-only) get their codes here. */
  private diagnosed<T>(fn: () => T): T {
    try {
      return fn()
    } catch (error) {
      throw diagnoseStoreError(error, this.dir)
    }
  }

  close(): void {
    if (this.sqlite.open) this.sqlite.close()
  }
}

export interface OpenOptions {
  /**
   * Never create a store: a missing or empty file is STORE_NOT_FOUND (STORE_LOST when run
   * directories wait beside it). Every command but init opens the store this way (see locate.ts).
   */
  mustExist?: boolean
}

export async function openStore(path: string, options: OpenOptions = {}): Promise<Store> {
  const file = resolve(path)
  // Kernel pseudo-filesystems cannot hold a database (and Node's recursive mkdir spins on /proc).
  if (/^\/(proc|sys)(\/|$)/.test(file)) throw new AutolabError('STORE_ERROR', `Cannot put the store under ${file.split('/')[1] === 'proc' ? '/proc' : '/sys'}: ${file}`)
  const size = fileSize(file)
  // A missing or empty file means a store is about to be created: not on top of another's runs.
  if (!size) {
    refuseLostStore(file)
    if (options.mustExist) throw new AutolabError('STORE_NOT_FOUND', `No store at ${file}${existsSync(file) ? ' (the file is empty)' : ''}. Nothing was created.`, {details: {store: file}})
  }
  // First repair -wal/-shm left read-only by an earlier read-only open (only if the file itself
  // is writable: a read-only store keeps its sidecars as they are), then decide.
  if (size) alignSidecarModes(file)
  const readOnlyReason = size ? whyReadOnly(file) : null
  let sqlite: BetterSqlite3.Database
  try {
    if (readOnlyReason !== null) {
      sqlite = openReadOnly(file, BUSY_TIMEOUT_MS)
    } else {
      if (!options.mustExist) mkdirSync(dirname(file), {recursive: true})
      sqlite = sqliteDatabase(file, {timeout: BUSY_TIMEOUT_MS, fileMustExist: options.mustExist === true})
    }
  } catch (error) {
    if (error instanceof AutolabError) throw error
    throw storeError(file, 'open', error)
  }
  try {
    const store = new Store(file, sqlite, readOnlyReason)
    if (readOnlyReason !== null) {
      if (migrationsApplied(sqlite) < Object.keys(MIGRATIONS).length) {
        throw new AutolabError('STORE_READONLY', `The store ${file} needs upgrading to this version of autolab, but it is read-only: ${readOnlyReason}.`, {details: {store: file}})
      }
      sqlite.pragma('foreign_keys = ON')
      return store
    }
    withBusyRetry(() => sqlite.pragma('journal_mode = WAL'))
    sqlite.pragma('synchronous = NORMAL')
    sqlite.pragma('foreign_keys = ON')
    await migrate(store)
    // An existing store's sidecars were aligned before opening; a new store may have found stale
    // ones beside it (SQLite gives the ones it creates the database's mode already).
    if (!size) alignSidecarModes(file)
    return store
  } catch (error) {
    sqlite.close()
    if (error instanceof AutolabError) throw error
    throw storeError(file, 'prepare', error)
  }
}

/** Size of the store file, or 0 when there is none. */
function fileSize(file: string): number {
  try {
    return statSync(file).size
  } catch {
    return 0
  }
}

/** A full disk or a read-only file keeps its own code; anything else is STORE_ERROR. */
/** The file named as the store is not one: the caller asked wrong (exit 2), nothing was changed. */
function notAStore(file: string, why: string): AutolabError {
  return new AutolabError('NOT_A_STORE', `${file} is not an autolab store: ${why}. Nothing was changed.`, {
    details: {store: file}, suggestedAction: 'Check --store / AUTOLAB_STORE: it names the store file (.autolab/autolab.db), created by `autolab init`.',
  })
}

function storeError(file: string, doing: 'open' | 'prepare', error: unknown): AutolabError {
  if ((error as {code?: string})?.code === 'SQLITE_NOTADB') return notAStore(file, 'it is not an SQLite database')
  const what = `Cannot ${doing} the store at ${file}`
  const dir = dirname(file)
  const diagnosed = toAutolabError(diagnoseStoreError(error, dir))
  if (diagnosed.code !== 'INTERNAL' && diagnosed.code !== 'INVALID_ARGUMENT') return new AutolabError(diagnosed.code, `${what}: ${diagnosed.message}`, {suggestedAction: diagnosed.suggestedAction, details: diagnosed.details, cause: error})
  return new AutolabError('STORE_ERROR', `${what}: ${(error as Error).message}`, {cause: error})
}

function migrationsApplied(sqlite: BetterSqlite3.Database): number {
  try {
    return (sqlite.prepare('SELECT count(*) AS n FROM kysely_migration').get() as {n: number}).n
  } catch {
    return 0
  }
}

async function migrate(store: Store): Promise<void> {
  const total = Object.keys(MIGRATIONS).length
  // The common case costs one indexed count: every command opens the store.
  const applied = migrationsApplied(store.sqlite)
  if (applied === total) return
  // Tables but no autolab migrations: another application's database. Never migrate into it.
  if (applied === 0 && (store.sqlite.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'`).get() as {n: number}).n > 0) {
    throw notAStore(store.path, 'it is an SQLite database of something else (it has tables, but none of autolab\'s)')
  }
  const migrator = new Migrator({
    db: new Kysely<unknown>({dialect: new SqliteDialect({database: store.sqlite})}),
    provider: {getMigrations: async () => MIGRATIONS},
  })
  withBusyRetry(() => store.sqlite.exec('BEGIN IMMEDIATE'))
  try {
    if (migrationsApplied(store.sqlite) < total) {
      const {error, results} = await migrator.migrateToLatest()
      if (error) {
        const failed = results?.find((r) => r.status === 'Error')?.migrationName
        // A full disk or a read-only file is not a broken migration: say which it is.
        const diagnosed = diagnoseStoreError(error, store.dir)
        if (diagnosed instanceof AutolabError) throw diagnosed
        throw new AutolabError('STORE_ERROR', `Migration ${failed ?? '(unknown)'} failed: ${(error as Error).message ?? error}`, {cause: error})
      }
      seedDefaults(store, new Date().toISOString())
    }
    store.sqlite.exec('COMMIT')
  } catch (error) {
    if (store.sqlite.inTransaction) store.sqlite.exec('ROLLBACK')
    throw error
  }
}

/** journal_mode changes can report SQLITE_BUSY without consulting the busy handler. */
function withBusyRetry<T>(fn: () => T): T {
  const deadline = Date.now() + BUSY_TIMEOUT_MS
  for (;;) {
    try {
      return fn()
    } catch (error) {
      if ((error as {code?: string}).code !== 'SQLITE_BUSY' || Date.now() > deadline) throw error
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10)
    }
  }
}

/**
 * An existing store opened only to be read, by the status bar of an error raised before the
 * command opened its own (a parse error): never created, migrated or synced, and writes are
 * refused. Null when there is no store at `file` or it cannot be read now.
 */
export function peekStore(file: string): Store | null {
  if (!fileSize(file)) return null
  let sqlite: BetterSqlite3.Database | undefined
  try {
    sqlite = sqliteDatabase(file, {readonly: true, fileMustExist: true, timeout: 1000})
    sqlite.pragma('query_only = ON')
    return new Store(file, sqlite, 'opened only to read the status bar')
  } catch {
    sqlite?.close()
    return null
  }
}
