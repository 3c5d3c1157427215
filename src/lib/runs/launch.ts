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
import {LOCAL_HOST} from '../store/seed.js'
import {argsHash, beginOperation, checkIdempotency, commitOperation, type Operation, stepDone} from './journal.js'
import {allocateGpus} from './capacity.js'
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
  host?: string
  campaign?: string
  /** Queue the run when the host has no free GPUs (tick starts it) instead of NO_CAPACITY. */
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
  const recipe = getRecipe(project, options.recipe)
  const hostId = options.host ?? LOCAL_HOST
  if (options.name !== undefined) safeName('run name', options.name)
  const config = resolveLaunchConfig(recipe, options.configFile, options.sets ?? [])
  checkLaunchConfig(recipe, config, {allowNewKeys: options.allowNewKeys})
  const hash = argsHash('launch', {recipe: recipe.name, config, name: options.name ?? null, host: hostId, campaign: options.campaign ?? null})
  const trainerEnv = captureTrainerEnv(recipe, process.env)
  for (const missing of trainerEnv.missing) ctx.warnings.push(`recipe ${recipe.name} env ${missing} is not set in autolab's environment: the trainer gets it empty`)
  const executor = ctx.executor(hostId)
  const existingRunDirs = await executor.listRunDirs()
  const now = ctx.now()

  // 1. reserve; 2. create the run dir, 3. spawn and 4. commit in spawnAndCommit
  const reserved = store.write(() => {
    const replay = checkIdempotency<LaunchResult>(store, options.idempotencyKey, 'launch', hash)
    if (replay) return replay
    const campaign = campaignForMutation(store, options.campaign, {startsCompute: true, now})
    syncDeclaredHost(ctx, hostId)
    const {runId, status} = insertRun(store, {
      recipe, projectDir: project.dir, config, hostId, runDir: (id) => executor.runDir(id), campaignId: campaign.campaign_id, name: options.name, queueIfFull: options.queue, existingRunDirs, trainerEnv: trainerEnv.env,
      metrics: {declared: recipe.metrics, primary: recipe.primaryMetric},
    }, now)
    const op = beginOperation(store, {kind: 'launch', key: options.idempotencyKey, hash, runId, now})
    if (status === 'queued') {
      // Nothing to start yet: the operation is complete; tick starts the run when GPUs free up.
      const result = launchResult(store, runId, config)
      commitOperation(store, op, result, now)
      recordEvent(store, {kind: 'launch', time: now, actor: ctx.actor, runId, reason: options.reason ?? null, args: launchArgs(options, recipe.name, hostId), result: {run_id: runId, status}})
      return {queued: result}
    }
    return {op, runId}
  })
  if ('replayed' in reserved) return {...reserved.result, replayed: true}
  if ('queued' in reserved) return warnTwin(ctx, reserved.queued as LaunchResult)
  const {op, runId} = reserved
  stepDone(store, op, 'reserve', now)

  return warnTwin(ctx, await spawnAndCommit(ctx, op, runId, config, (result, pid) => ({
    kind: 'launch', reason: options.reason ?? null, args: launchArgs(options, recipe.name, hostId),
    result: {run_id: runId, pid, config_id: result.config_id, gpus: result.gpus, duplicate_of: result.duplicate_of},
  })))
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

function launchArgs(options: LaunchOptions, recipe: string, hostId: string): Record<string, unknown> {
  return {recipe, sets: options.sets ?? [], config_file: options.configFile ?? null, name: options.name ?? null, host: hostId, queue: options.queue ?? false, allow_new_keys: options.allowNewKeys ?? false}
}

/**
 * Start a queued run once its host has the GPUs (tick). A journalled launch like any other;
 * throws NO_CAPACITY (and changes nothing) while the GPUs are still taken.
 */
export async function startQueuedRun(ctx: Ctx, runId: string): Promise<LaunchResult> {
  const {store} = ctx
  const now = ctx.now()
  const op = store.write(() => {
    const run = getRun(store, runId)
    campaignForMutation(store, run.campaign_id, {startsCompute: true, now})
    const gpus = allocateGpus(store, run.host_id, recipeOfRun(run).gpus)
    transition(store, runId, 'queued', 'starting', {})
    store.run(store.db.updateTable('runs').set({gpus: JSON.stringify(gpus)}).where('run_id', '=', runId))
    return beginOperation(store, {kind: 'launch', hash: argsHash('launch', {queued: runId}), runId, now})
  })
  stepDone(store, op, 'reserve', now)
  const config = getConfigBody(store, getRun(store, runId).config_id)
  return spawnAndCommit(ctx, op, runId, config, (result, pid) => ({kind: 'start_queued', result: {run_id: runId, pid, gpus: result.gpus}}))
}

function launchResult(store: Store, runId: string, config: JsonObject): LaunchResult {
  const row = getRun(store, runId)
  const view: RunView = runView(row)
  return {
    run_id: view.run_id, name: view.name, status: view.status, recipe: view.recipe, host: view.host, pid: view.pid,
    gpus: view.gpus, config_id: view.config_id, config, run_dir: view.run_dir, campaign_id: view.campaign_id, duplicate_of: liveTwin(store, row), replayed: false,
  }
}

/** Say so when the new run duplicates a live one (see liveTwin). */
function warnTwin<R extends {run_id: string; duplicate_of: string | null; replayed: boolean}>(ctx: Ctx, result: R): R {
  if (result.duplicate_of && !result.replayed) ctx.warnings.push(twinWarning(result.run_id, result.duplicate_of))
  return result
}

/** A host declared in the project file updates the store's GPU list (inside a write transaction). */
function syncDeclaredHost(ctx: Ctx, hostId: string): void {
  const decl = ctx.project().hosts[hostId]
  if (!decl) return
  const {store} = ctx
  store.run(store.db.updateTable('hosts').set({gpus: JSON.stringify(decl.gpus)}).where('host_id', '=', hostId))
}
