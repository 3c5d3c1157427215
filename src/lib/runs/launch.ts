// launch: reserve-then-act, as a journalled operation.
//   reserve (one write transaction: run row `starting`, config, journal row)
//   → spawn (run dir files + wrapper process)
//   → commit (one write transaction: run `running`, journal `committed`, decision-log event).
// A failure after reserve undoes what was done (see rollback.ts); so does the next autolab
// process if this one dies half way.
import {campaignForMutation} from '../campaigns.js'
import {type JsonObject, applySets, canonicalJson, deepMerge, sha256} from '../config-merge.js'
import type {Ctx} from '../context.js'
import {recordEvent} from '../events.js'
import {type Recipe, getRecipe, packageRoot, readConfigFile} from '../project.js'
import {expandTemplate, safeName} from '../shell.js'
import type {Store} from '../store/open.js'
import {LOCAL_HOST} from '../store/seed.js'
import {allocateGpus} from './capacity.js'
import {argsHash, beginOperation, checkIdempotency, commitOperation, stepDone} from './journal.js'
import {runView, type RunView, getRun} from './queries.js'
import {rollbackOperation} from './rollback.js'
import {commandScript, initialControl} from './run-files.js'
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
  /** True when this answer replays an earlier call with the same idempotency key. */
  replayed: boolean
}

/** Save a config body (content-addressed: equal configs are one row) and return its id. */
export function saveConfig(store: Store, config: JsonObject, now: Date): string {
  const body = canonicalJson(config)
  const configId = sha256(body)
  store.run(store.db.insertInto('configs').values({config_id: configId, body, created_at: now.toISOString()}).onConflict((oc) => oc.doNothing()))
  return configId
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
  const hash = argsHash('launch', {recipe: recipe.name, config, name: options.name ?? null, host: hostId, campaign: options.campaign ?? null})
  const executor = ctx.executor(hostId)
  const now = ctx.now()

  // 1. reserve
  const reserved = store.write(() => {
    const replay = checkIdempotency<LaunchResult>(store, options.idempotencyKey, 'launch', hash)
    if (replay) return replay
    const campaign = campaignForMutation(store, options.campaign)
    syncDeclaredHost(ctx, hostId)
    const gpus = allocateGpus(store, hostId, recipe.gpus)
    const configId = saveConfig(store, config, now)
    const seq = (store.first(store.db.selectFrom('runs').select((eb) => eb.fn.max('seq').as('seq')))?.seq ?? 0) + 1
    const runId = `r${seq}`
    store.run(store.db.insertInto('runs').values({
      seq, run_id: runId, name: options.name ?? null, campaign_id: campaign.campaign_id, parent_run_id: null, fork_step: null,
      host_id: hostId, recipe: recipe.name, gpus: JSON.stringify(gpus), config_id: configId, status: 'starting', pid: null,
      exit_code: null, error: null, step: null, run_dir: executor.runDir(runId),
      observation_cadence: recipe.observationCadence, sample_cadence: recipe.sampleCadence,
      control: JSON.stringify(initialControl(recipe.observationCadence, recipe.sampleCadence)),
      trend_window: recipe.trendWindow, stall_seconds: recipe.stallSeconds,
      created_at: now.toISOString(), started_at: null, ended_at: null, synced_at: null,
    }))
    store.run(store.db.insertInto('run_configs').values({run_id: runId, version: 1, config_id: configId, effective_step: 0, created_at: now.toISOString()}))
    const op = beginOperation(store, {kind: 'launch', key: options.idempotencyKey, hash, runId, now})
    return {op, runId, gpus, configId}
  })
  if ('replayed' in reserved) return {...reserved.result, replayed: true}
  const {op, runId, gpus} = reserved
  stepDone(store, op, 'reserve', now)

  try {
    // 2. spawn
    const run = getRun(store, runId)
    const command = expandTemplate(recipe.command, {
      node: process.execPath,
      examples: `${packageRoot()}/dist/examples`,
      project_dir: project.dir,
      run_dir: run.run_dir,
      config: `${run.run_dir}/config.json`,
    })
    const {pid} = await executor.launch({
      runId,
      runDir: run.run_dir,
      files: {
        'config.json': `${JSON.stringify(config, null, 2)}\n`,
        'control.json': `${run.control}\n`,
        'command.sh': commandScript({runId, runDir: run.run_dir, resumeFrom: null, gpus}, command),
      },
    })
    store.write(() => store.run(store.db.updateTable('runs').set({pid}).where('run_id', '=', runId)))
    stepDone(store, op, 'spawn', now)

    // 3. commit
    return store.write(() => {
      transition(store, runId, 'starting', 'running', {started_at: ctx.now().toISOString()})
      const result = launchResult(store, runId, config)
      commitOperation(store, op, result, ctx.now())
      recordEvent(store, {
        kind: 'launch', time: ctx.now(), actor: ctx.actor, runId, reason: options.reason ?? null,
        args: {recipe: recipe.name, sets: options.sets ?? [], config_file: options.configFile ?? null, name: options.name ?? null, host: hostId},
        result: {run_id: runId, pid, config_id: result.config_id, gpus},
      })
      return result
    })
  } catch (error) {
    await rollbackOperation(ctx, op.opId, error)
    throw error
  }
}

function launchResult(store: Store, runId: string, config: JsonObject): LaunchResult {
  const view: RunView = runView(getRun(store, runId))
  return {
    run_id: view.run_id, name: view.name, status: view.status, recipe: view.recipe, host: view.host, pid: view.pid,
    gpus: view.gpus, config_id: view.config_id, config, run_dir: view.run_dir, campaign_id: view.campaign_id, replayed: false,
  }
}

/** A host declared in the project file updates the store's GPU list (inside a write transaction). */
function syncDeclaredHost(ctx: Ctx, hostId: string): void {
  const decl = ctx.project().hosts[hostId]
  if (!decl) return
  const {store} = ctx
  store.run(store.db.updateTable('hosts').set({gpus: JSON.stringify(decl.gpus)}).where('host_id', '=', hostId))
}
