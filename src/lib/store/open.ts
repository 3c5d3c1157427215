// Opening the store: one SQLite file shared by many concurrent autolab processes.
// kysely is used as the query *builder*; queries run synchronously on better-sqlite3 so that a
// write transaction can be `BEGIN IMMEDIATE` (better-sqlite3's transaction().immediate()) —
// kysely's own SQLite transactions start with a deferred BEGIN, which turns into SQLITE_BUSY
// when two processes upgrade their read locks at once.
import BetterSqlite3 from 'better-sqlite3'
import {mkdirSync} from 'node:fs'
import {dirname, resolve} from 'node:path'
import {
  type CompiledQuery, type Compilable, DummyDriver, Kysely, Migrator, SqliteAdapter,
  SqliteDialect, SqliteIntrospector, SqliteQueryCompiler,
} from 'kysely'
import {AutolabError} from '../output/errors.js'
import {MIGRATIONS} from './migrations.js'
import type {Database} from './schema.js'
import {seedDefaults} from './seed.js'

const BUSY_TIMEOUT_MS = 15_000

export class Store {
  /** Builds queries only; run them with all/first/run so they execute synchronously. */
  readonly db: Kysely<Database>
  private readonly statements = new Map<string, BetterSqlite3.Statement>()

  constructor(readonly path: string, readonly sqlite: BetterSqlite3.Database) {
    this.db = new Kysely<Database>({
      dialect: {
        createAdapter: () => new SqliteAdapter(),
        createDriver: () => new DummyDriver(),
        createIntrospector: (db) => new SqliteIntrospector(db),
        createQueryCompiler: () => new SqliteQueryCompiler(),
      },
    })
  }

  private storeId: string | undefined

  /** The store's random identity (migration 0005), recorded in every run dir and trainer environment. */
  get id(): string {
    this.storeId ??= (this.sqlite.prepare(`SELECT value FROM settings WHERE key = 'store_id'`).get() as {value: string} | undefined)?.value
    if (!this.storeId) throw new AutolabError('STORE_ERROR', `The store at ${this.path} has no store_id: it was not migrated.`)
    return this.storeId
  }

  /** The directory holding the store file; the local host's work root defaults to it. */
  get dir(): string {
    return dirname(this.path)
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
    return this.prepare(compiled.sql).all(...(compiled.parameters as unknown[])) as R[]
  }

  first<R>(query: Compilable<R> | CompiledQuery<R>): R | undefined {
    const compiled = 'compile' in query ? query.compile() : query
    return this.prepare(compiled.sql).get(...(compiled.parameters as unknown[])) as R | undefined
  }

  run(query: Compilable<unknown> | CompiledQuery<unknown>): BetterSqlite3.RunResult {
    const compiled = 'compile' in query ? query.compile() : query
    return this.prepare(compiled.sql).run(...(compiled.parameters as unknown[]))
  }

  /**
   * A write transaction: BEGIN IMMEDIATE takes the write lock up front, so concurrent writers
   * queue on the busy timeout instead of failing with SQLITE_BUSY half way. Nested calls join
   * the outer transaction.
   */
  write<T>(fn: () => T): T {
    if (this.sqlite.inTransaction) return fn()
    return this.sqlite.transaction(fn).immediate()
  }

  close(): void {
    if (this.sqlite.open) this.sqlite.close()
  }
}

export interface OpenOptions {
  /** Skip creating the file: used by read-only tools that must not create a store by accident. */
  mustExist?: boolean
}

export async function openStore(path: string, options: OpenOptions = {}): Promise<Store> {
  const file = resolve(path)
  // Kernel pseudo-filesystems cannot hold a database (and Node's recursive mkdir spins on /proc).
  if (/^\/(proc|sys)(\/|$)/.test(file)) throw new AutolabError('STORE_ERROR', `Cannot put the store under ${file.split('/')[1] === 'proc' ? '/proc' : '/sys'}: ${file}`)
  let sqlite: BetterSqlite3.Database
  try {
    if (!options.mustExist) mkdirSync(dirname(file), {recursive: true})
    sqlite = new BetterSqlite3(file, {timeout: BUSY_TIMEOUT_MS, fileMustExist: options.mustExist === true})
  } catch (error) {
    throw new AutolabError('STORE_ERROR', `Cannot open the store at ${file}: ${(error as Error).message}`, {cause: error})
  }
  try {
    withBusyRetry(() => sqlite.pragma('journal_mode = WAL'))
    sqlite.pragma('synchronous = NORMAL')
    sqlite.pragma('foreign_keys = ON')
    const store = new Store(file, sqlite)
    await migrate(store)
    return store
  } catch (error) {
    sqlite.close()
    if (error instanceof AutolabError) throw error
    throw new AutolabError('STORE_ERROR', `Cannot prepare the store at ${file}: ${(error as Error).message}`, {cause: error})
  }
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
  if (migrationsApplied(store.sqlite) === total) return
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
