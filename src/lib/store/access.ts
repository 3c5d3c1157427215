// The store's files and what this process may do with them. SQLite in WAL mode uses three files:
// the database, <db>-wal and <db>-shm, the last two created in the store's directory. When one
// of them (or the directory) is not writable, opening read-write "works" and then fails on the
// first write — even the sync a read command starts with — with a bare SQLITE_READONLY. Instead
// the store is opened read-only: reads work, and every write is refused up front with
// STORE_READONLY (Store.write). The store's own faults get codes too: a full disk is DISK_FULL.
import BetterSqlite3 from 'better-sqlite3'
import {accessSync, chmodSync, constants, existsSync, readFileSync, statfsSync, statSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'
import {createRequire} from 'node:module'
import {AutolabError} from '../output/errors.js'

const SIDECARS = ['-wal', '-shm'] as const

/**
 * Read into memory (see openSnapshot) only up to this size: beyond it, asking for a writable
 * directory is better than holding the whole store in memory.
 */
const SNAPSHOT_MAX_BYTES = 1024 ** 3

/** Free space below which an I/O error of the store is taken for a full disk. */
const NEARLY_FULL_BYTES = 8 * 1024 ** 2

function writable(path: string): boolean {
  try {
    // access(2) answers for this process's real user: root passes unless the filesystem is
    // read-only (EROFS), which is exactly when root cannot write either.
    accessSync(path, constants.W_OK)
    return true
  } catch {
    return false
  }
}

/** Why this process cannot write the existing store `file`, or null when it can. */
export function whyReadOnly(file: string): string | null {
  if (!writable(file)) return `the store file ${file} is not writable by this user`
  for (const suffix of SIDECARS) {
    const sidecar = `${file}${suffix}`
    if (existsSync(sidecar)) {
      if (!writable(sidecar)) return `${sidecar} is not writable by this user`
    } else if (!writable(dirname(file))) {
      return `the store's directory ${dirname(file)} is not writable by this user (SQLite must create ${basename(sidecar)} there)`
    }
  }
  return null
}

/**
 * Give the -wal and -shm the database file's mode, when this process can write the file. A
 * read-only open creates them with the mode of a read-only database file (0444); once the file
 * is writable again, a -shm left at 0444 would keep every later write failing. Best effort: a
 * file of another user stays as it is (and whyReadOnly then says so).
 */
export function alignSidecarModes(file: string): void {
  let mode: number
  try {
    accessSync(file, constants.W_OK)
    mode = statSync(file).mode & 0o777
  } catch {
    return
  }
  for (const suffix of SIDECARS) {
    try {
      if ((statSync(`${file}${suffix}`).mode & 0o777) !== mode) chmodSync(`${file}${suffix}`, mode)
    } catch {
      // absent, or not ours to change
    }
  }
}

let binding: object | undefined | null = null

/**
 * better-sqlite3's compiled addon, loaded here and handed to it as nativeBinding: without it,
 * the package finds its addon through \`bindings\`, which tries a dozen paths and costs every
 * command start a few ms (and the CLI bundle carries the package's JS, where that search would
 * look in the wrong place). Undefined — the package's own search — when the build put it elsewhere.
 */
export function sqliteBinding(): object | undefined {
  if (binding === null) {
    const require = createRequire(import.meta.url)
    let path: string | undefined
    try {
      path = join(dirname(require.resolve('better-sqlite3/package.json')), 'build', 'Release', 'better_sqlite3.node')
    } catch {
      path = undefined
    }
    binding = path !== undefined && existsSync(path) ? (require(path) as object) : undefined
  }
  return binding
}

/**
 * Every SQLite connection autolab opens, with the addon handed over (sqliteBinding). In the CLI
 * bundle the package cannot find its addon by itself, so nothing else calls its constructor (a
 * test holds to that). Its types say nativeBinding is a path; the package also takes the loaded
 * addon object (lib/database.js), which is what this passes.
 */
export function sqliteDatabase(file: string | Buffer, options: BetterSqlite3.Options): BetterSqlite3.Database {
  const addon = sqliteBinding()
  return new BetterSqlite3(file, addon === undefined ? options : {...options, nativeBinding: addon as unknown as string})
}

/** Open an existing store for reading only. */
export function openReadOnly(file: string, timeoutMs: number): BetterSqlite3.Database {
  let sqlite: BetterSqlite3.Database | undefined
  try {
    sqlite = sqliteDatabase(file, {readonly: true, fileMustExist: true, timeout: timeoutMs})
    // Opening is lazy: the first read is what needs the -shm.
    sqlite.prepare('SELECT count(*) FROM sqlite_master').get()
    return sqlite
  } catch (error) {
    sqlite?.close()
    const code = (error as {code?: string}).code ?? ''
    if (code !== 'SQLITE_CANTOPEN' && !code.startsWith('SQLITE_READONLY')) throw error
  }
  return openSnapshot(file)
}

/**
 * A WAL database can be read in place only when its -shm exists or can be created. In a
 * directory this user cannot write, and with no -wal holding anything (so no writer is active:
 * a writer needs the -wal), the file alone is the whole store: read it into memory. The copy's
 * header is set to rollback mode (format versions 1), without which SQLite looks for the -shm
 * even in memory; the file itself is not touched.
 */
function openSnapshot(file: string): BetterSqlite3.Database {
  const wal = `${file}-wal`
  if (existsSync(wal) && statSync(wal).size > 0) {
    throw new AutolabError('STORE_READONLY', `The store ${file} cannot be read: its ${basename(wal)} holds changes, and SQLite cannot read them without creating ${basename(file)}-shm in a directory this user cannot write.`, {
      suggestedAction: `Make ${dirname(file)} writable by this user (or run as the store's owner).`, details: {store: file},
    })
  }
  const size = statSync(file).size
  if (size > SNAPSHOT_MAX_BYTES) {
    throw new AutolabError('STORE_READONLY', `The store ${file} is read-only and its directory is not writable; at ${size} bytes it is too large to read into memory instead.`, {
      suggestedAction: `Make ${dirname(file)} writable by this user (or run as the store's owner).`, details: {store: file, bytes: size},
    })
  }
  const bytes = readFileSync(file)
  bytes[18] = 1
  bytes[19] = 1
  return sqliteDatabase(bytes, {readonly: true})
}

/** An I/O error of SQLite, as an AutolabError when it is one of the store's own faults. */
export function diagnoseStoreError(error: unknown, dir: string): unknown {
  const code = (error as {code?: unknown})?.code
  if (error instanceof AutolabError || typeof code !== 'string' || !code.startsWith('SQLITE_')) return error
  const message = (error as Error).message
  // SQLITE_FULL is ENOSPC on a write; ENOSPC while growing the -shm or syncing surfaces as a
  // plain SQLITE_IOERR_* ("disk I/O error"), so ask the filesystem.
  const free = code === 'SQLITE_FULL' || code.startsWith('SQLITE_IOERR') ? freeBytes(dir) : undefined
  if (code === 'SQLITE_FULL' || (free !== undefined && free < NEARLY_FULL_BYTES)) {
    return new AutolabError('DISK_FULL', `The disk holding the store (${dir}) is full${free === undefined ? '' : ` (${free} bytes free)`}: ${message}.`, {
      suggestedAction: `Free space on the filesystem of ${dir} (old run directories under ${dir}/runs, checkpoints, logs), then retry.`,
      details: {path: dir, free_bytes: free ?? null}, cause: error,
    })
  }
  if (code.startsWith('SQLITE_READONLY')) {
    return new AutolabError('STORE_READONLY', `The store in ${dir} is read-only: ${message}.`, {cause: error})
  }
  return error
}

function freeBytes(dir: string): number | undefined {
  try {
    const fs = statfsSync(dir)
    // root may also use the blocks reserved for it.
    return (process.getuid?.() === 0 ? fs.bfree : fs.bavail) * fs.bsize
  } catch {
    return undefined
  }
}
