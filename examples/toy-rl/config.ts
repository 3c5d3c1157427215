/**
 * The toy RL trainer's config: defaults, validation and the hot-modifiable parameters.
 * Dependency-free so the CLI can embed DEFAULT_CONFIG as the built-in recipe's default config.
 */

/** The synthetic task: prompts are pairs (a, b) with 0 ≤ a, b < modulus; the answer is (a + b) mod modulus. */
export interface ToyTaskConfig {
  kind: 'modular_addition'
  modulus: number
}

export interface ToyConfig {
  /** Adam step size. Hot-modifiable. Good ≈ 0.02-0.1 (default 0.05); ≤ 1e-4 stays at chance; ≥ ~100 diverges to NaN. */
  learning_rate: number
  /** Weight of KL(policy ‖ initial policy) in the loss. Hot-modifiable. */
  beta: number
  /** Sampling temperature (logits are divided by it for sampling, log-probs and KL). Hot-modifiable. */
  temperature: number
  /** Completions sampled per prompt; advantages are computed within each group. */
  group_size: number
  /** Prompts per step. */
  batch_size: number
  /** Seed of the PRNG that drives initialisation, prompt choice and sampling. */
  seed: number
  /** Train steps; the trainer saves a final checkpoint and exits 0 after this many. */
  max_steps: number
  /** Save a checkpoint every this many steps (0 = never; save_at in control.json and the final one still apply). */
  save_every: number
  /** Sleep this long after each step, to imitate a slower, real trainer. */
  step_time_ms: number
  /** Standard deviation of the initial logits (the policy is a table of logits, one row per prompt). */
  init_scale: number
  /** Synthetic task parameters. */
  task: ToyTaskConfig
  /** Testing knob: after logging step `step`, write a message to stderr and exit with `code`. */
  exit_code_at: {step: number; code: number} | null
}

/**
 * The default recipe config. With it, mean reward climbs from chance (1/7 ≈ 0.14) to ~0.73 by
 * step 100 and above 0.9 by step 150; with learning_rate 1e-5 it stays at chance; with 1e4 the
 * loss and KL become NaN at step 2 (at 100, around step 9).
 */
export const DEFAULT_CONFIG: ToyConfig = {
  learning_rate: 0.05,
  beta: 0.01,
  temperature: 1,
  group_size: 8,
  batch_size: 16,
  seed: 0,
  max_steps: 400,
  save_every: 50,
  step_time_ms: 50,
  init_scale: 1,
  task: {kind: 'modular_addition', modulus: 7},
  exit_code_at: null,
}

/** A hot-modifiable parameter: settable through control.json `overrides` while the trainer runs. */
export interface HotParam {
  key: 'learning_rate' | 'beta' | 'temperature'
  min: number
  max: number
  /** Whether `min` itself is allowed. */
  minInclusive: boolean
  description: string
}

/** The parameters the toy trainer applies from control.json overrides, with their accepted ranges. */
export const HOT_PARAMS: readonly HotParam[] = [
  {key: 'learning_rate', min: 0, max: 1e9, minInclusive: true, description: 'Adam step size'},
  {key: 'beta', min: 0, max: 1e6, minInclusive: true, description: 'KL-to-initial-policy weight'},
  {key: 'temperature', min: 0, max: 1e3, minInclusive: false, description: 'sampling temperature'},
]

/** Check a hot value against its range; returns an error message or null when acceptable. */
export function checkHotValue(key: string, value: unknown): string | null {
  const p = HOT_PARAMS.find((h) => h.key === key)
  if (!p) return `not a hot-modifiable parameter (hot: ${HOT_PARAMS.map((h) => h.key).join(', ')})`
  if (typeof value !== 'number' || !Number.isFinite(value)) return 'must be a finite number'
  if (value < p.min || (value === p.min && !p.minInclusive) || value > p.max) {
    return `out of range ${p.minInclusive ? '[' : '('}${p.min}, ${p.max}]`
  }
  return null
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/**
 * Merge a raw run config over DEFAULT_CONFIG (the nested `task` merged key by key) and
 * validate it. Unknown keys are ignored.
 * @throws Error listing every invalid key.
 */
export function resolveConfig(raw: Record<string, unknown>): ToyConfig {
  const d = DEFAULT_CONFIG
  const cfg: ToyConfig = {
    ...d,
    ...(raw as Partial<ToyConfig>),
    task: {...d.task, ...(isRecord(raw.task) ? raw.task : {})} as ToyTaskConfig,
    exit_code_at: (raw.exit_code_at ?? null) as ToyConfig['exit_code_at'],
  }
  const errors: string[] = []
  const num = (key: string, v: unknown, ok: (x: number) => boolean, what: string) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) errors.push(`${key} must be ${what} (got ${JSON.stringify(v)})`)
  }
  const int = (x: number) => Number.isInteger(x)
  for (const h of HOT_PARAMS) {
    const msg = checkHotValue(h.key, cfg[h.key])
    if (msg) errors.push(`${h.key} ${msg} (got ${JSON.stringify(cfg[h.key])})`)
  }
  num('group_size', cfg.group_size, (x) => int(x) && x >= 2 && x <= 4096, 'an integer in [2, 4096]')
  num('batch_size', cfg.batch_size, (x) => int(x) && x >= 1 && x <= 65536, 'an integer in [1, 65536]')
  num('seed', cfg.seed, () => true, 'a finite number')
  num('max_steps', cfg.max_steps, (x) => int(x) && x >= 0, 'a non-negative integer')
  num('save_every', cfg.save_every, (x) => int(x) && x >= 0, 'a non-negative integer')
  num('step_time_ms', cfg.step_time_ms, (x) => x >= 0 && x <= 3_600_000, 'a number of milliseconds in [0, 3600000]')
  if (cfg.task.kind !== 'modular_addition') errors.push(`task.kind must be "modular_addition" (got ${JSON.stringify(cfg.task.kind)})`)
  num('task.modulus', cfg.task.modulus, (x) => int(x) && x >= 2 && x <= 64, 'an integer in [2, 64]')
  num('init_scale', cfg.init_scale, (x) => x >= 0 && x <= 100, 'a number in [0, 100]')
  if (cfg.exit_code_at !== null) {
    const e = cfg.exit_code_at as unknown
    if (!isRecord(e)) errors.push('exit_code_at must be null or {"step": N, "code": C}')
    else {
      num('exit_code_at.step', e.step, (x) => int(x) && x >= 0, 'a non-negative integer')
      num('exit_code_at.code', e.code, (x) => int(x) && x >= 0 && x <= 255, 'an integer in [0, 255]')
    }
  }
  if (errors.length) throw new Error(`invalid toy-rl config: ${errors.join('; ')}`)
  return cfg
}
