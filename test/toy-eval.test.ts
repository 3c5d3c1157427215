// The toy trainer's eval suite, run as a real process on real checkpoints of a real training
// run: greedy accuracy on the held-out split, settings from the file, atomic result, and the
// refusals (bad arguments: exit 2; unreadable checkpoint: exit 1).
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {build} from 'esbuild'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {inHeldout} from '../examples/toy-rl/eval.js'

let root: string
let runDir: string
const bundled = (name: string) => join(root, `${name}.mjs`)

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'autolab-toyeval-'))
  for (const name of ['train', 'eval']) {
    await build({entryPoints: [`examples/toy-rl/${name}.ts`], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: bundled(name), logLevel: 'warning'})
  }
  // A short real training run with a good learning rate, checkpoints every 100 steps.
  runDir = join(root, 'run')
  mkdirSync(runDir)
  writeFileSync(join(runDir, 'config.json'), JSON.stringify({learning_rate: 0.05, max_steps: 300, save_every: 100, step_time_ms: 0, seed: 3}))
  writeFileSync(join(runDir, 'control.json'), JSON.stringify({version: 1, state: 'run', overrides: {}, save_at: [], observation_cadence: 10, sample_cadence: 10}))
  const trained = spawnSync(process.execPath, [bundled('train')], {
    cwd: runDir, encoding: 'utf8', timeout: 60_000,
    env: {...process.env, AUTOLAB_RUN_ID: 'r1', AUTOLAB_RUN_DIR: runDir, AUTOLAB_CONFIG: join(runDir, 'config.json'), AUTOLAB_CONTROL: join(runDir, 'control.json'), AUTOLAB_RESUME_FROM: ''},
  })
  expect(trained.status, trained.stderr).toBe(0)
}, 90_000)
afterAll(() => rmSync(root, {recursive: true, force: true}))

function evaluate(step: number, settings: Record<string, unknown> = {}, n = 1000) {
  const out = join(root, `result-${step}-${JSON.stringify(settings).length}.json`)
  const examples = `${out}.examples.jsonl`
  const settingsFile = `${out}.settings.json`
  writeFileSync(settingsFile, JSON.stringify(settings))
  const ran = spawnSync(process.execPath, [bundled('eval'), '--checkpoint', join(runDir, 'checkpoints', `step-${step}`), '--n', String(n), '--out', out, '--examples-out', examples, '--settings', settingsFile], {encoding: 'utf8'})
  expect(ran.status, ran.stderr).toBe(0)
  const lines = readFileSync(examples, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
  return {result: JSON.parse(readFileSync(out, 'utf8')), examples: lines}
}

describe('toy eval (heldout)', () => {
  it('scores greedy accuracy on the held-out split; training improves it well above chance', () => {
    const early = evaluate(100)
    const late = evaluate(300)
    const modulus = late.result.metrics.chance > 0 ? Math.round(1 / late.result.metrics.chance) : 0
    let heldout = 0
    for (let a = 0; a < modulus; a++) for (let b = 0; b < modulus; b++) if (inHeldout(a, b)) heldout++
    expect(late.result.metrics).toMatchObject({n: heldout, step: 300})
    expect(late.examples).toHaveLength(heldout)
    expect(late.result.score).toBe(late.examples.filter((e: any) => e.correct).length / heldout)
    for (const e of late.examples) expect(e.correct).toBe(e.output === e.expected)
    expect(late.result.score).toBeGreaterThan(5 * late.result.metrics.chance)
    expect(late.result.score).toBeGreaterThanOrEqual(early.result.score)
    expect(Object.keys(late.result.breakdown).length).toBeGreaterThan(0)
  })

  it('takes its settings from the file: --n bounds the examples, a temperature samples instead of answering greedily', () => {
    expect(evaluate(300, {}, 5).examples).toHaveLength(5)
    const all = evaluate(300, {split: 'all'})
    expect(all.result.metrics.n).toBeGreaterThan(evaluate(300).result.metrics.n)
    const hot = evaluate(300, {temperature: 5, seed: 1})
    expect(hot.result.score).toBeLessThan(all.result.score + 1e-9)
  })

  it('refuses bad arguments (exit 2) and an unreadable checkpoint (exit 1), writing no result', () => {
    const out = join(root, 'refused.json')
    const run = (args: string[]) => spawnSync(process.execPath, [bundled('eval'), ...args], {encoding: 'utf8'})
    expect(run(['--checkpoint']).status).toBe(2)
    expect(run(['--checkpoint', join(runDir, 'checkpoints', 'step-300'), '--out', out, '--n', '-1']).status).toBe(2)
    writeFileSync(join(root, 'bad-settings.json'), JSON.stringify({split: 'test'}))
    expect(run(['--checkpoint', join(runDir, 'checkpoints', 'step-300'), '--out', out, '--settings', join(root, 'bad-settings.json')]).status).toBe(2)
    const missing = run(['--checkpoint', join(root, 'nope'), '--out', out])
    expect(missing.status).toBe(1)
    expect(missing.stderr).toContain('cannot read checkpoint')
    expect(existsSync(out)).toBe(false)
    expect(readdirSync(root).some((f) => f.endsWith('.tmp'))).toBe(false)
  })
})
