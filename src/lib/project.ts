// The project file (autolab.yaml): recipes (how to run a trainer) and host declarations.
// Found at --project / AUTOLAB_PROJECT, else ./autolab.yaml; without one, the embedded default
// (the toy recipe) applies, so `autolab demo` works on a fresh clone.
import {existsSync} from 'node:fs'
import {dirname, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {yamlModule} from './lazy-modules.js'
import {DEFAULT_CONFIG as TOY_DEFAULT_CONFIG} from '../../examples/toy-rl/config.js'
import {type JsonObject, checkConfigValue, isPlainObject, tooDeepError} from './config-merge.js'
import {type ConfigSchema, inferSchema, isKnownKey, parseSchemaDeclaration, validateConfig, withHotParams} from './config-schema.js'
import {readInputFile} from './input-file.js'
import {type EvalSuite, parseEvalSuites} from './evals/suites.js'
import {parseEnv, parsePassEnv} from './recipe-env.js'
import {AutolabError} from './output/errors.js'
import {isSafeName, templateQuotingProblem, templateVariables} from './shell.js'

export interface ParamRange {
  min?: number
  max?: number
}

export interface Recipe {
  name: string
  /** Command template; placeholders: {node} {examples} {project_dir} {run_dir} {config}. */
  command: string
  /** The recipe's default config (from `config:` inline or `config_file:`). */
  config: JsonObject
  gpus: number
  /** Parameters that may change in flight (dotted keys), with allowed ranges. */
  hotParams: Record<string, ParamRange>
  observationCadence: number
  sampleCadence: number
  /** Observations summarise the last `trendWindow` points of each metric. */
  trendWindow: number
  stallSeconds: number
  /**
   * The config schema, resolved: declared (`schema:`) or inferred from `config`, hot params
   * included; null when there is nothing to go by (no schema, empty config): no key is checked.
   * Absent only on a recipe rebuilt from a run recorded before schemas existed: then it is
   * inferred from the run's config.
   */
  schema?: ConfigSchema | null
  /** Eval suites (`evals:`), by name; a run keeps them in its recipe spec. */
  evals?: Record<string, EvalSuite>
  /** Guards (`guards: {kl: {max: 1.0}}`): a metric crossing its bound raises a soft anomaly; a run keeps them. */
  guards?: Record<string, MetricGuard>
}

/** Bounds a metric should stay within (KL blow-up, entropy collapse): crossing one is a soft anomaly. */
export interface MetricGuard {
  min?: number
  max?: number
}

export type MetricGoal = 'max' | 'min'

export interface MetricDecl {
  /** Which way is better; null: a metric worth showing with no better direction (entropy). */
  goal: MetricGoal | null
  description?: string
}

/** A recipe as the project file declares it: what runs keep (Recipe), and what only the project knows. */
export interface ProjectRecipe extends Recipe {
  evals: Record<string, EvalSuite>
  schema: ConfigSchema | null
  schemaSource: 'declared' | 'inferred' | 'none'
  /** Declared metrics (by the name the trainer logs), with the direction that is better. */
  metrics: Record<string, MetricDecl>
  /** The metric that says which run is best; one of `metrics`, with a goal. */
  primaryMetric: string | null
  /** Environment variables set for the trainer; values may hold ${VAR} of autolab's environment (see expandEnvValue). */
  env: Record<string, string>
  /** Names of autolab's environment variables passed on to the trainer. */
  passEnv: string[]
}

export interface HostDecl {
  name: string
  kind: 'local' | 'ssh'
  /** GPU ids, or 'auto': discovered by `host check` with nvidia-smi (the store keeps what it found). */
  gpus: string[] | 'auto'
  /** ssh hosts: `user@host[:port]` or an alias of ~/.ssh/config. */
  ssh?: string
  /** ssh hosts: the absolute work root on the host; runs live in <root>/runs/<run id>. */
  root?: string
}

/** `user@host[:port]`, `host`, or an ssh_config alias: letters, digits, '.', '_', '-' (and one '@', one ':port'). */
export const SSH_SPEC = /^(?:[A-Za-z0-9._-]{1,64}@)?[A-Za-z0-9][A-Za-z0-9._-]{0,252}(?::\d{1,5})?$/

/** A remote work root: absolute, no '..', no control characters (it is quoted, but it is also a path). */
export function remoteRootProblem(root: unknown): string | null {
  if (typeof root !== 'string' || !root.startsWith('/')) return 'must be an absolute path on the host'
  if (root.length > 1024 || /[\u0000-\u001f\u007f]/.test(root)) return 'must be at most 1024 characters, without control characters'
  if (root.split('/').includes('..')) return 'must not contain ".."'
  return null
}

export interface Project {
  /** Absolute path of the file, or null for the embedded default. */
  file: string | null
  dir: string
  recipes: Record<string, ProjectRecipe>
  hosts: Record<string, HostDecl>
}

export const TEMPLATE_VARIABLES = ['node', 'examples', 'project_dir', 'run_dir', 'config'] as const

export const CADENCE_BOUNDS = {observation: {min: 1, max: 100_000}, sample: {min: 1, max: 1_000_000}} as const

/** What a recipe passes on from autolab's environment unless it says `pass_env:`. */
export const DEFAULT_PASS_ENV = ['PATH', 'HOME', 'VIRTUAL_ENV', 'CONDA_PREFIX', 'PYTHONPATH', 'LD_LIBRARY_PATH', 'HF_HOME'] as const

/** The package root (where package.json is), found from this module's location. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 6; i++) {
    if (existsSync(resolve(dir, 'package.json')) && existsSync(resolve(dir, 'bin', 'run.js'))) return dir
    dir = dirname(dir)
  }
  throw new AutolabError('INTERNAL', 'Cannot find the autolab package root.')
}

/** The example project file `init` writes; also the embedded default when no file exists. */
export function exampleProjectYaml(): string {
  const config = JSON.stringify(TOY_DEFAULT_CONFIG, null, 2).split('\n').map((l) => `      ${l}`).join('\n').trimStart()
  return `# autolab project file: recipes say how to run a trainer; hosts say where.
# Docs: docs/trainer-contract.md and README.md.
hosts:
  local:
    kind: local
    # GPU ids this host offers; each run gets its recipe's \`gpus\` of them in CUDA_VISIBLE_DEVICES.
    gpus: []

recipes:
  toy:
    # The built-in toy RL trainer (GRPO-style, CPU only). {node} and {examples} expand to this
    # Node binary and autolab's compiled examples directory; every value is shell-quoted.
    command: "{node} {examples}/toy-rl/train.js"
    gpus: 0
    # Parameters \`autolab modify\` may change in flight, with their allowed ranges (also
    # enforced at launch and fork).
    hot_params:
      learning_rate: {min: 0, max: 100000}
      beta: {min: 0, max: 100}
      temperature: {min: 0.01, max: 100}
    # The config keys the trainer takes (dotted), checked at launch and fork before anything
    # starts: type (number, integer, string, boolean, object, array), min/max, enum, nullable.
    # Without a schema it is inferred from \`config\` (each value's JSON type).
    schema:
      learning_rate: {type: number, min: 0, description: "Adam step size. Good 0.02-0.1; <= 1e-4 stays at chance; >= ~100 diverges to NaN"}
      beta: {type: number, min: 0, description: "weight of KL(policy || initial policy) in the loss"}
      temperature: {type: number, min: 0.01, description: "sampling temperature (also for log-probs and KL)"}
      group_size: {type: integer, min: 2, max: 4096, description: "completions per prompt: the group for advantages"}
      batch_size: {type: integer, min: 1, max: 65536, description: "prompts per step"}
      seed: {type: number, description: "PRNG seed"}
      max_steps: {type: integer, min: 0, description: "steps to train, then a final checkpoint and exit 0"}
      save_every: {type: integer, min: 0, description: "checkpoint every N steps (0 = never)"}
      step_time_ms: {type: number, min: 0, max: 3600000, description: "sleep after each step, to imitate a slower trainer"}
      init_scale: {type: number, min: 0, max: 100, description: "standard deviation of the initial logits"}
      task: {type: object, description: "the synthetic task: (a + b) mod modulus"}
      task.kind: {type: string, enum: [modular_addition]}
      task.modulus: {type: integer, min: 2, max: 64}
      exit_code_at: {type: object, nullable: true, description: "testing knob: {step: N, code: C} exits with code C after step N"}
      exit_code_at.step: {type: integer, min: 0}
      exit_code_at.code: {type: integer, min: 0, max: 255}
    # What the trainer logs, and which way is better; primary_metric says which run is best.
    metrics:
      reward: {goal: max, description: "mean sampled reward (1 = every completion right)"}
      accuracy: {goal: max, description: "greedy accuracy over all prompts"}
      loss: {goal: min}
      kl: {goal: null, description: "KL to the initial policy; grows as the policy moves"}
      entropy: {goal: null, description: "entropy of the sampling policy"}
    primary_metric: reward
    # Eval suites: \`autolab eval RUN --suite heldout\` scores a checkpoint in the background.
    # Placeholders: {checkpoint} {n} {out} (result.json: score, metrics, breakdown) {examples_out}
    # (examples.jsonl) {settings} (the --set values as a JSON file) {run_dir} {node} {examples} {project_dir}.
    evals:
      heldout:
        command: "{node} {examples}/toy-rl/eval.js --checkpoint {checkpoint} --n {n} --out {out} --examples-out {examples_out} --settings {settings}"
        gpus: 0
        description: "greedy accuracy on a held-out split"
    # The trainer's environment: \`env\` sets variables (\${VAR} reads autolab's environment);
    # \`pass_env\` lists autolab's variables passed on (default: PATH HOME VIRTUAL_ENV
    # CONDA_PREFIX PYTHONPATH LD_LIBRARY_PATH HF_HOME). AUTOLAB_* and CUDA_VISIBLE_DEVICES are autolab's.
    # env: {OMP_NUM_THREADS: "1", DATA_DIR: "\${HOME}/data"}
    # pass_env: [PATH, HOME, WANDB_API_KEY]
    observation_cadence: 10
    sample_cadence: 50
    trend_window: 20
    stall_seconds: 120
    config: ${config}
`
}

export function loadProject(path?: string): Project {
  const explicit = path ?? process.env.AUTOLAB_PROJECT
  const file = explicit ? resolve(explicit) : resolve('autolab.yaml')
  if (!existsSync(file)) {
    if (explicit) throw new AutolabError('FILE_NOT_FOUND', `Project file ${file} does not exist.`, {suggestedAction: 'Run `autolab init` to write one, or fix --project.'})
    return parseProject(exampleProjectYaml(), null)
  }
  return parseProject(readInputFile(file, 'Project file'), file)
}

export function parseProject(text: string, file: string | null): Project {
  const where = file ?? '(embedded default project)'
  let doc: unknown
  try {
    doc = yamlModule().parse(text)
  } catch (error) {
    throw new AutolabError('INVALID_CONFIG', `${where}: not valid YAML: ${(error as Error).message}`, {details: {file: where}})
  }
  const bad = (field: string, why: string): never => {
    throw new AutolabError('INVALID_CONFIG', `${where}: ${field}: ${why}`, {details: {file: where, field}})
  }
  if (!isPlainObject(doc)) bad('(top level)', 'must be a mapping with `recipes:`')
  const top = doc as JsonObject
  const dir = file ? dirname(file) : process.cwd()
  const recipes: Record<string, ProjectRecipe> = {}
  if (!isPlainObject(top.recipes)) bad('recipes', 'must be a mapping of recipe name to recipe')
  for (const [name, raw] of Object.entries(top.recipes as JsonObject)) {
    const field = `recipes.${name}`
    if (!isSafeName(name)) bad(field, 'recipe names use letters, digits, ".", "_" and "-"')
    if (!isPlainObject(raw)) bad(field, 'must be a mapping')
    const r = raw as JsonObject
    if (typeof r.command !== 'string' || r.command.trim() === '') bad(`${field}.command`, 'must be a non-empty string')
    const unknownVars = templateVariables(r.command as string).filter((v) => !(TEMPLATE_VARIABLES as readonly string[]).includes(v))
    if (unknownVars.length > 0) bad(`${field}.command`, `unknown placeholder {${unknownVars[0]}}; known: ${TEMPLATE_VARIABLES.map((v) => `{${v}}`).join(' ')}`)
    // Each value is single-quoted at launch; quotes around a placeholder would undo that.
    const quoting = templateQuotingProblem(r.command as string)
    if (quoting) bad(`${field}.command`, quoting.message)
    let config: JsonObject = {}
    if (r.config !== undefined && r.config_file !== undefined) bad(`${field}.config`, 'give either config or config_file, not both')
    if (r.config !== undefined) {
      if (!isPlainObject(r.config)) bad(`${field}.config`, 'must be a mapping')
      config = r.config as JsonObject
    } else if (r.config_file !== undefined) {
      if (typeof r.config_file !== 'string') bad(`${field}.config_file`, 'must be a path')
      config = readConfigFile(resolve(dir, r.config_file as string))
    }
    const hotParams: Record<string, ParamRange> = {}
    if (r.hot_params !== undefined) {
      if (!isPlainObject(r.hot_params)) bad(`${field}.hot_params`, 'must be a mapping of parameter to {min, max}')
      for (const [param, range] of Object.entries(r.hot_params as JsonObject)) {
        const rf = `${field}.hot_params.${param}`
        if (range === null || range === true) { hotParams[param] = {}; continue }
        if (!isPlainObject(range)) bad(rf, 'must be {min, max} (either may be omitted)')
        const {min, max} = range as {min?: unknown; max?: unknown}
        if (min !== undefined && typeof min !== 'number') bad(`${rf}.min`, 'must be a number')
        if (max !== undefined && typeof max !== 'number') bad(`${rf}.max`, 'must be a number')
        if (typeof min === 'number' && typeof max === 'number' && min > max) bad(rf, 'min is greater than max')
        hotParams[param] = {min: min as number | undefined, max: max as number | undefined}
      }
    }
    const int = (key: string, fallback: number, min: number, max: number): number => {
      const v = r[key]
      if (v === undefined) return fallback
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(`${field}.${key}`, `must be an integer in [${min}, ${max}]`)
      return v as number
    }
    const {schema, schemaSource} = recipeSchema(r.schema, config, hotParams, field, bad)
    const metrics = parseMetrics(r.metrics, `${field}.metrics`, bad)
    if (r.primary_metric !== undefined && r.primary_metric !== null) {
      const primary = r.primary_metric
      if (typeof primary !== 'string' || !Object.hasOwn(metrics, primary)) bad(`${field}.primary_metric`, `must be one of the declared metrics (${Object.keys(metrics).join(', ') || 'none declared'})`)
      if (metrics[primary as string].goal === null) bad(`${field}.primary_metric`, `${primary as string} has no goal: give it goal: max or goal: min`)
    }
    recipes[name] = {
      name,
      command: r.command as string,
      config,
      gpus: int('gpus', 0, 0, 64),
      hotParams,
      observationCadence: int('observation_cadence', 10, CADENCE_BOUNDS.observation.min, CADENCE_BOUNDS.observation.max),
      sampleCadence: int('sample_cadence', 50, CADENCE_BOUNDS.sample.min, CADENCE_BOUNDS.sample.max),
      trendWindow: int('trend_window', 20, 2, 10_000),
      stallSeconds: int('stall_seconds', 300, 1, 7 * 86_400),
      schema,
      schemaSource,
      metrics,
      primaryMetric: (r.primary_metric as string | undefined) ?? null,
      evals: parseEvalSuites(r.evals, `${field}.evals`, bad),
      guards: parseGuards(r.guards, `${field}.guards`, bad),
      env: parseEnv(r.env, `${field}.env`, bad),
      passEnv: parsePassEnv(r.pass_env, `${field}.pass_env`, DEFAULT_PASS_ENV, bad),
    }
  }
  const hosts: Record<string, HostDecl> = {}
  if (top.hosts !== undefined) {
    if (!isPlainObject(top.hosts)) bad('hosts', 'must be a mapping of host name to host')
    for (const [name, raw] of Object.entries(top.hosts as JsonObject)) {
      const field = `hosts.${name}`
      if (!isSafeName(name)) bad(field, 'host names use letters, digits, ".", "_" and "-"')
      if (!isPlainObject(raw)) bad(field, 'must be a mapping')
      const h = raw as JsonObject
      const kind = h.kind ?? (name === 'local' ? 'local' : h.ssh !== undefined ? 'ssh' : undefined)
      if (kind !== 'local' && kind !== 'ssh') bad(`${field}.kind`, 'must be `local` or `ssh`')
      for (const key of Object.keys(h)) {
        const known = kind === 'ssh' ? ['kind', 'ssh', 'root', 'gpus'] : ['kind', 'gpus']
        if (!known.includes(key)) bad(`${field}.${key}`, `is not a field of a ${kind} host (${known.join(', ')})`)
      }
      if (h.gpus !== undefined && h.gpus !== 'auto' && (!Array.isArray(h.gpus) || h.gpus.some((g) => !(typeof g === 'number' || (typeof g === 'string' && /^[A-Za-z0-9-]{1,128}$/.test(g)))))) {
        bad(`${field}.gpus`, 'must be a list of GPU ids (numbers or ids such as GPU-uuid), or `auto`')
      }
      if (Array.isArray(h.gpus) && new Set(h.gpus.map(String)).size !== h.gpus.length) bad(`${field}.gpus`, 'lists a GPU id twice')
      const gpus = h.gpus === 'auto' ? 'auto' : ((h.gpus as unknown[]) ?? []).map(String)
      if (kind === 'local') {
        if (name !== 'local') bad(field, 'the local host is named `local`')
        hosts[name] = {name, kind: 'local', gpus}
        continue
      }
      if (typeof h.ssh !== 'string' || !SSH_SPEC.test(h.ssh)) bad(`${field}.ssh`, 'must be user@host[:port] or an alias of ~/.ssh/config')
      const rootProblem = remoteRootProblem(h.root)
      if (rootProblem) bad(`${field}.root`, rootProblem)
      hosts[name] = {name, kind: 'ssh', gpus, ssh: h.ssh as string, root: h.root as string}
    }
  }
  return {file, dir, recipes, hosts}
}

type Bad = (field: string, why: string) => never

/**
 * The recipe's resolved schema: the declared one (which the default config and the hot params
 * must fit), or one inferred from the default config; hot params are always known keys.
 */
function recipeSchema(raw: unknown, config: JsonObject, hotParams: Record<string, ParamRange>, field: string, bad: Bad): Pick<ProjectRecipe, 'schema' | 'schemaSource'> {
  const declared = raw !== undefined && raw !== null
  const schema = declared
    ? parseSchemaDeclaration(raw, (key, why) => bad(key ? `${field}.schema.${key}` : `${field}.schema`, why))
    : withHotParams(inferSchema(config), hotParams)
  for (const [param, range] of Object.entries(hotParams)) {
    if (!isKnownKey(schema, param)) bad(`${field}.hot_params.${param}`, 'is not a key of the recipe\'s schema')
    const type = schema?.[param]?.type
    if ((range.min !== undefined || range.max !== undefined) && type !== undefined && type !== 'number' && type !== 'integer') {
      bad(`${field}.hot_params.${param}`, `has a range but the schema says ${type}`)
    }
  }
  // A default the schema (or a hot range) refuses would make every launch fail.
  const [problem] = validateConfig(config, schema, {hotParams})
  if (problem) bad(`${field}.config.${problem.key}`, `${problem.message} (the default config must fit the recipe's schema and hot_params)`)
  return {schema, schemaSource: declared ? 'declared' : schema === null ? 'none' : 'inferred'}
}

const FORBIDDEN_NAMES = new Set(['__proto__', 'constructor', 'prototype'])

function parseGuards(raw: unknown, field: string, bad: Bad): Record<string, MetricGuard> {
  if (raw === undefined || raw === null) return {}
  if (!isPlainObject(raw)) bad(field, 'must be a mapping of metric name to {min, max}, e.g. {kl: {max: 1.0}}')
  const guards: Record<string, MetricGuard> = {}
  for (const [metric, bounds] of Object.entries(raw as JsonObject)) {
    const f = `${field}.${metric}`
    if (metric.length === 0 || metric.length > 200 || FORBIDDEN_NAMES.has(metric)) bad(f, 'metric names are 1-200 characters (not __proto__, constructor or prototype)')
    if (!isPlainObject(bounds)) bad(f, 'must be {min, max} (either may be omitted)')
    const b = bounds as JsonObject
    for (const key of Object.keys(b)) if (key !== 'min' && key !== 'max') bad(`${f}.${key}`, 'unknown field; known: min, max')
    for (const key of ['min', 'max'] as const) if (b[key] !== undefined && (typeof b[key] !== 'number' || !Number.isFinite(b[key]))) bad(`${f}.${key}`, 'must be a finite number')
    if (b.min === undefined && b.max === undefined) bad(f, 'give min, max or both')
    if (typeof b.min === 'number' && typeof b.max === 'number' && b.min > b.max) bad(f, 'min is greater than max')
    guards[metric] = {...(b.min === undefined ? {} : {min: b.min as number}), ...(b.max === undefined ? {} : {max: b.max as number})}
  }
  return guards
}

function parseMetrics(raw: unknown, field: string, bad: Bad): Record<string, MetricDecl> {
  if (raw === undefined || raw === null) return {}
  if (!isPlainObject(raw)) bad(field, 'must be a mapping of metric name to {goal: max | min, description}')
  const metrics: Record<string, MetricDecl> = {}
  for (const [metric, decl] of Object.entries(raw as JsonObject)) {
    const f = `${field}.${metric}`
    // The names trainers may log (the telemetry contract's metric keys).
    if (metric.length === 0 || metric.length > 200 || FORBIDDEN_NAMES.has(metric)) bad(f, 'metric names are 1-200 characters (not __proto__, constructor or prototype)')
    if (decl !== null && !isPlainObject(decl)) bad(f, 'must be a mapping such as {goal: max}')
    const d = (decl ?? {}) as JsonObject
    for (const key of Object.keys(d)) if (key !== 'goal' && key !== 'description') bad(`${f}.${key}`, 'unknown field; known: goal, description')
    if (d.goal !== undefined && d.goal !== null && d.goal !== 'max' && d.goal !== 'min') bad(`${f}.goal`, 'must be max or min (or null: no better direction)')
    if (d.description !== undefined && typeof d.description !== 'string') bad(`${f}.description`, 'must be a string')
    metrics[metric] = {goal: (d.goal as MetricGoal | undefined) ?? null, ...(d.description === undefined ? {} : {description: d.description as string})}
  }
  return metrics
}

export function getRecipe(project: Project, name: string): ProjectRecipe {
  const recipe = project.recipes[name]
  if (!recipe) {
    throw new AutolabError('RECIPE_NOT_FOUND', `No recipe "${name}" in ${project.file ?? 'the embedded default project'}.`, {
      details: {recipe: name, available: Object.keys(project.recipes)},
    })
  }
  return recipe
}

/** Read a JSON or YAML file holding one object (for --config, --patch and config_file), within the bounds of any config value from outside. */
export function readConfigFile(path: string): JsonObject {
  if (!existsSync(path)) throw new AutolabError('FILE_NOT_FOUND', `Config file ${path} does not exist.`, {details: {file: path}})
  const text = readInputFile(path, 'Config file')
  let value: unknown
  try {
    value = yamlModule().parse(text) // YAML is a superset of JSON
  } catch (error) {
    // The YAML parser recurses: a deep enough nesting overflows its stack, caught here.
    if (/Maximum call stack/.test((error as Error).message)) throw tooDeepError(`Config file ${path}`)
    throw new AutolabError('INVALID_CONFIG', `${path}: not valid JSON/YAML: ${(error as Error).message}`, {details: {file: path}})
  }
  if (!isPlainObject(value)) throw new AutolabError('INVALID_CONFIG', `${path}: must hold one object (a mapping).`, {details: {file: path}})
  checkConfigValue(value, `Config file ${path}`)
  return value
}
