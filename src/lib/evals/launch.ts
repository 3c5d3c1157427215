// eval: score one checkpoint of a run with one of its recipe's suites, in the background.
// A journalled operation, like launch:
//   check (suite, checkpoint, the path on the host) → reserve (one write transaction: eval row
//   `starting`, GPUs from the run's host, journal row) → spawn (the launch wrapper in
//   <run dir>/evals/<eval id>/) → commit (eval `running`, journal `committed`, `eval_started` event).
// A failure after reserve is undone by rollback.ts (kill the process, remove the eval dir, mark
// the eval failed); so is a crash, by the next autolab process. The run scored is never touched.
import {campaignForMutation} from '../campaigns.js'
import {applySets, type JsonObject} from '../config-merge.js'
import type {Ctx} from '../context.js'
import {type NewEvent, recordEvent} from '../events.js'
import {AutolabError} from '../output/errors.js'
import {checkpointAt, latestCheckpoint, noCheckpoint} from '../runs/checkpoints.js'
import {argsHash, beginOperation, checkIdempotency, commitOperation, type Operation, stepDone} from '../runs/journal.js'
import {hostCapacity, placeRun} from '../runs/placement.js'
import {pauseRun} from '../runs/pause.js'
import {resolveRun} from '../runs/queries.js'
import {rollbackOperation} from '../runs/rollback.js'
import {runRecipeSpec, runTemplateVars} from '../runs/start.js'
import {expandTemplate, shellQuote} from '../shell.js'
import type {Store} from '../store/open.js'
import type {RunRow} from '../store/schema.js'
import {getEval} from './queries.js'
import {EXAMPLES_FILE, RESULT_FILE} from './results.js'
import {transitionEval} from './state.js'
import type {EvalSuite} from './suites.js'

export const DEFAULT_EVAL_N = 200
export const MAX_EVAL_N = 10_000_000
export const SETTINGS_FILE = 'settings.json'

export interface EvalOptions {
  run: string
  suite: string
  /** The checkpoint step; undefined: the run's latest checkpoint. */
  step?: number
  n?: number
  sets?: string[]
  reason?: string
  idempotencyKey?: string
  /** When the run's host has too few free GPUs and the run itself holds some: pause the run first (it is resumable later). */
  preempt?: boolean
  /** When the run's host has too few free GPUs: queue the eval (`tick` starts it) instead of NO_CAPACITY. */
  queue?: boolean
}

export interface EvalStartResult {
  eval_id: string
  run_id: string
  suite: string
  status: string
  checkpoint_step: number
  settings: JsonObject
  n: number
  host: string
  gpus: string[]
  pid: number | null
  dir: string
  /** The run was paused (--preempt) to free the GPUs this eval took. */
  preempted_run: boolean
  replayed: boolean
}

/** The suites a run keeps (its recipe spec at launch): SUITE_NOT_FOUND names the ones there are. */
export function suiteOfRun(run: RunRow, suite: string): EvalSuite {
  const suites = runRecipeSpec(run.recipe_spec).evals ?? {}
  if (Object.hasOwn(suites, suite)) return suites[suite]
  const available = Object.keys(suites)
  throw new AutolabError('SUITE_NOT_FOUND', `Run ${run.run_id} (recipe ${run.recipe}) has no eval suite "${suite}"; ${available.length > 0 ? `its suites: ${available.join(', ')}` : 'its recipe declared no `evals:` when it was launched'}.`, {
    details: {run_id: run.run_id, recipe: run.recipe, suite, available},
    suggestedAction: available.length > 0 ? `Use one of: ${available.join(', ')}.` : 'Declare `evals:` in the recipe; runs launched after that carry them.',
  })
}

export async function startEval(ctx: Ctx, options: EvalOptions): Promise<EvalStartResult> {
  const {store} = ctx
  const target = resolveRun(store, options.run)
  const suite = suiteOfRun(target, options.suite)
  const n = options.n ?? DEFAULT_EVAL_N
  const settings = applySets({}, options.sets ?? [])
  const checkpoint = options.step === undefined ? latestCheckpoint(store, target.run_id) : checkpointAt(store, target.run_id, options.step, false)
  if (!checkpoint) throw noCheckpoint(store, target.run_id, `Run ${target.run_id} has no checkpoint yet.`)
  const executor = ctx.executor(target.host_id)
  // The path as the store knows it is re-checked on the host: it must still be there, inside the run dir.
  const check = await executor.inspectCheckpoint(target.run_dir, checkpoint.path)
  if (!check.ok) {
    throw new AutolabError('NO_CHECKPOINT', `Checkpoint ${checkpoint.path} of run ${target.run_id} (step ${checkpoint.step}) cannot be used: ${check.reason}.`, {
      details: {run_id: target.run_id, step: checkpoint.step, path: checkpoint.path},
      suggestedAction: `Pick another step (see \`autolab show ${target.run_id}\`).`,
    })
  }
  const hash = argsHash('eval', {run: target.run_id, suite: options.suite, step: checkpoint.step, n, settings})
  const preempted = options.preempt ? await preemptForEval(ctx, target.run_id, suite.gpus, options) : false
  const now = ctx.now()
  const reserved = store.write((): {replayed: EvalStartResult; fresh?: true} | {op: Operation; evalId: string} => {
    const replay = checkIdempotency<EvalStartResult>(store, options.idempotencyKey, 'eval', hash)
    if (replay) return {replayed: replay.result}
    const run = resolveRun(store, target.run_id)
    // An eval spends compute like a run: a closed campaign or a spent budget refuses it.
    campaignForMutation(store, run.campaign_id, {startsCompute: true, now})
    // GPUs on the run's own host (the checkpoint is there); live evals hold theirs (placement.ts).
    const {gpus, status} = placeRun(store, {hosts: [run.host_id], gpus: suite.gpus, queue: options.queue})
    const seq = (store.first(store.db.selectFrom('evals').select((eb) => eb.fn.max('seq').as('seq')))?.seq ?? 0) + 1
    const evalId = `e${seq}`
    store.run(store.db.insertInto('evals').values({
      seq, eval_id: evalId, run_id: run.run_id, campaign_id: run.campaign_id, suite: options.suite, checkpoint_step: checkpoint.step, checkpoint_path: check.path,
      host_id: run.host_id, gpus: JSON.stringify(gpus), status, pid: null, exit_code: null, error: null, n, settings: JSON.stringify(settings),
      dir: `${run.run_dir}/evals/${evalId}`, score: null, metrics: null, breakdown: null, reason: options.reason ?? null,
      created_at: now.toISOString(), started_at: null, ended_at: null, synced_at: null,
    }))
    const op = beginOperation(store, {kind: 'eval', key: options.idempotencyKey, hash, runId: run.run_id, now})
    // Which eval the operation made: what its rollback undoes.
    store.run(store.db.updateTable('operations').set({undo: JSON.stringify({eval_id: evalId})}).where('op_id', '=', op.opId))
    if (status === 'queued') {
      // Nothing to start yet: the operation is complete; tick starts the eval when GPUs free up.
      const result = {...startResult(store, evalId, null), preempted_run: preempted}
      commitOperation(store, op, result, now)
      recordEvent(store, {kind: 'eval_queued', time: now, actor: ctx.actor, runId: run.run_id, reason: options.reason ?? null, args: {suite: options.suite, step: options.step ?? null, n, settings}, result: {eval_id: evalId, checkpoint_step: checkpoint.step}})
      return {replayed: result, fresh: true}
    }
    return {op, evalId}
  })
  if ('replayed' in reserved) return {...reserved.replayed, replayed: !('fresh' in reserved)}
  const {op, evalId} = reserved
  stepDone(store, op, 'reserve', now)
  return spawnAndCommitEval(ctx, op, evalId, suite, (result, pid) => ({
    kind: 'eval_started', reason: options.reason ?? null,
    args: {suite: options.suite, step: options.step ?? null, n, settings}, result: {eval_id: evalId, checkpoint_step: result.checkpoint_step, pid, host: result.host, gpus: result.gpus},
  }), preempted)
}

/** Spawn the reserved eval, then mark it running, commit the journal and record the event; rolled back on failure. */
async function spawnAndCommitEval(ctx: Ctx, op: Operation, evalId: string, suite: EvalSuite, event: (result: EvalStartResult, pid: number) => Pick<NewEvent, 'kind' | 'reason' | 'args' | 'result'>, preempted = false): Promise<EvalStartResult> {
  const {store} = ctx
  try {
    const pid = await spawnEval(ctx, evalId, suite)
    stepDone(store, op, 'spawn', ctx.now())
    return store.write(() => {
      if (!transitionEval(store, evalId, 'starting', 'running', {started_at: ctx.now().toISOString()})) {
        throw new AutolabError('CONFLICT', `Eval ${evalId} changed while it was starting.`, {details: {eval_id: evalId}})
      }
      const result = {...startResult(store, evalId, pid), preempted_run: preempted}
      commitOperation(store, op, result, ctx.now())
      recordEvent(store, {time: ctx.now(), actor: ctx.actor, runId: result.run_id, ...event(result, pid)})
      return result
    })
  } catch (error) {
    await rollbackOperation(ctx, op.opId, error)
    throw error
  }
}

/**
 * Start a queued eval once its run's host has the GPUs (tick). A journalled start like any
 * other; throws NO_CAPACITY (and changes nothing) while they are still taken.
 */
export async function startQueuedEval(ctx: Ctx, evalId: string): Promise<EvalStartResult> {
  const {store} = ctx
  const now = ctx.now()
  const row = getEval(store, evalId)
  const run = resolveRun(store, row.run_id)
  const suite = suiteOfRun(run, row.suite)
  const op = store.write(() => {
    const current = getEval(store, evalId)
    if (current.status !== 'queued') throw new AutolabError('INVALID_TRANSITION', `Eval ${evalId} is ${current.status}, not queued.`, {details: {eval_id: evalId, status: current.status}})
    // As when it was asked for: a closed campaign or a spent budget does not start it (it stays queued).
    campaignForMutation(store, current.campaign_id, {startsCompute: true, now})
    const {gpus} = placeRun(store, {hosts: [current.host_id], gpus: suite.gpus, queueable: false})
    transitionEval(store, evalId, 'queued', 'starting', {})
    store.run(store.db.updateTable('evals').set({gpus: JSON.stringify(gpus)}).where('eval_id', '=', evalId))
    const began = beginOperation(store, {kind: 'eval', hash: argsHash('eval', {queued: evalId}), runId: current.run_id, now})
    store.run(store.db.updateTable('operations').set({undo: JSON.stringify({eval_id: evalId})}).where('op_id', '=', began.opId))
    return began
  })
  stepDone(store, op, 'reserve', now)
  return spawnAndCommitEval(ctx, op, evalId, suite, (result, pid) => ({kind: 'eval_started', reason: null, args: {queued: true}, result: {eval_id: evalId, checkpoint_step: result.checkpoint_step, pid, host: result.host, gpus: result.gpus}}))
}

/**
 * Write the eval's files and start its wrapper (the runs' launch wrapper) in the eval dir; the pid
 * is saved at once, so a crash right after leaves it for the rollback to kill.
 */
async function spawnEval(ctx: Ctx, evalId: string, suite: EvalSuite): Promise<number> {
  const {store} = ctx
  const row = store.first(store.db.selectFrom('evals').selectAll().where('eval_id', '=', evalId))!
  const run = resolveRun(store, row.run_id)
  const spec = runRecipeSpec(run.recipe_spec)
  const command = expandTemplate(suite.command, {
    ...runTemplateVars(run),
    checkpoint: row.checkpoint_path,
    n: String(row.n),
    out: `${row.dir}/${RESULT_FILE}`,
    examples_out: `${row.dir}/${EXAMPLES_FILE}`,
    settings: `${row.dir}/${SETTINGS_FILE}`,
  })
  // AUTOLAB_RUN_DIR is the eval dir: it is the liveness marker of the process group (as for a
  // run), so an eval is never mistaken for its run, nor its run for it.
  const env: Record<string, string> = {
    AUTOLAB_EVAL_ID: evalId, AUTOLAB_RUN_ID: run.run_id, AUTOLAB_RUN_DIR: row.dir, AUTOLAB_EVAL_RUN_DIR: run.run_dir,
    AUTOLAB_CHECKPOINT: row.checkpoint_path, AUTOLAB_STORE_ID: store.id, CUDA_VISIBLE_DEVICES: (JSON.parse(row.gpus) as string[]).join(','),
  }
  const script = [
    `# written by autolab for eval ${evalId} of run ${run.run_id} (suite ${row.suite}); run by launch.sh`,
    ...Object.entries(env).map(([k, v]) => `export ${k}=${shellQuote(v)}`),
    `cd ${shellQuote(row.dir)} || exit 97`,
    command,
    '',
  ].join('\n')
  const {pid} = await ctx.executor(row.host_id).launch({
    runId: evalId, runDir: row.dir, env: spec.env,
    files: {'command.sh': script, [SETTINGS_FILE]: `${row.settings}\n`},
  })
  store.write(() => store.run(store.db.updateTable('evals').set({pid}).where('eval_id', '=', evalId)))
  return pid
}

function startResult(store: Store, evalId: string, pid: number | null): EvalStartResult {
  const row = store.first(store.db.selectFrom('evals').selectAll().where('eval_id', '=', evalId))!
  return {
    eval_id: row.eval_id, run_id: row.run_id, suite: row.suite, status: row.status, checkpoint_step: row.checkpoint_step, settings: JSON.parse(row.settings) as JsonObject,
    n: row.n, host: row.host_id, gpus: JSON.parse(row.gpus) as string[], pid, dir: row.dir, preempted_run: false, replayed: false,
  }
}

/**
 * --preempt: the run's host lacks the GPUs and the run itself holds some: pause the run (a
 * checkpoint, then its GPUs are free; `resume` continues it), so the eval can take them. Nothing
 * is paused when the host has room, when the run holds none, or when even its GPUs would not do.
 */
async function preemptForEval(ctx: Ctx, runId: string, needed: number, options: EvalOptions): Promise<boolean> {
  const run = resolveRun(ctx.store, runId)
  const held = (JSON.parse(run.gpus) as string[]).length
  const {free} = hostCapacity(ctx.store, run.host_id)
  if (needed === 0 || free >= needed || held === 0 || run.status !== 'running' || free + held < needed) return false
  await pauseRun(ctx, {run: runId, reason: `preempted by an eval (suite ${options.suite})${options.reason ? `: ${options.reason}` : ''}`})
  return true
}
