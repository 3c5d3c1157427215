// The eval state machine: every status change of an eval goes through transitionEval(), inside a
// store write transaction, as `UPDATE … WHERE eval_id = ? AND status = ?` with a row-count check
// (the runs' rule: a process acting on a stale read never overwrites a newer state).
import {AutolabError} from '../output/errors.js'
import type {Store} from '../store/open.js'
import type {EvalsTable} from '../store/schema.js'

export const EVAL_STATES = {
  /** Waiting for GPUs on the run's host (eval --queue); holds none. → starting (tick), killed */
  queued: ['starting', 'killed'],
  /** Row reserved, the process being started (reserve-then-act). → running; failed (rolled back) */
  starting: ['running', 'failed', 'killed'],
  /** Process alive. → completed (exit 0 and a valid result.json), failed, killed */
  running: ['completed', 'failed', 'killed'],
  /** Terminal: exit 0 with a valid result.json; score, metrics and breakdown stored. */
  completed: [],
  /** Terminal: non-zero exit (exit_code and the stderr tail in `error`), a bad or missing result.json, or a launch rolled back. */
  failed: [],
  /** Terminal: stopped by `eval kill`. */
  killed: [],
} as const satisfies Record<string, readonly string[]>

export type EvalStatus = keyof typeof EVAL_STATES

export const EVAL_STATUSES = Object.keys(EVAL_STATES) as EvalStatus[]
/** States in which an eval's process may exist: sync watches them, and they hold their GPUs. */
export const LIVE_EVAL_STATES: readonly EvalStatus[] = ['starting', 'running']

export function isLiveEval(status: string): boolean {
  return (LIVE_EVAL_STATES as readonly string[]).includes(status)
}

type EvalPatch = Partial<Pick<EvalsTable, 'pid' | 'exit_code' | 'error' | 'started_at' | 'ended_at' | 'score' | 'metrics' | 'breakdown' | 'synced_at'>>

/** Move an eval from one state to another; false when it is no longer in `from` (another process got there first). */
export function transitionEval(store: Store, evalId: string, from: EvalStatus, to: EvalStatus, patch: EvalPatch = {}): boolean {
  if (!(EVAL_STATES[from] as readonly string[]).includes(to)) {
    throw new AutolabError('INVALID_TRANSITION', `Eval ${evalId} cannot go from ${from} to ${to}.`, {details: {eval_id: evalId, from, to}})
  }
  return store.run(store.db.updateTable('evals').set({...patch, status: to}).where('eval_id', '=', evalId).where('status', '=', from)).changes === 1
}
