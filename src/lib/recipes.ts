// What an agent needs to know about a recipe without reading files: its config keys (the
// schema, declared or inferred), defaults, hot params, metrics and environment.
import type {EvalSuite} from './evals/suites.js'
import {type JsonObject, flatten, getDotted} from './config-merge.js'
import type {ConfigSchema, KeySchema} from './config-schema.js'
import {type MetricDecl, type ParamRange, type Project, type ProjectRecipe, getRecipe} from './project.js'

export interface RecipeView {
  name: string
  /** The project file it comes from; null for the built-in default project. */
  project_file: string | null
  command: string
  gpus: number
  /** declared (`schema:`), inferred (from the default config), none (nothing to check keys against). */
  schema_source: ProjectRecipe['schemaSource']
  /** By dotted key: {type?, min?, max?, enum?, nullable?, description?}; null when schema_source is none. */
  schema: ConfigSchema | null
  /** The default config every launch starts from. */
  defaults: JsonObject
  hot_params: Record<string, ParamRange>
  metrics: Record<string, MetricDecl>
  primary_metric: string | null
  env: Record<string, string>
  pass_env: string[]
  observation_cadence: number
  sample_cadence: number
  trend_window: number
  stall_seconds: number
  /** Eval suites by name: {command, gpus, description}. */
  evals: Record<string, EvalSuite>
}

export interface RecipeSummary {
  name: string
  command: string
  gpus: number
  schema_source: ProjectRecipe['schemaSource']
  keys: number
  hot_params: string[]
  primary_metric: string | null
}

export function recipeView(project: Project, name: string): RecipeView {
  const r = getRecipe(project, name)
  return {
    name: r.name, project_file: project.file, command: r.command, gpus: r.gpus,
    schema_source: r.schemaSource, schema: r.schema, defaults: r.config, hot_params: r.hotParams,
    metrics: r.metrics, primary_metric: r.primaryMetric, env: r.env, pass_env: r.passEnv,
    observation_cadence: r.observationCadence, sample_cadence: r.sampleCadence, trend_window: r.trendWindow, stall_seconds: r.stallSeconds, evals: r.evals,
  }
}

export function listRecipes(project: Project): {project_file: string | null; recipes: RecipeSummary[]} {
  return {
    project_file: project.file,
    recipes: Object.values(project.recipes).map((r) => ({
      name: r.name, command: r.command, gpus: r.gpus, schema_source: r.schemaSource, keys: Object.keys(r.schema ?? {}).length,
      hot_params: Object.keys(r.hotParams), primary_metric: r.primaryMetric,
    })),
  }
}

/** One row per config key for people: the schema, with each key's default and hot range. */
export function keyRows(view: RecipeView): {key: string; spec: KeySchema; default: unknown; hot: ParamRange | undefined}[] {
  const defaults = flatten(view.defaults)
  const keys = new Set([...Object.keys(view.schema ?? {}), ...Object.keys(defaults)])
  return [...keys].sort().map((key) => ({key, spec: view.schema?.[key] ?? {}, default: getDotted(view.defaults, key), hot: view.hot_params[key]}))
}
