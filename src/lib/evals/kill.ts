// eval kill: stop an eval for good. No graceful step (an eval has no control file): SIGTERM to
// its process group, then SIGKILL. The row is marked `killed` first, so a sync that sees the
// process die of the signal does not record it as failed; a crash after that leaves the process
// to a repeated `eval kill`, which signals a live process whatever the row says.
import type {Ctx} from '../context.js'
import {recordEvent} from '../events.js'
import {AutolabError} from '../output/errors.js'
import {killAndWait, waitForExit} from '../runs/process-control.js'
import {getEval} from './queries.js'
import {type EvalStatus, isLiveEval, transitionEval} from './state.js'

const TERM_WAIT_MS = 3000

export interface EvalKillResult {
  eval_id: string
  run_id: string
  status: string
  previous_status: string
  /** no_process, sigterm, sigkill, or already_ended. */
  stopped_by: 'no_process' | 'sigterm' | 'sigkill' | 'already_ended'
  changed: boolean
}

export async function killEval(ctx: Ctx, options: {evalId: string; reason?: string}): Promise<EvalKillResult> {
  const {store} = ctx
  const row = getEval(store, options.evalId)
  const executor = ctx.executor(row.host_id)
  if (isLiveEval(row.status) || row.status === 'killed') await executor.reach()
  if (row.status === 'starting') {
    throw new AutolabError('OPERATION_IN_PROGRESS', `Eval ${row.eval_id} is still starting; retry in a moment.`, {retryable: true, details: {eval_id: row.eval_id, status: row.status}})
  }
  const marked = store.write(() => {
    const current = getEval(store, row.eval_id)
    // A queued eval has no process: it just never starts.
    if (!isLiveEval(current.status) && current.status !== 'queued') return false
    return transitionEval(store, row.eval_id, current.status as EvalStatus, 'killed', {ended_at: ctx.now().toISOString()})
  })
  let stoppedBy: EvalKillResult['stopped_by'] = marked ? 'no_process' : 'already_ended'
  if (row.pid !== null && (marked || row.status === 'killed') && await executor.isAlive(row.pid, row.dir)) {
    stoppedBy = 'sigterm'
    await executor.signalGroup(row.pid, row.dir, 'TERM')
    if (!await waitForExit(ctx, row.host_id, row.pid, row.dir, TERM_WAIT_MS, `stopping eval ${row.eval_id}: SIGTERM sent, waiting for it to exit`)) {
      stoppedBy = 'sigkill'
      if (!await killAndWait(ctx, row.host_id, row.pid, row.dir)) {
        throw new AutolabError('TIMEOUT', `Eval ${row.eval_id} (pid ${row.pid}) survived SIGKILL.`, {retryable: true})
      }
    }
  }
  const final = getEval(store, row.eval_id)
  const result: EvalKillResult = {eval_id: final.eval_id, run_id: final.run_id, status: final.status, previous_status: row.status, stopped_by: stoppedBy, changed: marked}
  if (marked) {
    store.write(() => {
      recordEvent(store, {kind: 'eval_kill', time: ctx.now(), actor: ctx.actor, runId: final.run_id, reason: options.reason ?? null, args: {eval_id: final.eval_id}, result})
      // The eval ended: a `wait --for eval` on it wakes, as for one that completed or failed.
      recordEvent(store, {kind: 'eval', time: ctx.now(), actor: 'system', runId: final.run_id, args: {eval_id: final.eval_id, suite: final.suite, checkpoint_step: final.checkpoint_step},
        result: {eval_id: final.eval_id, run_id: final.run_id, suite: final.suite, status: 'killed', score: null, exit_code: null}})
    })
  }
  return result
}
