// What launch, fork and resume share: reserving a run row (inside the caller's write
// transaction) and starting a run's process from its stored recipe.
import type {JsonObject} from '../config-merge.js'
import {canonicalJson, sha256} from '../config-merge.js'
import type {ConfigSchema} from '../config-schema.js'
import type {Ctx} from '../context.js'
import {type MetricDecl, type MetricGuard, type Recipe, packageRoot} from '../project.js'
import type {EvalSuite} from '../evals/suites.js'
import {expandTemplate} from '../shell.js'
import type {Store} from '../store/open.js'
import type {RunRow} from '../store/schema.js'
import {AutolabError} from '../output/errors.js'
import type {Placement, PlacementKind} from './placement.js'
import {TERMINAL_STATES} from './state-machine.js'
import {getRun, recipeSpecId} from './queries.js'
import {commandScript, initialControl} from './run-files.js'

/** The part of a recipe a run keeps for its whole life (resume and modify read it from the run). */
export interface RecipeSpec {
  command: string
  gpus: number
  hot_params: Recipe['hotParams']
  /** Where the project file was: the {project_dir} placeholder. */
  project_dir: string
  /** The recipe's resolved config schema (null: none); absent in runs from before schemas, which infer it from their config. */
  schema?: ConfigSchema | null
  /**
   * The trainer's environment, captured at launch (captureTrainerEnv); every start of the run
   * uses it. Absent in runs from before it existed: they inherit the starting process's.
   */
  env?: Record<string, string>
  /** The recipe's declared metrics (name → goal) and primary metric; absent in runs from before they existed. */
  metrics?: Record<string, MetricDecl>
  primary_metric?: string | null
  /** The recipe's eval suites at launch (absent in runs from before evals: none). */
  evals?: Record<string, EvalSuite>
  /** The recipe's metric guards at launch (absent: none). */
  guards?: Record<string, MetricGuard>
}

export function runRecipeSpec(recipeSpecJson: string): RecipeSpec {
  return JSON.parse(recipeSpecJson) as RecipeSpec
}

/** The recipe a run was started with, rebuilt from the run itself (fork and resume use it). */
export function recipeOfRun(run: RunRow): Recipe & {projectDir: string} {
  const spec = runRecipeSpec(run.recipe_spec)
  return {
    name: run.recipe, command: spec.command, config: {}, gpus: spec.gpus, hotParams: spec.hot_params, projectDir: spec.project_dir, schema: spec.schema, evals: spec.evals ?? {}, guards: spec.guards ?? {},
    observationCadence: run.observation_cadence, sampleCadence: run.sample_cadence, trendWindow: run.trend_window, stallSeconds: run.stall_seconds,
  }
}

/** Save a config body (content-addressed: equal configs are one row) and return its id. */
export function saveConfig(store: Store, config: JsonObject, now: Date): string {
  const body = canonicalJson(config)
  const configId = sha256(body)
  store.run(store.db.insertInto('configs').values({config_id: configId, body, created_at: now.toISOString()}).onConflict((oc) => oc.doNothing()))
  return configId
}

export interface NewRun {
  recipe: Recipe
  projectDir: string
  config: JsonObject
  /** Where it goes (placeRun, inside the same transaction): host, GPUs, and `queued` when none has room. */
  placement: Placement
  /** Recorded in runs.placement: may tick move it to another host when it leaves the queue? */
  placementKind: PlacementKind
  /** The run dir of a run id on the placed host (the host's executor runDir). */
  runDir: (runId: string) => string
  campaignId: string
  name?: string
  parentRunId?: string
  forkStep?: number
  /** The trainer's environment (see RecipeSpec.env); undefined: inherit the starting process's. */
  trainerEnv?: Record<string, string>
  /** The recipe's declared metrics and primary metric (a fork passes its parent's). */
  metrics?: {declared: Record<string, MetricDecl>; primary: string | null}
  /** Run directories already on the placed host (listRunDirs): a new id never lands on one of them. */
  existingRunDirs: readonly string[]
}

/**
 * The next run number: after every run of this store and every `r<N>` directory already on the
 * host — a directory may outlive a lost store, or belong to another store sharing the root.
 */
function nextSeq(store: Store, existingRunDirs: readonly string[]): number {
  let seq = store.first(store.db.selectFrom('runs').select((eb) => eb.fn.max('seq').as('seq')))?.seq ?? 0
  for (const name of existingRunDirs) {
    const n = /^r(\d{1,15})$/.exec(name)
    if (n) seq = Math.max(seq, Number(n[1]))
  }
  return seq + 1
}

/** Create the new run's directory exclusively, with its marker naming this store and run (a journalled step). */
export async function createRunDir(ctx: Ctx, runId: string): Promise<void> {
  const run = getRun(ctx.store, runId)
  await ctx.executor(run.host_id).createRunDir(run.run_dir, {store_id: ctx.store.id, run_id: runId, created_at: ctx.now().toISOString()})
}

/**
 * Reserve a run: config, the row in `starting` (or `queued`) on its placement, config version 1.
 * Call inside the write transaction that placed it (it is the "reserve" of reserve-then-act).
 * The recipe's `gpus` is the run's GPU count, kept in its recipe spec for resume and the queue.
 */
export function insertRun(store: Store, spec: NewRun, now: Date): {runId: string; gpus: string[]; configId: string; status: 'starting' | 'queued'} {
  const {recipe, placement} = spec
  const {gpus, status} = placement
  if (spec.name !== undefined) {
    const holder = store.first(store.db.selectFrom('runs').select(['run_id', 'status']).where('campaign_id', '=', spec.campaignId).where('name', '=', spec.name))
    if (holder) {
      throw new AutolabError('NAME_TAKEN', `Run ${holder.run_id} (${holder.status}) of this campaign is already named "${spec.name}".`, {
        details: {name: spec.name, run_id: holder.run_id, campaign_id: spec.campaignId}, suggestedAction: `Pick another --name, or refer to the existing run as ${holder.run_id}.`,
      })
    }
  }
  const configId = saveConfig(store, spec.config, now)
  const seq = nextSeq(store, spec.existingRunDirs)
  const runId = `r${seq}`
  store.run(store.db.insertInto('runs').values({
    seq, run_id: runId, name: spec.name ?? null, campaign_id: spec.campaignId, parent_run_id: spec.parentRunId ?? null,
    fork_step: spec.forkStep ?? null, host_id: placement.host_id, placement: spec.placementKind, recipe: recipe.name, spec_id: recipeSpecId(store, JSON.stringify({command: recipe.command, gpus: recipe.gpus, hot_params: recipe.hotParams, project_dir: spec.projectDir, schema: recipe.schema, env: spec.trainerEnv, metrics: spec.metrics?.declared, primary_metric: spec.metrics?.primary, evals: recipe.evals ?? {}, guards: recipe.guards ?? {}} satisfies RecipeSpec)),
    gpus: JSON.stringify(gpus), config_id: configId, status, pid: null, exit_code: null, error: null,
    step: spec.forkStep ?? null, run_dir: spec.runDir(runId),
    observation_cadence: recipe.observationCadence, sample_cadence: recipe.sampleCadence,
    control: JSON.stringify(initialControl(recipe.observationCadence, recipe.sampleCadence)),
    trend_window: recipe.trendWindow, stall_seconds: recipe.stallSeconds,
    created_at: now.toISOString(), started_at: null, ended_at: null, synced_at: null,
  }))
  store.run(store.db.insertInto('run_configs').values({run_id: runId, version: 1, config_id: configId, effective_step: spec.forkStep ?? 0, control_version: null, created_at: now.toISOString()}))
  return {runId, gpus, configId, status}
}

/**
 * An earlier run, not yet ended, that `run` duplicates: same recipe, config, host, campaign,
 * parent and fork step. Not an error (two runs of one config can be meant), but worth saying:
 * a retry without an idempotency key looks exactly like this.
 */
export function liveTwin(store: Store, run: RunRow): string | null {
  let query = store.db.selectFrom('runs').select('run_id').where('config_id', '=', run.config_id).where('recipe', '=', run.recipe)
    .where('host_id', '=', run.host_id).where('campaign_id', '=', run.campaign_id).where('seq', '<', run.seq).where('status', 'not in', [...TERMINAL_STATES])
  query = run.parent_run_id === null ? query.where('parent_run_id', 'is', null) : query.where('parent_run_id', '=', run.parent_run_id).where('fork_step', '=', run.fork_step)
  return store.first(query.orderBy('seq', 'desc').limit(1))?.run_id ?? null
}

/** The warning for a duplicate, for the status bar. */
export function twinWarning(runId: string, twin: string): string {
  return `${runId} duplicates ${twin}, which is still live (same recipe, config, parent and fork step); pass --idempotency-key to make retries safe, or kill one of them`
}


/** The placeholders every command of a run expands the same way (its trainer's, its evals'). */
export function runTemplateVars(run: Pick<RunRow, 'run_dir' | 'recipe_spec'>): {node: string; examples: string; project_dir: string; run_dir: string} {
  return {node: process.execPath, examples: `${packageRoot()}/dist/examples`, project_dir: runRecipeSpec(run.recipe_spec).project_dir, run_dir: run.run_dir}
}

/**
 * Write the run's files (config.json only when given: a resume keeps its own) and start the
 * wrapper; the pid is saved at once, so a crash right after leaves it for recovery to kill.
 */
export async function startRunProcess(ctx: Ctx, runId: string, options: {config?: JsonObject; resumeFrom: string | null}): Promise<number> {
  const {store} = ctx
  const run = getRun(store, runId)
  const spec = runRecipeSpec(run.recipe_spec)
  const gpus = JSON.parse(run.gpus) as string[]
  const command = expandTemplate(spec.command, {...runTemplateVars(run), config: `${run.run_dir}/config.json`})
  const files: Record<string, string> = {
    'control.json': `${run.control}\n`,
    'command.sh': commandScript({runId, runDir: run.run_dir, resumeFrom: options.resumeFrom, gpus, storeId: store.id}, command),
  }
  if (options.config) files['config.json'] = `${JSON.stringify(options.config, null, 2)}\n`
  const {pid} = await ctx.executor(run.host_id).launch({runId, runDir: run.run_dir, files, env: spec.env})
  store.write(() => store.run(store.db.updateTable('runs').set({pid, exit_code: null, error: null}).where('run_id', '=', runId)))
  return pid
}
