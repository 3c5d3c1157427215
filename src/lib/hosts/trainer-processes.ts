// Finding trainer processes on this machine by their environment: every trainer autolab starts
// carries AUTOLAB_RUN_DIR (and AUTOLAB_STORE_ID), which survives its launch wrapper and its store.
import {readdirSync, readFileSync} from 'node:fs'
import type {TrainerProcess} from './executor.js'

/** Processes whose environment names a run dir under `runsDir` (AUTOLAB_RUN_DIR), with their group and store. */
export function trainerProcessesUnder(runsDir: string): TrainerProcess[] {
  const found: TrainerProcess[] = []
  let entries: string[]
  try {
    entries = readdirSync('/proc')
  } catch {
    return found
  }
  const prefix = `${runsDir}/`
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0')
      const runDir = environ.find((v) => v.startsWith('AUTOLAB_RUN_DIR='))?.slice('AUTOLAB_RUN_DIR='.length)
      if (!runDir?.startsWith(prefix)) continue
      const storeId = environ.find((v) => v.startsWith('AUTOLAB_STORE_ID='))?.slice('AUTOLAB_STORE_ID='.length) ?? null
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2])
      found.push({pid: Number(entry), pgid, run_dir: runDir, store_id: storeId})
    } catch {
      // ended while we looked, or not ours to read
    }
  }
  return found
}
