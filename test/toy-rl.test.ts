// The toy RL trainer, run as real processes speaking the trainer contract. The trainer is bundled
// here with esbuild so these tests do not depend on the project build.
import {spawn} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {build} from 'esbuild'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {DEFAULT_CONFIG, resolveConfig} from '../examples/toy-rl/config.js'

let root: string
let trainJs: string
let runSeq = 0

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'autolab-toyrl-'))
  trainJs = join(root, 'train.mjs')
  await build({
    entryPoints: ['examples/toy-rl/train.ts'],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: trainJs,
    logLevel: 'warning',
  })
})

afterAll(() => {
  if (root) rmSync(root, {recursive: true, force: true})
})

interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

interface Run {
  dir: string
  exited: Promise<Exit>
  /** Write control.json atomically (temp + rename), as autolab does. */
  control(c: Record<string, unknown>): void
  metrics(): {step: number; time: number; metrics: Record<string, number | string>}[]
  events(): Record<string, unknown>[]
}

function readLines(file: string): Record<string, unknown>[] {
  if (!existsSync(file)) return []
  // Only complete lines: a concurrent writer may be mid-way through the last one.
  const text = readFileSync(file, 'utf8')
  const complete = text.slice(0, text.lastIndexOf('\n') + 1)
  return complete
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}

function startRun(config: Record<string, unknown>, opts: {control?: Record<string, unknown>; resumeFrom?: string} = {}): Run {
  const dir = join(root, `run-${++runSeq}`)
  mkdirSync(dir, {recursive: true})
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config))
  let ctlSeq = 0
  const control = (c: Record<string, unknown>) => {
    const full = {version: 1, state: 'run', overrides: {}, save_at: [], observation_cadence: 10, sample_cadence: 10, ...c}
    const tmp = join(dir, `.control.json.tmp-${ctlSeq++}`)
    writeFileSync(tmp, JSON.stringify(full))
    renameSync(tmp, join(dir, 'control.json'))
  }
  control(opts.control ?? {})
  const child = spawn(process.execPath, [trainJs], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      AUTOLAB_RUN_ID: `run-${runSeq}`,
      AUTOLAB_RUN_DIR: dir,
      AUTOLAB_CONFIG: join(dir, 'config.json'),
      AUTOLAB_CONTROL: join(dir, 'control.json'),
      AUTOLAB_RESUME_FROM: opts.resumeFrom ?? '',
      CUDA_VISIBLE_DEVICES: '',
    },
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<Exit>((resolve) => child.on('close', (code, signal) => resolve({code, signal, stdout, stderr})))
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000) // a hung trainer must not hang the suite
  void exited.then(() => clearTimeout(timer))
  return {
    dir,
    exited,
    control,
    metrics: () => readLines(join(dir, 'metrics.jsonl')) as ReturnType<Run['metrics']>,
    events: () => readLines(join(dir, 'events.jsonl')),
  }
}

/** Poll `cond` every few ms until it returns a truthy value; fail after `timeoutMs`. */
async function waitFor<T>(what: string, cond: () => T | undefined | null | false, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = cond()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

const fast = {step_time_ms: 0, save_every: 0}
const meanLast = (xs: number[], n: number) => xs.slice(-n).reduce((a, b) => a + b, 0) / Math.min(n, xs.length)

describe('toy RL trainer', {timeout: 20_000}, () => {
  it('learns at a good learning rate and plateaus at chance at a tiny one', async () => {
    const good = startRun({...fast, seed: 1, max_steps: 250, learning_rate: 0.05})
    const low = startRun({...fast, seed: 1, max_steps: 250, learning_rate: 1e-5})
    const [eg, el] = await Promise.all([good.exited, low.exited])
    expect(eg.code).toBe(0)
    expect(el.code).toBe(0)
    const g = good.metrics()
    const l = low.metrics()
    expect(g.map((x) => x.step)).toEqual(Array.from({length: 250}, (_, i) => i + 1))
    for (const k of ['loss', 'reward', 'accuracy', 'kl', 'entropy', 'learning_rate']) expect(g[0]!.metrics).toHaveProperty(k)
    const rg = meanLast(g.map((x) => x.metrics.reward as number), 20)
    const rl = meanLast(l.map((x) => x.metrics.reward as number), 20)
    const chance = 1 / DEFAULT_CONFIG.task.modulus
    expect(rl).toBeLessThan(chance + 0.1)
    expect(rg).toBeGreaterThan(0.8)
    expect(g.at(-1)!.metrics.accuracy).toBeGreaterThan(0.9)
    expect(meanLast(g.slice(0, 20).map((x) => x.metrics.reward as number), 20)).toBeLessThan(0.35)
    // A final checkpoint at max_steps, and samples at the control's cadence (10).
    expect(good.events()).toContainEqual({type: 'checkpoint', step: 250, path: 'checkpoints/step-250'})
    const samples = readLines(join(good.dir, 'samples.jsonl'))
    expect(samples.map((s) => s.step)).toEqual(Array.from({length: 25}, (_, i) => (i + 1) * 10))
    expect(samples[0]).toMatchObject({prompt: expect.stringMatching(/^\(\d+ \+ \d+\) mod 7 =$/), completion: expect.any(String)})
  })

  it('diverges to a non-finite loss or KL at an absurd learning rate', async () => {
    const r = startRun({...fast, max_steps: 40, learning_rate: 1e4})
    expect((await r.exited).code).toBe(0)
    const bad = r.metrics().find((x) => typeof x.metrics.loss === 'string' || typeof x.metrics.kl === 'string')
    expect(bad).toBeDefined()
    expect(bad!.step).toBeLessThanOrEqual(20)
    expect(['NaN', 'Infinity', '-Infinity']).toContain(bad!.metrics.kl)
  })

  it('resumes from a checkpoint bit-identically, keeping hot-modified values', async () => {
    // The uninterrupted run gets hot overrides from step 1; the resumed one has none in its control
    // file, so it must take the effective values from the checkpoint.
    const full = startRun({...fast, seed: 7, max_steps: 160, save_every: 40}, {control: {version: 2, overrides: {learning_rate: 0.03, temperature: 0.9}}})
    expect((await full.exited).code).toBe(0)
    expect(full.events()).toContainEqual({type: 'control_ack', version: 2, step: 1, applied: {learning_rate: 0.03, temperature: 0.9}})
    const ckpt = join(full.dir, 'checkpoints', 'step-80')
    expect(existsSync(join(ckpt, 'state.json'))).toBe(true)

    const resumed = startRun({...fast, seed: 7, max_steps: 160, save_every: 40}, {resumeFrom: ckpt})
    // A fork whose config changed a hot value takes the config's value instead.
    const forked = startRun({...fast, seed: 7, max_steps: 90, save_every: 40, learning_rate: 0.01}, {resumeFrom: ckpt})
    const [er, ef] = await Promise.all([resumed.exited, forked.exited])
    expect(er.code).toBe(0)
    expect(ef.code).toBe(0)

    const after = (ms: ReturnType<Run['metrics']>) => ms.filter((x) => x.step > 80).map((x) => JSON.stringify([x.step, x.metrics]))
    const expected = after(full.metrics())
    expect(expected).toHaveLength(80)
    expect(after(resumed.metrics())).toEqual(expected)
    expect(resumed.metrics()[0]!.step).toBe(81)
    expect(forked.metrics()[0]!.metrics.learning_rate).toBe(0.01)
  })

  it('applies a hot learning-rate override, acknowledges it with its step, and pauses with a checkpoint', async () => {
    const r = startRun({step_time_ms: 5, save_every: 0, max_steps: 100000}, {control: {version: 1, save_at: [3]}})
    await waitFor('10 steps', () => r.metrics().length >= 10)
    r.control({version: 2, overrides: {learning_rate: 0.001, 'task.modulus': 9}, save_at: [3]})
    const ack = await waitFor('control_ack', () => r.events().find((e) => e.type === 'control_ack'))
    expect(ack).toMatchObject({version: 2, applied: {learning_rate: 0.001}, rejected: {'task.modulus': expect.any(String)}})
    const s = ack.step as number
    const m = await waitFor(`metrics of step ${s}`, () => {
      const ms = r.metrics()
      return ms.length >= s ? ms : null
    })
    expect(m[s - 2]!.metrics.learning_rate).toBe(DEFAULT_CONFIG.learning_rate)
    expect(m[s - 1]!.step).toBe(s)
    expect(m[s - 1]!.metrics.learning_rate).toBe(0.001)

    r.control({version: 3, state: 'pause', overrides: {learning_rate: 0.001}, save_at: [3]})
    const exit = await r.exited
    expect(exit.code).toBe(0)
    const last = r.metrics().at(-1)!.step
    const ev = r.events()
    expect(ev).toContainEqual({type: 'checkpoint', step: 3, path: 'checkpoints/step-3'})
    expect(ev.at(-2)).toEqual({type: 'checkpoint', step: last, path: `checkpoints/step-${last}`})
    expect(ev.at(-1)).toEqual({type: 'paused', step: last})
    const state = JSON.parse(readFileSync(join(r.dir, 'checkpoints', `step-${last}`, 'state.json'), 'utf8'))
    expect(state).toMatchObject({step: last, hyper: {learning_rate: 0.001}})
    // Version 3 only repeated an override already applied: nothing new to acknowledge.
    expect(ev.filter((e) => e.type === 'control_ack')).toHaveLength(1)
  })

  it('stops promptly with exit 0 on "stop", even in the middle of a long step', async () => {
    const r = startRun({step_time_ms: 10_000, save_every: 0, max_steps: 100000})
    await waitFor('the first step', () => r.metrics().length >= 1)
    const t0 = Date.now()
    r.control({version: 2, state: 'stop'})
    const exit = await r.exited
    expect(exit.code).toBe(0)
    expect(Date.now() - t0).toBeLessThan(2000)
    expect(r.metrics()).toHaveLength(1)
    expect(r.events().filter((e) => e.type === 'checkpoint')).toEqual([])
  })

  it('exits with the code given by exit_code_at, after logging that step', async () => {
    const r = startRun({...fast, max_steps: 100, exit_code_at: {step: 5, code: 3}})
    const exit = await r.exited
    expect(exit.code).toBe(3)
    expect(exit.stderr).toMatch(/exit_code_at.*step 5.*code 3/)
    expect(r.metrics().at(-1)!.step).toBe(5)
  })

  it('rejects an invalid config with exit 2 and a message', async () => {
    const r = startRun({learning_rate: -1, task: {modulus: 1}})
    const exit = await r.exited
    expect(exit.code).toBe(2)
    expect(exit.stderr).toMatch(/learning_rate/)
    expect(exit.stderr).toMatch(/task\.modulus/)
    expect(() => resolveConfig({group_size: 1})).toThrow(/group_size/)
    expect(resolveConfig({task: {modulus: 5}}).task).toEqual({kind: 'modular_addition', modulus: 5})
  })
})
