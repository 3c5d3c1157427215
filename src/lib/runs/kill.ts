// kill: stop a run for good. Graceful first (control.json state `stop`, which a contract-
// following trainer honours within a step), then SIGTERM to the process group, then SIGKILL.
// Idempotent: killing a run that already ended changes nothing and says so.
import type {Ctx} from '../context.js'
import {recordEvent} from '../events.js'
import {AutolabError} from '../output/errors.js'
import {argsHash, beginOperation, checkIdempotency, commitOperation, stepDone} from './journal.js'
import {getRun, resolveRun} from './queries.js'
import {reachHostOf, type StoppedBy, stopProcess} from './process-control.js'
import {isTerminal, type RunStatus, transition} from './state-machine.js'

export interface KillOptions {
  run: string
  graceSeconds: number
  reason?: string
  idempotencyKey?: string
}

export interface KillResult {
  run_id: string
  status: string
  previous_status: string
  exit_code: number | null
  /** How the process ended: already_ended, no_process, graceful, sigterm or sigkill. */
  stopped_by: StoppedBy | 'already_ended'
  changed: boolean
  replayed: boolean
}

export async function killRun(ctx: Ctx, options: KillOptions): Promise<KillResult> {
  const {store} = ctx
  const target = resolveRun(store, options.run)
  await reachHostOf(ctx, target)
  const hash = argsHash('kill', {run: target.run_id})
  const begun = store.write(() => {
    const replay = checkIdempotency<KillResult>(store, options.idempotencyKey, 'kill', hash)
    if (replay) return replay
    const run = getRun(store, target.run_id)
    const status = run.status as RunStatus
    if (isTerminal(status)) return {done: {run_id: run.run_id, status, previous_status: status, exit_code: run.exit_code, stopped_by: 'already_ended', changed: false, replayed: false} satisfies KillResult}
    if (status === 'starting') {
      throw new AutolabError('OPERATION_IN_PROGRESS', `Run ${run.run_id} is still starting; retry in a moment.`, {details: {run_id: run.run_id, status}})
    }
    const op = beginOperation(store, {kind: 'kill', key: options.idempotencyKey, hash, runId: run.run_id, now: ctx.now()})
    if (status === 'queued' || status === 'paused') {
      // No process to stop.
      transition(store, run.run_id, status, 'killed', {ended_at: ctx.now().toISOString()})
      return {op, previous: status, processless: true}
    }
    if (status !== 'killing') transition(store, run.run_id, status, 'killing')
    return {op, previous: status, processless: false}
  })
  if ('replayed' in begun) return {...begun.result, replayed: true}
  if ('done' in begun && begun.done) return begun.done as KillResult
  const {op, previous} = begun
  stepDone(store, op, 'mark-killing', ctx.now())

  let stoppedBy: KillResult['stopped_by'] = 'no_process'
  if (!begun.processless) stoppedBy = await stopProcess(ctx, target.run_id, options.graceSeconds)
  stepDone(store, op, 'stopped', ctx.now())

  return store.write(() => {
    const run = getRun(store, target.run_id)
    // sync may already have recorded the exit (killing → killed, or completed if it won the race).
    if (run.status === 'killing') transition(store, run.run_id, 'killing', 'killed', {ended_at: ctx.now().toISOString()})
    const final = getRun(store, target.run_id)
    const result: KillResult = {run_id: final.run_id, status: final.status, previous_status: previous, exit_code: final.exit_code, stopped_by: stoppedBy, changed: true, replayed: false}
    commitOperation(store, op, result, ctx.now())
    recordEvent(store, {kind: 'kill', time: ctx.now(), actor: ctx.actor, runId: final.run_id, reason: options.reason ?? null, args: {grace_seconds: options.graceSeconds}, result})
    return result
  })
}
