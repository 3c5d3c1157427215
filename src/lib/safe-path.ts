// The one gate for every file autolab writes because a user named it (export --output, init's
// project file). A path given on the command line may name anything: the store itself, a
// symlink planted to redirect the write, a directory, a FIFO that would block forever, a
// device. checkOutputPath refuses all of those with a clear error; writeFileAtomically then
// writes a temp file beside the target and renames it over, so the target is never opened
// (a symlink put there after the check is replaced, not followed) and a reader never sees a
// half-written file.
import {nodeCrypto} from './lazy-modules.js'
import {closeSync, fchmodSync, fsyncSync, lstatSync, openSync, realpathSync, renameSync, rmSync, statSync, type Stats, writeSync} from 'node:fs'
import {basename, dirname, join, resolve} from 'node:path'
import {AutolabError} from './output/errors.js'

export type OutputTarget = {kind: 'stdout'} | {kind: 'file'; path: string}

export interface OutputCheck {
  /** How the path was given, for messages: "--output", "--project". */
  flag: string
  /** The store file: neither it nor its -wal, -shm or -journal is ever a target. */
  storePath: string
  /** Whether `-` may mean stdout; otherwise `-` is refused (it is never a file named "-"). */
  allowStdout: boolean
}

/** The SQLite files that make up a store: overwriting any of them loses or corrupts it. */
export function storeFiles(storePath: string): string[] {
  const file = resolve(storePath)
  return [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]
}

/** Check a path the user asked autolab to write; throws INVALID_ARGUMENT or FILE_NOT_FOUND. */
export function checkOutputPath(requested: string, check: OutputCheck): OutputTarget {
  const {flag} = check
  const refuse = (why: string, action: string): never => {
    throw new AutolabError('INVALID_ARGUMENT', `${flag} ${requested}: ${why}`, {suggestedAction: action, details: {path: requested}})
  }
  if (requested === '-') {
    if (check.allowStdout) return {kind: 'stdout'}
    refuse('this file cannot be written to stdout', `Give a file path to ${flag}.`)
  }
  if (requested === '') refuse('the path is empty', `Give a file path to ${flag}.`)
  if (requested.includes('\0')) refuse('the path contains a NUL byte', `Give a file path to ${flag}.`)
  // "out/" names a directory even when it does not exist yet: never create a file "out" for it.
  if (/\/\.{0,2}$/.test(requested) || requested === '.' || requested === '..') refuse('names a directory, not a file', `Give a file path to ${flag}, e.g. ${join(requested, 'export.json')}.`)

  const path = resolve(requested)
  const parent = dirname(path)
  let parentStats: Stats
  try {
    parentStats = statSync(parent)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') {
      throw new AutolabError('FILE_NOT_FOUND', `${flag} ${requested}: the directory ${parent} does not exist.`, {
        suggestedAction: `Create ${parent} first, or give a path in an existing directory.`, details: {path: requested, parent},
      })
    }
    return refuse(`its directory ${parent} cannot be used (${code ?? (error as Error).message})`, 'Give a path in a directory you can write.')
  }
  if (!parentStats.isDirectory()) refuse(`${parent} is not a directory`, 'Give a path in an existing directory.')

  let stats: Stats | undefined
  try {
    stats = lstatSync(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'ENOENT') refuse(`cannot be used (${code === 'ENAMETOOLONG' ? 'the name is too long' : code ?? (error as Error).message})`, `Give another file path to ${flag}.`)
  }
  if (stats) {
    if (stats.isSymbolicLink()) refuse('is a symbolic link; autolab never writes through one', 'Give the path of the file itself (or remove the link).')
    if (stats.isDirectory()) refuse('is a directory', `Give a file path to ${flag}, e.g. ${join(requested, 'export.json')}.`)
    const special = stats.isFIFO() ? 'a named pipe (FIFO)' : stats.isSocket() ? 'a socket' : stats.isCharacterDevice() || stats.isBlockDevice() ? 'a device' : undefined
    if (special) refuse(`is ${special}, not a regular file`, `Give a regular file path to ${flag}; to stream, leave ${flag} out (or use -) and redirect stdout.`)
  }

  // Compare real paths (the parent may be reached through a symlink, e.g. /tmp on macOS) and,
  // when the target exists, file identities (a second name of the store file is still the store).
  const realTarget = join(realpathSync(parent), basename(path))
  const storeReal = storeFiles(realStorePath(check.storePath))
  const isStore = storeReal.includes(realTarget) || (stats !== undefined && storeReal.some((f) => sameFile(f, stats)))
  if (isStore) refuse(`is the store's own file (${storeReal[0]}); writing it would destroy the store`, 'Write to another path.')
  return {kind: 'file', path}
}

function realStorePath(storePath: string): string {
  const file = resolve(storePath)
  try {
    return realpathSync(file)
  } catch {
    // Not created yet (init checks before opening): its directory may still be a symlink.
    try {
      return join(realpathSync(dirname(file)), basename(file))
    } catch {
      return file
    }
  }
}

function sameFile(path: string, stats: Stats): boolean {
  try {
    const other = statSync(path)
    return other.dev === stats.dev && other.ino === stats.ino
  } catch {
    return false
  }
}

/**
 * Write a file by streaming chunks into a temp file in the same directory, then renaming it over
 * `path` (atomic on one filesystem). The temp file is created exclusively (O_EXCL: never an
 * existing file or link), keeps the mode of the file it replaces, and is removed on failure.
 * Call checkOutputPath first.
 */
export async function writeFileAtomically(path: string, produce: (write: (chunk: string) => void) => void | Promise<void>): Promise<void> {
  const temp = join(dirname(path), `.${basename(path).slice(0, 100)}.${process.pid}.${nodeCrypto().randomBytes(4).toString('hex')}.tmp`)
  let fd: number
  try {
    fd = openSync(temp, 'wx', 0o666)
  } catch (error) {
    throw cannotWrite(path, error)
  }
  let open = true
  try {
    try {
      const previous = lstatSync(path)
      if (previous.isFile()) fchmodSync(fd, previous.mode & 0o7777)
    } catch {
      // a new file: the umask decides, as for any file
    }
    await produce((chunk) => writeAll(fd, chunk))
    fsyncSync(fd)
    closeSync(fd)
    open = false
    renameSync(temp, path)
  } catch (error) {
    if (open) closeSync(fd)
    rmSync(temp, {force: true})
    throw error instanceof AutolabError ? error : cannotWrite(path, error)
  }
}

function writeAll(fd: number, chunk: string): void {
  const bytes = Buffer.from(chunk, 'utf8')
  for (let offset = 0; offset < bytes.length;) offset += writeSync(fd, bytes, offset)
}

/** Permission problems are the caller's to fix; a full disk is DISK_FULL (via toAutolabError). */
function cannotWrite(path: string, error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException).code
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new AutolabError('INVALID_ARGUMENT', `Cannot write ${path}: ${code === 'EROFS' ? 'read-only filesystem' : 'permission denied'}.`, {
      suggestedAction: 'Give a path in a directory you can write.', details: {path}, cause: error,
    })
  }
  if (code === 'EISDIR') {
    return new AutolabError('INVALID_ARGUMENT', `Cannot write ${path}: it became a directory.`, {suggestedAction: 'Give a file path.', details: {path}, cause: error})
  }
  return error
}
