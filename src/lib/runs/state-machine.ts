// The one run state machine. Every status change goes through transition(), inside a store
// write transaction, as `UPDATE … WHERE run_id = ? AND status = ?` with a row-count check, so a
// process acting on a stale read never overwrites a newer state.
import {AutolabError} from '../output/errors.js'
import type {Store} from '../store/open.js'
import type {RunsTable} from '../store/schema.js'

export const RUN_STATES = {
  /** Row reserved, waiting for capacity (a later issue's queue). → starting, killed */
  queued: ['starting', 'killed', 'failed'],
  /** Row reserved and the process being started (reserve-then-act). → running; failed (a launch or fork rolled back); paused (a resume rolled back) */
  starting: ['running', 'failed', 'paused'],
  /** Process alive (pid + marker). → completed, failed, lost, pausing, killing */
  running: ['completed', 'failed', 'lost', 'pausing', 'killing'],
  /** Asked to checkpoint and exit. → paused (its pause checkpoint, or signals), completed (it finished on its own first: exit 0, no pause), failed, lost, killing */
  pausing: ['paused', 'failed', 'lost', 'killing', 'completed'],
  /** Stopped with a checkpoint; resumable. → starting (resume), killed */
  paused: ['starting', 'killing', 'killed'],
  /** Being stopped for good. → killed, and completed/failed when it ended by itself first */
  killing: ['killed', 'completed', 'failed'],
  /** Terminal: stopped by request. */
  killed: [],
  /** Terminal: exit code 0. */
  completed: [],
  /** Terminal: non-zero exit (exit_code and the stderr tail in `error`), or a failed launch. */
  failed: [],
  /** Terminal: the process is gone and left no exit code. */
  lost: [],
} as const satisfies Record<string, readonly string[]>

export type RunStatus = keyof typeof RUN_STATES

export const TERMINAL_STATES: readonly RunStatus[] = ['killed', 'completed', 'failed', 'lost']
/** States that spend compute (GPU-seconds are accounted from started_at while in them). */
export const COMPUTING_STATES: readonly RunStatus[] = ['running', 'pausing', 'killing']
/** States in which a process may exist on the host and must be watched by sync. */
export const LIVE_STATES: readonly RunStatus[] = ['starting', 'running', 'pausing', 'killing']

export function isRunStatus(value: string): value is RunStatus {
  return Object.hasOwn(RUN_STATES, value)
}

export function isTerminal(status: string): boolean {
  return (TERMINAL_STATES as readonly string[]).includes(status)
}

export function canTransition(from: string, to: RunStatus): boolean {
  return isRunStatus(from) && (RUN_STATES[from] as readonly string[]).includes(to)
}

type RunPatch = Partial<Pick<RunsTable, 'pid' | 'exit_code' | 'error' | 'started_at' | 'ended_at' | 'step'>>

/**
 * Move a run from one state to another, with optional column updates. Throws
 * INVALID_TRANSITION if the table forbids it and CONFLICT if the row is no longer in `from`.
 */
export function transition(store: Store, runId: string, from: RunStatus, to: RunStatus, patch: RunPatch = {}): void {
  if (!canTransition(from, to)) {
    throw new AutolabError('INVALID_TRANSITION', `Run ${runId} cannot go from ${from} to ${to}.`, {details: {run_id: runId, from, to}})
  }
  const result = store.run(
    store.db.updateTable('runs').set({...patch, status: to}).where('run_id', '=', runId).where('status', '=', from),
  )
  if (result.changes === 1 && (COMPUTING_STATES as readonly string[]).includes(from) && !(COMPUTING_STATES as readonly string[]).includes(to)) {
    // A running stretch ends: bank its GPU-seconds (a run without GPUs counts as one device).
    store.prepare(`UPDATE runs SET gpu_seconds = gpu_seconds + max(1, json_array_length(gpus)) *
      max(0, (julianday(?) - julianday(coalesce(started_at, ?))) * 86400) WHERE run_id = ?`)
      .run(patch.ended_at ?? new Date().toISOString(), patch.ended_at ?? new Date().toISOString(), runId)
  }
  if (result.changes !== 1) {
    throw new AutolabError('CONFLICT', `Run ${runId} is no longer ${from}; another process changed it first.`, {
      suggestedAction: 'Re-read the run with `autolab show --json` and decide again.',
      details: {run_id: runId, expected: from, to},
    })
  }
}
