// Stopping processes: wait for exit, escalate graceful stop → SIGTERM → SIGKILL.
import type {Ctx} from '../context.js'
import {AutolabError} from '../output/errors.js'
import {waitedText} from '../output/progress.js'
import {updateControl} from './control.js'
import {getRun} from './queries.js'
import {isTerminal} from './state-machine.js'
import {syncRuns} from './sync.js'

const POLL_MS = 50
const KILL_WAIT_MS = 5000

export type StoppedBy = 'no_process' | 'graceful' | 'sigterm' | 'sigkill'

/** Wait (bounded) until the process is gone; `progress` names the wait on the progress line. */
export async function waitForExit(ctx: Ctx, hostId: string, pid: number, runDir: string, timeoutMs: number, progress?: string): Promise<boolean> {
  const executor = ctx.executor(hostId)
  const started = Date.now()
  const deadline = started + timeoutMs
  try {
    for (;;) {
      if (progress) ctx.progress.update(`${progress}… ${waitedText(started, Date.now(), timeoutMs)}`)
      if (!await executor.isAlive(pid, runDir)) return true
      if (Date.now() >= deadline) return false
      await new Promise((r) => setTimeout(r, POLL_MS))
    }
  } finally {
    if (progress) ctx.progress.end()
  }
}

/** SIGKILL the run's process group and wait (bounded) until the wrapper is gone. */
export async function killAndWait(ctx: Ctx, hostId: string, pid: number, runDir: string, timeoutMs = KILL_WAIT_MS): Promise<boolean> {
  await ctx.executor(hostId).signalGroup(pid, runDir, 'KILL')
  return waitForExit(ctx, hostId, pid, runDir, timeoutMs)
}

/**
 * Escalate until the wrapper is gone: control.json `stop` (a contract-following trainer exits
 * within a step), SIGTERM to the group after half the grace, SIGKILL after the other half.
 * Then sync the run, so its last telemetry and its exit are recorded.
 */
export async function stopProcess(ctx: Ctx, runId: string, graceSeconds: number): Promise<StoppedBy> {
  const run = getRun(ctx.store, runId)
  const executor = ctx.executor(run.host_id)
  const pid = run.pid
  let stoppedBy: StoppedBy = 'no_process'
  if (pid !== null && await executor.isAlive(pid, run.run_dir)) {
    const halfGraceMs = (graceSeconds * 1000) / 2
    await updateControl(ctx, runId, () => ({state: 'stop'}))
    stoppedBy = 'graceful'
    if (!await waitForExit(ctx, run.host_id, pid, run.run_dir, halfGraceMs, `stopping ${runId}: waiting for the trainer to exit`)) {
      stoppedBy = 'sigterm'
      await executor.signalGroup(pid, run.run_dir, 'TERM')
      if (!await waitForExit(ctx, run.host_id, pid, run.run_dir, halfGraceMs, `stopping ${runId}: SIGTERM sent, waiting for it to exit`)) {
        stoppedBy = 'sigkill'
        if (!await killAndWait(ctx, run.host_id, pid, run.run_dir)) {
          throw new AutolabError('TIMEOUT', `Run ${runId} (pid ${pid}) survived SIGKILL.`, {retryable: true})
        }
      }
    }
  }
  await syncRuns(ctx, {runIds: [runId]})
  return stoppedBy
}

/**
 * Before a command changes the state of a live run: its host must answer (connected, key
 * verified), so an unreachable host or a refused key is the answer and nothing changes.
 */
export async function reachHostOf(ctx: Ctx, run: {host_id: string; status: string}): Promise<void> {
  if (!isTerminal(run.status)) await ctx.executor(run.host_id).reach()
}

/** Sync the given runs until `done` holds or the time is up; true when it held. `progress` names the wait on the progress line. */
export async function syncUntil(ctx: Ctx, runIds: string[], done: () => boolean, timeoutMs: number, progress?: string): Promise<boolean> {
  const started = Date.now()
  const deadline = started + timeoutMs
  try {
    for (;;) {
      if (progress) ctx.progress.update(`${progress}… ${waitedText(started, Date.now(), timeoutMs)}`)
      await syncRuns(ctx, {runIds})
      if (done()) return true
      if (Date.now() >= deadline) return false
      await new Promise((r) => setTimeout(r, POLL_MS))
    }
  } finally {
    if (progress) ctx.progress.end()
  }
}
