// launch: reserve-then-act, as a journalled operation.
//   reserve (one write transaction: run row `starting`, config, journal row)
//   → spawn (run dir files + wrapper process)
//   → commit (one write transaction: run `running`, journal `committed`, decision-log event).
// A failure after reserve undoes what was done (see rollback.ts); so does the next autolab
// process if this one dies half way.
import {campaignForMutation} from '../campaigns.js'
import {type JsonObject, applySets, deepMerge} from '../config-merge.js'
import {captureTrainerEnv} from '../recipe-env.js'
import type {Ctx} from '../context.js'
import {type NewEvent, recordEvent} from '../events.js'
import {type Recipe, getRecipe, readConfigFile} from '../project.js'
import {safeName} from '../shell.js'
import type {Store} from '../store/open.js'
import {argsHash, beginOperation, checkIdempotency, commitOperation, type Operation, stepDone} from './journal.js'
import {type PlacementKind, placeRun, placementCandidates} from './placement.js'
import {checkLaunchConfig} from './config-check.js'
import {getConfigBody, runView, type RunView, getRun} from './queries.js'
import {rollbackOperation} from './rollback.js'
import {createRunDir, insertRun, liveTwin, recipeOfRun, startRunProcess, twinWarning} from './start.js'
import {transition} from './state-machine.js'

export interface LaunchOptions {
  recipe: string
  configFile?: string
  sets?: string[]
  name?: string
  reason?: string
  idempotencyKey?: string
  /** Pin the run to this host; without it, the first host of the project file with room (placement 'auto'). */
  host?: string
  /** GPUs the run needs (0..64). [default: the recipe's `gpus`] */
  gpus?: number
  campaign?: string
  /** Queue the run when no host has the free GPUs (tick starts it) instead of NO_CAPACITY. */
  queue?: boolean
  /** Accept config keys the recipe's schema does not know. */
  allowNewKeys?: boolean
}

export interface LaunchResult {
  run_id: string
  name: string | null
  status: string
  recipe: string
  host: string
  pid: number | null
  gpus: string[]
  config_id: string
  config: JsonObject
  run_dir: string
  /** 'auto': placed on the first host with room (a queued run may move when tick starts it); 'pinned': --host. */
  placement: string
  campaign_id: string
  /** An earlier run still live with the same recipe, config and host (see the status bar's warning), or null. */
  duplicate_of: string | null
  /** True when this answer replays an earlier call with the same idempotency key. */
  replayed: boolean
}

export function resolveLaunchConfig(recipe: Recipe, configFile: string | undefined, sets: readonly string[]): JsonObject {
  const base = configFile ? deepMerge(recipe.config, readConfigFile(configFile)) : recipe.config
  return applySets(base, sets)
}

export async function launchRun(ctx: Ctx, options: LaunchOptions): Promise<LaunchResult> {
  const {store} = ctx
  const project = ctx.project()
  const baseRecipe = getRecipe(project, options.recipe)
  // The run's GPU count lives in its recipe spec (resume and the queue read it from there).
  const recipe = options.gpus === undefined ? baseRecipe : {...baseRecipe, gpus: options.gpus}
  if (options.name !== undefined) safeName('run name', options.name)
  const config = resolveLaunchConfig(recipe, options.configFile, options.sets ?? [])
  checkLaunchConfig(recipe, config, {allowNewKeys: options.allowNewKeys})
  const hash = argsHash('launch', {recipe: recipe.name, config, name: options.name ?? null, host: options.host ?? null, gpus: options.gpus ?? null, campaign: options.campaign ?? null})
  const trainerEnv = captureTrainerEnv(recipe, process.env)
  for (const missing of trainerEnv.missing) ctx.warnings.push(`recipe ${recipe.name} env ${missing} is not set in autolab's environment: the trainer gets it empty`)
  const placementKind: PlacementKind = options.host === undefined ? 'auto' : 'pinned'
  // The candidate hosts, their declarations copied into the store (HOST_NOT_FOUND for an unknown --host).
  const candidates = placementCandidates(ctx, options.host)
  const now = ctx.now()

  // The new run id must not land on a run dir already on the host it is placed on, and listing a
  // host's dirs is I/O (an SSH round trip), which cannot happen inside the transaction that makes
  // the placement. So: list the host a read placement predicts, then place for real in the
  // transaction; if a concurrent launch took that room and the placement moved to a host not yet
  // listed, the transaction returns before writing anything, that host is listed, and it runs
  // again. At most one extra pass per candidate host; usually one listing for one launch, and a
  // host that has no room is never contacted.
  const runDirs = new Map<string, readonly string[]>()
  const listRunDirs = async (hostId: string) => {
    if (!runDirs.has(hostId)) runDirs.set(hostId, await ctx.executor(hostId).listRunDirs())
  }
  await listRunDirs(predictHost(ctx, candidates, recipe.gpus))
  const reserve = () => store.write((): {replayed: LaunchResult} | {queued: LaunchResult} | {unlisted: string} | {op: Operation; runId: string} => {
    const replay = checkIdempotency<LaunchResult>(store, options.idempotencyKey, 'launch', hash)
    if (replay) return {replayed: replay.result}
    const campaign = campaignForMutation(store, options.campaign, {startsCompute: true, now})
    const placement = placeRun(store, {hosts: candidates, gpus: recipe.gpus, queue: options.queue})
    const existingRunDirs = runDirs.get(placement.host_id)
    if (existingRunDirs === undefined) return {unlisted: placement.host_id}
    const executor = ctx.executor(placement.host_id)
    const {runId, status} = insertRun(store, {
      recipe, projectDir: project.dir, config, placement, placementKind, runDir: (id) => executor.runDir(id), campaignId: campaign.campaign_id, name: options.name, existingRunDirs, trainerEnv: trainerEnv.env,
      metrics: {declared: recipe.metrics, primary: recipe.primaryMetric},
    }, now)
    const op = beginOperation(store, {kind: 'launch', key: options.idempotencyKey, hash, runId, now})
    if (status === 'queued') {
      // Nothing to start yet: the operation is complete; tick starts the run when GPUs free up.
      const result = launchResult(store, runId, config)
      commitOperation(store, op, result, now)
      recordEvent(store, {kind: 'launch', time: now, actor: ctx.actor, runId, reason: options.reason ?? null, args: launchArgs(options, recipe), result: {run_id: runId, status, host: placement.host_id, placement: placementKind}})
      return {queued: result}
    }
    return {op, runId}
  })
  let reserved = reserve()
  while ('unlisted' in reserved) {
    await listRunDirs(reserved.unlisted)
    reserved = reserve()
  }
  if ('replayed' in reserved) return {...reserved.replayed, replayed: true}
  if ('queued' in reserved) return warnTwin(ctx, reserved.queued)
  const {op, runId} = reserved
  stepDone(store, op, 'reserve', now)

  return warnTwin(ctx, await spawnAndCommit(ctx, op, runId, config, (result, pid) => ({
    kind: 'launch', reason: options.reason ?? null, args: launchArgs(options, recipe),
    result: {run_id: runId, pid, config_id: result.config_id, host: result.host, gpus: result.gpus, placement: result.placement, duplicate_of: result.duplicate_of},
  })))
}

/** The host a placement made now would pick (a read, outside any transaction): the one whose run dirs to list first. */
function predictHost(ctx: Ctx, candidates: readonly string[], gpus: number): string {
  // With queue: true it throws only when no host could ever fit the run: said before anything is done.
  return placeRun(ctx.store, {hosts: candidates, gpus, queue: true}).host_id
}

/**
 * Steps 2-4 of a launch (and of a queued run's start): create the run dir, spawn the process, then
 * in one transaction mark the run running, commit the journal and record the event. Rolls back on failure.
 */
async function spawnAndCommit(ctx: Ctx, op: Operation, runId: string, config: JsonObject, event: (result: LaunchResult, pid: number) => Pick<NewEvent, 'kind' | 'reason' | 'args' | 'result'>): Promise<LaunchResult> {
  const {store} = ctx
  try {
    await createRunDir(ctx, runId)
    stepDone(store, op, 'create-dir', ctx.now())
    const pid = await startRunProcess(ctx, runId, {config, resumeFrom: null})
    stepDone(store, op, 'spawn', ctx.now())
    return store.write(() => {
      transition(store, runId, 'starting', 'running', {started_at: ctx.now().toISOString()})
      const result = launchResult(store, runId, config)
      commitOperation(store, op, result, ctx.now())
      recordEvent(store, {time: ctx.now(), actor: ctx.actor, runId, ...event(result, pid)})
      return result
    })
  } catch (error) {
    await rollbackOperation(ctx, op.opId, error)
    throw error
  }
}

/** The request as given: host null means placed automatically (the result says where). */
function launchArgs(options: LaunchOptions, recipe: Recipe): Record<string, unknown> {
  return {
    recipe: recipe.name, sets: options.sets ?? [], config_file: options.configFile ?? null, name: options.name ?? null, host: options.host ?? null, gpus: recipe.gpus,
    queue: options.queue ?? false, allow_new_keys: options.allowNewKeys ?? false,
  }
}

/**
 * Start a queued run once a host has the GPUs (tick). An 'auto' run is re-placed on ANY candidate
 * host with room (its host_id and run_dir move with it, in the same transaction); a 'pinned' one
 * only on its own host. A journalled launch like any other; throws NO_CAPACITY (and changes
 * nothing) while no host has room. `candidates`: the hosts of an 'auto' run, in order
 * (placementCandidates; tick computes them once for all its queued runs).
 */
export async function startQueuedRun(ctx: Ctx, runId: string, candidates?: readonly string[]): Promise<LaunchResult> {
  const {store} = ctx
  const now = ctx.now()
  const queued = getRun(store, runId)
  const hosts = queued.placement === 'auto' ? (candidates ?? placementCandidates(ctx)) : [queued.host_id]
  const op = store.write(() => {
    const run = getRun(store, runId)
    campaignForMutation(store, run.campaign_id, {startsCompute: true, now})
    const placement = placeRun(store, {hosts, gpus: recipeOfRun(run).gpus})
    transition(store, runId, 'queued', 'starting', {})
    // The run id was reserved at queue time; on another host its dir is that host's dir of it
    // (created exclusively: a stray dir of that name there fails the start, and it is rolled back).
    const runDir = placement.host_id === run.host_id ? run.run_dir : ctx.executor(placement.host_id).runDir(runId)
    store.run(store.db.updateTable('runs').set({gpus: JSON.stringify(placement.gpus), host_id: placement.host_id, run_dir: runDir}).where('run_id', '=', runId))
    return beginOperation(store, {kind: 'launch', hash: argsHash('launch', {queued: runId}), runId, now})
  })
  stepDone(store, op, 'reserve', now)
  const config = getConfigBody(store, getRun(store, runId).config_id)
  return spawnAndCommit(ctx, op, runId, config, (result, pid) => ({kind: 'start_queued', result: {run_id: runId, pid, host: result.host, gpus: result.gpus}}))
}

function launchResult(store: Store, runId: string, config: JsonObject): LaunchResult {
  const row = getRun(store, runId)
  const view: RunView = runView(row)
  return {
    run_id: view.run_id, name: view.name, status: view.status, recipe: view.recipe, host: view.host, pid: view.pid,
    gpus: view.gpus, config_id: view.config_id, config, run_dir: view.run_dir, placement: row.placement, campaign_id: view.campaign_id, duplicate_of: liveTwin(store, row), replayed: false,
  }
}

/** Say so when the new run duplicates a live one (see liveTwin). */
function warnTwin<R extends {run_id: string; duplicate_of: string | null; replayed: boolean}>(ctx: Ctx, result: R): R {
  if (result.duplicate_of && !result.replayed) ctx.warnings.push(twinWarning(result.run_id, result.duplicate_of))
  return result
}
