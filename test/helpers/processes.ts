// Looking at real processes through /proc (Linux). A pid alone proves nothing (pids are reused,
// and a killed process may linger as a zombie), so liveness is "the pid exists, is not a zombie,
// and carries the run's marker": the wrapper's command line is `sh <run_dir>/launch.sh`, and the
// trainer's environment holds AUTOLAB_RUN_DIR=<run_dir>.
import {readdirSync, readFileSync} from 'node:fs'

function readProc(pid: number, file: string): string | null {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8')
  } catch {
    return null
  }
}

interface ProcStat {
  state: string
  pgrp: number
}

function procStat(pid: number): ProcStat | null {
  const stat = readProc(pid, 'stat')
  if (stat === null) return null
  // "pid (comm) state ppid pgrp ..." — comm may contain spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return {state: fields[0], pgrp: Number(fields[2])}
}

/** True when the process exists and is not a zombie (or dead). */
export function isProcessRunning(pid: number): boolean {
  const stat = procStat(pid)
  return stat !== null && stat.state !== 'Z' && stat.state !== 'X'
}

/** Live (non-zombie) pid whose command line or environment names this run directory. */
export function isProcessAliveWithMarker(pid: number, runDir: string): boolean {
  if (!isProcessRunning(pid)) return false
  const dir = runDir.replace(/\/+$/, '')
  const cmdline = (readProc(pid, 'cmdline') ?? '').split('\0')
  if (cmdline.some((arg) => arg === `${dir}/launch.sh`)) return true
  const environ = (readProc(pid, 'environ') ?? '').split('\0')
  return environ.some((v) => v === `AUTOLAB_RUN_DIR=${dir}` || v === `AUTOLAB_RUN_DIR=${dir}/`)
}

function allPids(): number[] {
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number)
}

/** Live (non-zombie) members of a process group. */
export function liveProcessGroupMembers(pgid: number): number[] {
  return allPids().filter((pid) => {
    const stat = procStat(pid)
    return stat !== null && stat.pgrp === pgid && stat.state !== 'Z' && stat.state !== 'X'
  })
}

/** Live processes (other than this one) whose environment mentions `dir` (a test's temp dir) as a path. */
export function processesWithEnvironMarker(dir: string): number[] {
  const mentions = (environ: string) => environ.includes(`${dir}/`) || environ.includes(`${dir}\0`)
  return allPids().filter((pid) => pid !== process.pid && isProcessRunning(pid) && mentions(readProc(pid, 'environ') ?? ''))
}

/** Describe a pid for failure messages. */
export function describeProcess(pid: number): string {
  const cmdline = (readProc(pid, 'cmdline') ?? '').split('\0').join(' ').trim()
  return `${pid} (${procStat(pid)?.state ?? 'gone'}) ${cmdline}`
}
