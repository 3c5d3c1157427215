// Where the store is, found the way git finds `.git`: `--store PATH`, else AUTOLAB_STORE, else
// `.autolab/autolab.db` in the current directory, then in each parent up to `/`. Finding is not
// creating: a command that finds no store answers STORE_NOT_FOUND naming where it looked (or
// STORE_LOST when run directories wait beside a missing store); only `init` (and `demo`, in its
// own store) creates one. A read from the wrong folder used to create an empty store there and
// answer "nothing" — an agent cannot see that mistake; it can see an error.
import {readdirSync, statSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {AutolabError} from '../output/errors.js'
import {refuseLostStore} from './lost.js'

export const STORE_DIR = '.autolab'
export const STORE_FILE = 'autolab.db'

export interface StoreLocation {
  /** Absolute path of the store file (init's target when nothing was found). */
  path: string
  /** How the path was chosen. */
  from: '--store' | 'AUTOLAB_STORE' | 'search'
  /** Is there a store file (non-empty) at path? */
  exists: boolean
  /** With from "search": every candidate looked at, nearest first. */
  searched: string[]
}

/** Find the store; nothing is created or opened. */
export function locateStore(options: {flag?: string; env?: string; cwd?: string} = {}): StoreLocation {
  const env = options.env ?? process.env.AUTOLAB_STORE
  if (options.flag !== undefined) return explicit(resolve(options.flag), '--store')
  if (env) return explicit(resolve(env), 'AUTOLAB_STORE')
  const searched: string[] = []
  for (let dir = resolve(options.cwd ?? '.'); ; dir = dirname(dir)) {
    const candidate = join(dir, STORE_DIR, STORE_FILE)
    searched.push(candidate)
    // A store file (even an empty one), or run directories waiting for a lost one, stop the
    // search here: skipping on to a parent's store would answer about the wrong campaign.
    if (present(candidate) || hasRunDirs(dirname(candidate))) return {path: candidate, from: 'search', exists: fileSize(candidate) > 0, searched}
    if (dirname(dir) === dir) break
  }
  return {path: searched[0], from: 'search', exists: false, searched}
}

/** The default path of a new store: `./.autolab/autolab.db`, unless --store or AUTOLAB_STORE says otherwise. */
export function newStorePath(flag?: string): string {
  return resolve(flag ?? (process.env.AUTOLAB_STORE || join(STORE_DIR, STORE_FILE)))
}

/**
 * Throws when there is no store at the location: STORE_LOST when run directories of a store (or
 * its live trainers) wait beside the missing file, STORE_NOT_FOUND otherwise, naming where it looked.
 */
export function requireStore(location: StoreLocation): void {
  if (location.exists) return
  refuseLostStore(location.path)
  const empty = present(location.path)
  const what = empty ? `${location.path} is empty: not a store` : `No store at ${location.path}`
  if (location.from !== 'search') {
    throw new AutolabError('STORE_NOT_FOUND', `${what} (given by ${location.from}). Nothing was created.`, {
      suggestedAction: `Check the path, or create a store there with \`autolab init --store ${location.path}\`.`,
      details: {store: location.path, from: location.from, searched: [location.path]},
    })
  }
  const top = location.searched[0]
  const cwd = dirname(dirname(top))
  throw new AutolabError('STORE_NOT_FOUND', empty
    ? `${what}. Nothing was created.`
    : `No store found: no ${join(STORE_DIR, STORE_FILE)} in ${cwd} or any of its ${location.searched.length - 1} parent directories, and no --store or AUTOLAB_STORE. Nothing was created.`, {
    suggestedAction: 'Run the command in the project directory (or below it), pass --store PATH or set AUTOLAB_STORE; or run `autolab init` to create a store here.',
    details: {store: null, from: location.from, searched: location.searched},
  })
}

/** The value of the last --store in argv (`--store X` or `--store=X`, before any `--`), read without oclif (whose parsing may be what failed). */
export function storeFlagOf(argv: readonly string[]): string | undefined {
  let value: string | undefined
  for (let i = 0; i < argv.length && argv[i] !== '--'; i++) {
    if (argv[i] === '--store' && i + 1 < argv.length) value = argv[++i]
    else if (argv[i].startsWith('--store=')) value = argv[i].slice('--store='.length)
  }
  return value
}

function explicit(path: string, from: StoreLocation['from']): StoreLocation {
  return {path, from, exists: fileSize(path) > 0, searched: [path]}
}

/** Something (a file, a directory…) is at path: the store's own open reports what is wrong with it. */
function present(path: string): boolean {
  try {
    statSync(path)
    return true
  } catch {
    return false
  }
}

/** Size of a file at path; a directory or anything else counts as present (opening it says why it is no store). */
function fileSize(path: string): number {
  try {
    const stat = statSync(path)
    return stat.isFile() ? stat.size : 1
  } catch {
    return 0
  }
}

function hasRunDirs(storeDir: string): boolean {
  try {
    return readdirSync(join(storeDir, 'runs')).length > 0
  } catch {
    return false
  }
}
