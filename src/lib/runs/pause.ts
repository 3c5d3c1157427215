// pause and resume. pause asks the trainer (control.json state `pause`) to checkpoint and exit 0;
// a trainer that ignores the contract is stopped with signals and resumes from its latest
// checkpoint. resume relaunches the run in the same run directory from its latest checkpoint;
// metrics continue in the same files (a step logged twice keeps the later value).
import {campaignForMutation} from '../campaigns.js'
import type {Ctx} from '../context.js'
import {recordEvent} from '../events.js'
import {AutolabError} from '../output/errors.js'
import {latestCheckpoint} from './checkpoints.js'
import {updateControl} from './control.js'
import {argsHash, beginOperation, checkIdempotency, commitOperation, type Operation, stepDone} from './journal.js'
import {type StoppedBy, killAndWait, reachHostOf, waitForExit} from './process-control.js'
import {getRun, recipeSpecId, resolveRun} from './queries.js'
import {rollbackOperation} from './rollback.js'
import {placeRun} from './placement.js'
import {runRecipeSpec, startRunProcess} from './start.js'
import {type RunStatus, transition} from './state-machine.js'
import {syncRuns} from './sync.js'

export interface PauseOptions {
  run: string
  reason?: string
  idempotencyKey?: string
  /** Seconds to wait for the trainer's own checkpoint-and-exit before signalling it. */
  timeoutSeconds?: number
}

export interface PauseResult {
  run_id: string
  status: string
  previous_status: string
  /** The step it will resume from (its latest checkpoint), or null when it has none. */
  checkpoint_step: number | null
  stopped_by: StoppedBy | 'already_paused'
  changed: boolean
  replayed: boolean
}

const DEFAULT_PAUSE_TIMEOUT_SECONDS = 60

export async function pauseRun(ctx: Ctx, options: PauseOptions): Promise<PauseResult> {
  const {store} = ctx
  const target = resolveRun(store, options.run)
  await reachHostOf(ctx, target)
  const hash = argsHash('pause', {run: target.run_id})
  const begun = store.write(() => {
    const replay = checkIdempotency<PauseResult>(store, options.idempotencyKey, 'pause', hash)
    if (replay) return replay
    const run = getRun(store, target.run_id)
    if (run.status === 'paused') return {done: true as const}
    if (run.status !== 'running' && run.status !== 'pausing') {
      throw new AutolabError('INVALID_TRANSITION', `Run ${run.run_id} is ${run.status}; only a running run can be paused.`, {details: {run_id: run.run_id, status: run.status}})
    }
    const op = beginOperation(store, {kind: 'pause', key: options.idempotencyKey, hash, runId: run.run_id, now: ctx.now()})
    if (run.status === 'running') transition(store, run.run_id, 'running', 'pausing')
    return {op, previous: run.status}
  })
  if ('replayed' in begun) return {...begun.result, replayed: true}
  if ('done' in begun) {
    const run = getRun(store, target.run_id)
    return {run_id: run.run_id, status: run.status, previous_status: run.status, checkpoint_step: latestCheckpoint(store, run.run_id)?.step ?? null, stopped_by: 'already_paused', changed: false, replayed: false}
  }
  const {op, previous} = begun
  stepDone(store, op, 'mark-pausing', ctx.now())
  const stoppedBy = await finishPause(ctx, target.run_id, (options.timeoutSeconds ?? DEFAULT_PAUSE_TIMEOUT_SECONDS) * 1000, op)
  return store.write(() => {
    const run = getRun(store, target.run_id)
    const result: PauseResult = {
      run_id: run.run_id, status: run.status, previous_status: previous, checkpoint_step: latestCheckpoint(store, run.run_id)?.step ?? null,
      stopped_by: stoppedBy, changed: true, replayed: false,
    }
    commitOperation(store, op, result, ctx.now())
    recordEvent(store, {kind: 'pause', time: ctx.now(), actor: ctx.actor, runId: run.run_id, reason: options.reason ?? null, result})
    return result
  })
}

/**
 * Bring a `pausing` run to `paused`: ask through control.json, wait, then signal. Also what
 * recovery runs for a pause whose process died half way.
 */
export async function finishPause(ctx: Ctx, runId: string, timeoutMs: number, op?: Operation): Promise<StoppedBy> {
  const {store} = ctx
  const run = getRun(store, runId)
  const executor = ctx.executor(run.host_id)
  let stoppedBy: StoppedBy = 'no_process'
  if (run.pid !== null && await executor.isAlive(run.pid, run.run_dir)) {
    await updateControl(ctx, runId, () => ({state: 'pause'}))
    if (op) stepDone(store, op, 'signal', ctx.now())
    stoppedBy = 'graceful'
    if (!await waitForExit(ctx, run.host_id, run.pid, run.run_dir, timeoutMs, `pausing ${runId}: waiting for the trainer to checkpoint and exit`)) {
      // The trainer ignores the contract: stop it; it resumes from its latest checkpoint. Said in
      // the log first: the exit that follows is the pause's doing, even an exit code 0.
      stoppedBy = 'sigterm'
      store.write(() => recordEvent(store, {kind: 'pause_escalated', time: ctx.now(), actor: 'system', runId, args: {signal: 'TERM', waited_ms: timeoutMs}}))
      await executor.signalGroup(run.pid, run.run_dir, 'TERM')
      if (!await waitForExit(ctx, run.host_id, run.pid, run.run_dir, 5000, `pausing ${runId}: SIGTERM sent, waiting for it to exit`)) {
        stoppedBy = 'sigkill'
        await killAndWait(ctx, run.host_id, run.pid, run.run_dir)
      }
    }
  }
  await syncRuns(ctx, {runIds: [runId]})
  store.write(() => {
    const current = getRun(store, runId)
    if (current.status === 'pausing') transition(store, runId, 'pausing', 'paused', {ended_at: ctx.now().toISOString()})
  })
  return stoppedBy
}

export interface ResumeOptions {
  run: string
  /** GPUs it needs from now on (0..64), kept in its recipe spec. [default: its count so far] */
  gpus?: number
  reason?: string
  idempotencyKey?: string
}

export interface ResumeResult {
  run_id: string
  status: string
  pid: number
  /** The checkpoint step it resumed from; null: it had none and started over. */
  resumed_from_step: number | null
  checkpoint: string | null
  /** Its host (a resume never moves a run) and the GPUs allocated to it there now. */
  host: string
  gpus: string[]
  replayed: boolean
}

export async function resumeRun(ctx: Ctx, options: ResumeOptions): Promise<ResumeResult> {
  const {store} = ctx
  const target = resolveRun(store, options.run)
  await reachHostOf(ctx, target)
  const hash = argsHash('resume', {run: target.run_id, gpus: options.gpus ?? null})
  const begun = store.write(() => {
    const replay = checkIdempotency<ResumeResult>(store, options.idempotencyKey, 'resume', hash)
    if (replay) return replay
    const run = getRun(store, target.run_id)
    if (run.status !== 'paused') {
      throw new AutolabError('INVALID_TRANSITION', `Run ${run.run_id} is ${run.status}; only a paused run can be resumed.`, {
        details: {run_id: run.run_id, status: run.status},
        suggestedAction: run.status === 'running' ? 'It is already running.' : 'Fork it from a checkpoint instead: `autolab fork <run>`.',
      })
    }
    campaignForMutation(store, run.campaign_id, {startsCompute: true, now: ctx.now()})
    // A paused run holds no GPUs: it gets them again, on its own host (its checkpoints are there).
    const spec = runRecipeSpec(run.recipe_spec)
    const placement = placeRun(store, {hosts: [run.host_id], gpus: options.gpus ?? spec.gpus, queueable: false})
    const op = beginOperation(store, {kind: 'resume', key: options.idempotencyKey, hash, runId: run.run_id, now: ctx.now()})
    transition(store, run.run_id, 'paused' as RunStatus, 'starting', {ended_at: null})
    store.run(store.db.updateTable('runs').set({
      gpus: JSON.stringify(placement.gpus), placement: 'pinned', spec_id: recipeSpecId(store, JSON.stringify({...spec, gpus: placement.gpus.length})),
    }).where('run_id', '=', run.run_id))
    return {op}
  })
  if ('replayed' in begun) return {...begun.result, replayed: true}
  const {op} = begun
  stepDone(store, op, 'reserve', ctx.now())
  try {
    const checkpoint = latestCheckpoint(store, target.run_id) ?? null
    await updateControl(ctx, target.run_id, () => ({state: 'run'}))
    const pid = await startRunProcess(ctx, target.run_id, {resumeFrom: checkpoint?.path ?? null})
    stepDone(store, op, 'spawn', ctx.now())
    return store.write(() => {
      // The run continues from the checkpoint: its step goes back there, and counts up again.
      transition(store, target.run_id, 'starting', 'running', {started_at: ctx.now().toISOString(), step: checkpoint?.step ?? null})
      const row = getRun(store, target.run_id)
      const result: ResumeResult = {
        run_id: target.run_id, status: 'running', pid, resumed_from_step: checkpoint?.step ?? null, checkpoint: checkpoint?.path ?? null,
        host: row.host_id, gpus: JSON.parse(row.gpus) as string[], replayed: false,
      }
      commitOperation(store, op, result, ctx.now())
      recordEvent(store, {kind: 'resume', time: ctx.now(), actor: ctx.actor, runId: target.run_id, reason: options.reason ?? null, result})
      return result
    })
  } catch (error) {
    await rollbackOperation(ctx, op.opId, error)
    throw error
  }
}
