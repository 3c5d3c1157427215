// Finding trainer processes on this machine by their environment: every trainer autolab starts
// carries AUTOLAB_RUN_DIR (and AUTOLAB_STORE_ID), which survives its launch wrapper and its store.
import {readdirSync, readFileSync} from 'node:fs'
import type {TrainerProcess} from './executor.js'

/** The pids of every process on this machine (none without /proc). */
export function processIds(): string[] {
  try {
    return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))
  } catch {
    return []
  }
}

/** A process's group id, from /proc/<pid>/stat (throws when the process is gone). */
export function processGroupOf(pid: string | number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the parenthesised command name (which may hold spaces): state ppid pgrp …
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2])
}

/** Processes whose environment names a run dir under `runsDir` (AUTOLAB_RUN_DIR), with their group and store. */
export function trainerProcessesUnder(runsDir: string): TrainerProcess[] {
  const found: TrainerProcess[] = []
  const prefix = `${runsDir}/`
  for (const entry of processIds()) {
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0')
      const runDir = environ.find((v) => v.startsWith('AUTOLAB_RUN_DIR='))?.slice('AUTOLAB_RUN_DIR='.length)
      if (!runDir?.startsWith(prefix)) continue
      const storeId = environ.find((v) => v.startsWith('AUTOLAB_STORE_ID='))?.slice('AUTOLAB_STORE_ID='.length) ?? null
      found.push({pid: Number(entry), pgid: processGroupOf(entry), run_dir: runDir, store_id: storeId})
    } catch {
      // ended while we looked, or not ours to read
    }
  }
  return found
}
