// A lost store: the file was deleted or truncated, but the run directories it described are still
// beside it (the local host's work root is the store's directory). Creating a fresh store there
// would answer `runs: []` as if nothing had happened and hand out r1 again, on top of the old r1.
// So a store is only ever created where no run directories are waiting for their store.
import {readdirSync, statSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {trainerProcessesUnder} from '../hosts/trainer-processes.js'
import {AutolabError} from '../output/errors.js'

/** Throws STORE_LOST when creating a store at `file` would take over existing run directories. */
export function refuseLostStore(file: string): void {
  const runs = join(dirname(file), 'runs')
  let entries: string[]
  try {
    entries = readdirSync(runs)
  } catch {
    entries = [] // no runs/ directory (or not one)
  }
  if (entries.length === 0) {
    refuseLiveTrainers(file, runs)
    return
  }
  const runDirs = entries.filter((entry) => {
    try {
      return statSync(join(runs, entry)).isDirectory()
    } catch {
      return false
    }
  }).length
  throw new AutolabError('STORE_LOST', `No store at ${file} (the file is missing or empty), but ${runs} holds ${runDirs} run director${runDirs === 1 ? 'y' : 'ies'} of a store: creating a new store here would take them over.`, {
    suggestedAction: `Restore ${file} from a backup; or, to start a new store here, move ${runs} aside first (rename it).`,
    details: {store: file, runs_dir: runs, run_dirs: runDirs, entries: entries.length},
  })
}

/**
 * The whole store directory was deleted while runs trained: no directory is left, but their
 * trainers still run (writing into deleted files). A new store here would not know them and
 * would hand their run ids out again; they must be stopped (or the store restored) first.
 */
function refuseLiveTrainers(file: string, runs: string): void {
  const trainers = trainerProcessesUnder(runs)
  if (trainers.length === 0) return
  const groups = [...new Set(trainers.map((t) => t.pgid))]
  throw new AutolabError('STORE_LOST', `No store at ${file} (the file is missing or empty), but ${trainers.length} trainer process(es) of a store's runs under ${runs} are still running (process group${groups.length === 1 ? '' : 's'} ${groups.join(', ')}).`, {
    suggestedAction: `Restore ${file} from a backup; or stop those trainers (\`kill -TERM -- ${groups.map((g) => `-${g}`).join(' ')}\`) and retry.`,
    details: {store: file, runs_dir: runs, process_groups: groups, run_dirs: [...new Set(trainers.map((t) => t.run_dir))]},
  })
}
