/**
 * The toy RL trainer: GRPO on a synthetic modular-addition task, speaking the autolab trainer
 * contract through the SDK. See docs/trainer-contract.md ("The toy RL trainer").
 */
import {setTimeout as sleep} from 'node:timers/promises'
import {TrainerRun} from '../../src/sdk/index.js'
import {readState, writeState, type ToyState} from './checkpoint.js'
import {checkHotValue, HOT_PARAMS, resolveConfig, type ToyConfig} from './config.js'
import {greedyAccuracy, grpoStep, initParams, paramCount, Workspace, type Hyper} from './policy.js'
import {Rng} from './rng.js'

const HOT_KEYS = HOT_PARAMS.map((h) => h.key)

/** Exit codes of the toy trainer besides 0 (done / paused / stopped) and `exit_code_at`. */
export const EXIT = {internal: 1, badConfig: 2, badCheckpoint: 3} as const // badConfig also covers a missing AUTOLAB_RUN_DIR

function hyperOf(cfg: ToyConfig): Hyper {
  return {learning_rate: cfg.learning_rate, beta: cfg.beta, temperature: cfg.temperature}
}

/** A fresh state from the config's seed. */
export function freshState(cfg: ToyConfig): ToyState {
  const rng = new Rng(cfg.seed)
  const m = cfg.task.modulus
  const params = initParams(m, cfg.init_scale, rng)
  const n = paramCount(m)
  return {
    step: 0,
    modulus: m,
    seed: cfg.seed,
    rng: rng.state(),
    params,
    ref: params.slice(),
    adam: {m: new Float64Array(n), v: new Float64Array(n), t: 0},
    hyper: hyperOf(cfg),
    configHyper: hyperOf(cfg),
  }
}

/**
 * Load a checkpoint and reconcile it with the (possibly changed) config:
 * - each hot value keeps the checkpoint's effective value (hot overrides survive a resume),
 *   unless the config's value differs from the one recorded in the checkpoint (the config was
 *   changed since, e.g. a fork with --set learning_rate=…): then the config's value applies;
 * - likewise a changed `seed` reseeds the RNG (from seed and step) instead of restoring it.
 */
export function resumeState(dir: string, cfg: ToyConfig): {state: ToyState; rng: Rng} {
  const s = readState(dir)
  if (s.modulus !== cfg.task.modulus) {
    throw new Error(`checkpoint ${dir} is for task.modulus ${s.modulus}, config says ${cfg.task.modulus}`)
  }
  const now = hyperOf(cfg)
  for (const k of HOT_KEYS) {
    if (typeof s.hyper?.[k] !== 'number' || s.configHyper?.[k] !== now[k]) s.hyper[k] = now[k]
  }
  s.configHyper = now
  let rng: Rng
  if (s.seed !== cfg.seed) {
    rng = new Rng(cfg.seed, s.step)
    s.seed = cfg.seed
  } else {
    rng = Rng.fromState(s.rng)
  }
  return {state: s, rng}
}

function coerceNumber(v: unknown): unknown {
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v)
  return v
}

/**
 * Run the trainer with the contract environment `env`. Resolves to the process exit code:
 * 0 when max_steps is reached, on pause (after a checkpoint) and on stop; `exit_code_at.code`
 * when that testing knob fires; 2 for an invalid config or environment; 3 for an unusable checkpoint.
 */
export async function runToyTrainer(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let run: TrainerRun
  let cfg: ToyConfig
  try {
    run = TrainerRun.fromEnv(env)
    cfg = resolveConfig(run.config)
  } catch (err) {
    process.stderr.write(`toy-rl: ${(err as Error).message}\n`)
    return EXIT.badConfig
  }
  let state: ToyState
  let rng: Rng
  if (run.resumeFrom) {
    try {
      ;({state, rng} = resumeState(run.resumeFrom, cfg))
    } catch (err) {
      process.stderr.write(`toy-rl: cannot resume: ${(err as Error).message}\n`)
      return EXIT.badCheckpoint
    }
  } else {
    state = freshState(cfg)
    rng = Rng.fromState(state.rng)
  }
  const m = cfg.task.modulus
  const ws = new Workspace(m, cfg.group_size)
  const save = (step: number) =>
    run.saveCheckpoint(step, (dir) => writeState(dir, {...state, step, rng: rng.state()}))
  const say = (msg: string) => process.stdout.write(`toy-rl[${run.runId}]: ${msg}\n`)

  let step = state.step
  say(run.resumeFrom ? `resuming from ${run.resumeFrom} at step ${step}` : `starting (seed ${cfg.seed})`)
  for (;;) {
    const u = run.poll(step)
    if (u.overrides) {
      const applied: Record<string, unknown> = {}
      const rejected: Record<string, string> = {}
      for (const [k, raw] of Object.entries(u.overrides)) {
        const v = coerceNumber(raw)
        const err = checkHotValue(k, v)
        if (err) rejected[k] = err
        else {
          state.hyper[k as keyof Hyper] = v as number
          applied[k] = v
        }
      }
      run.acknowledge(u.version, step + 1, applied, rejected)
      say(`control v${u.version}: applied ${JSON.stringify(applied)} from step ${step + 1}` + (Object.keys(rejected).length ? `, rejected ${JSON.stringify(rejected)}` : ''))
    }
    if (u.state === 'stop') {
      say(`stop requested (control v${u.version}) at step ${step}`)
      return 0
    }
    if (u.state === 'pause') {
      const dir = save(step)
      run.paused(step)
      say(`paused at step ${step}: checkpoint ${dir}`)
      return 0
    }
    if (u.saveNow) save(step)
    if (step >= cfg.max_steps) {
      const dir = save(step)
      say(`done: ${step} steps, final checkpoint ${dir}`)
      return 0
    }

    step += 1
    const r = grpoStep(state.params, state.ref, state.adam, m, state.hyper, cfg.batch_size, cfg.group_size, rng, ws)
    const accuracy = greedyAccuracy(state.params, m)
    run.log(step, {
      loss: r.loss,
      reward: r.reward,
      accuracy,
      kl: r.kl,
      entropy: r.entropy,
      learning_rate: state.hyper.learning_rate,
    })
    if (run.shouldSample(step)) {
      const e = r.example
      run.sample(step, {prompt: `(${e.a} + ${e.b}) mod ${m} =`, completion: ` ${e.answer}`, reward: e.reward})
    }
    if (step % 50 === 0) {
      say(`step ${step} reward ${r.reward.toFixed(3)} accuracy ${accuracy.toFixed(3)} loss ${r.loss.toPrecision(4)} kl ${r.kl.toPrecision(4)}`)
    }
    if (cfg.save_every > 0 && step % cfg.save_every === 0) save(step)
    if (cfg.exit_code_at && step === cfg.exit_code_at.step) {
      process.stderr.write(`toy-rl: exit_code_at: simulated failure at step ${step}, exiting with code ${cfg.exit_code_at.code}\n`)
      return cfg.exit_code_at.code
    }
    if (cfg.step_time_ms > 0) await sleepWatching(run, cfg.step_time_ms)
  }
}

/** Sleep `ms`, but wake up early (within ~50 ms) when control.json asks for a pause or stop. */
async function sleepWatching(run: TrainerRun, ms: number): Promise<void> {
  const end = performance.now() + ms
  for (;;) {
    const left = end - performance.now()
    if (left <= 0) return
    await sleep(Math.min(left, 50))
    if (run.readControl().state !== 'run') return
  }
}
