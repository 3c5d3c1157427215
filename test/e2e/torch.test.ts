// The PyTorch example end to end: `init --example torch` writes the torch-mlp recipe, and the
// built CLI runs examples/torch-mlp/train.py (real PyTorch, through the Python SDK) under
// /usr/bin/python3: a hot learning rate reaching the optimizer, pause and resume from a
// checkpoint, kill, forks that reproduce their parent step for step, a fork whose --set
// learning_rate beats the rate stored in the optimizer state, and the held-out eval script.
// Skipped (saying why) where /usr/bin/python3 cannot import torch: .ci/run installs python3-torch.
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {execa} from 'execa'
import {describe, expect, it} from 'vitest'
import {expectOk, REPO_ROOT, waitFor} from '../helpers/cli.js'
import {liveProcessGroupMembers} from '../helpers/processes.js'
import {type Sandbox, useSandboxes} from '../helpers/sandbox.js'

const PYTHON = '/usr/bin/python3'
const probe = spawnSync(PYTHON, ['-c', 'import torch'], {encoding: 'utf8'})
const HAS_TORCH = probe.status === 0
if (!HAS_TORCH) {
  console.warn(`test/e2e/torch.test.ts skipped: \`${PYTHON} -c 'import torch'\` failed (${probe.error?.message ?? probe.stderr.trim().split('\n').at(-1)}); install python3-torch (apt-get install python3-torch) to run it`)
}

/** The eval commands (`eval RUN --suite`, `eval show`) are in the built CLI. */
const HAS_EVAL_COMMAND = (() => {
  try {
    return Object.hasOwn(JSON.parse(readFileSync(join(REPO_ROOT, 'oclif.manifest.json'), 'utf8')).commands ?? {}, 'eval:show')
  } catch {
    return false
  }
})()

const sandbox = useSandboxes()

interface MetricLine {
  step: number
  metrics: {loss: number; accuracy: number; learning_rate: number}
}

/** Complete lines only: the trainer may be writing the last one. */
function readLines<T>(file: string): T[] {
  if (!existsSync(file)) return []
  const text = readFileSync(file, 'utf8')
  return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean).map((l) => JSON.parse(l) as T)
}

const metricLines = (sb: Sandbox, runId: string) => readLines<MetricLine>(join(sb.runDir(runId), 'metrics.jsonl'))
const events = (sb: Sandbox, runId: string) => readLines<Record<string, any>>(join(sb.runDir(runId), 'events.jsonl'))

/** Metrics by step, the later line for a step replacing the earlier one (as the contract says). */
function byStep(sb: Sandbox, runId: string): Map<number, MetricLine['metrics']> {
  return new Map(metricLines(sb, runId).map((l) => [l.step, l.metrics]))
}

/** Wait until the run has logged step `step` (python + torch start in about a second or two). */
async function waitForStep(sb: Sandbox, runId: string, step: number, timeoutMs = 30_000): Promise<void> {
  await waitFor(() => metricLines(sb, runId).some((l) => l.step >= step), {timeoutMs, intervalMs: 50, message: `${runId} to log step ${step}`})
}

async function torchSandbox(): Promise<Sandbox> {
  const sb = sandbox()
  const init = await sb.ok(['init', '--example', 'torch'])
  expect(init).toMatchObject({project_written: true, example: 'torch', recipe: 'torch-mlp'})
  return sb
}

const launchTorch = (sb: Sandbox, config: Record<string, number>) =>
  sb.ok(['launch', '--recipe', 'torch-mlp', ...Object.entries(config).flatMap(([k, v]) => ['--set', `${k}=${v}`]), '--reason', 'e2e torch'])

describe.skipIf(!HAS_TORCH)(`the torch-mlp example (${PYTHON}, PyTorch)`, () => {
  it('init --example torch writes a project with both recipes, the torch one as recipe show lists it', async () => {
    const sb = await torchSandbox()
    const shown = await sb.ok(['recipe', 'show', 'torch-mlp'])
    expect(JSON.stringify(shown)).toContain('/usr/bin/python3')
    expect(JSON.stringify(shown)).toContain('learning_rate')
    await sb.ok(['recipe', 'show', 'toy'])
    expect(readFileSync(join(sb.dir, 'autolab.yaml'), 'utf8')).toContain('torch-mlp/eval.py --checkpoint {checkpoint}')
  })

  it('a hot learning rate reaches the optimizer at the acknowledged step and carries into forks; pause, resume from the checkpoint, kill', async () => {
    const sb = await torchSandbox()
    const run = await launchTorch(sb, {max_steps: 100_000, step_time_ms: 20, save_every: 0, learning_rate: 0.01})
    expect(run.status).toBe('running')
    await waitForStep(sb, run.run_id, 3)

    const modified = await sb.ok(['modify', run.run_id, '--set', 'learning_rate=0.003', '--wait', '--timeout', '30', '--reason', 'lower lr'])
    expect(modified.status).toBe('acknowledged')
    const effective = modified.effective_step as number
    expect(effective).toBeGreaterThan(1)
    await waitForStep(sb, run.run_id, effective + 3)
    const ack = events(sb, run.run_id).find((e) => e.type === 'control_ack')
    expect(ack).toMatchObject({step: effective, applied: {learning_rate: 0.003}})
    for (const [step, m] of byStep(sb, run.run_id)) {
      expect(m.learning_rate, `learning_rate logged at step ${step} (effective from ${effective})`).toBe(step >= effective ? 0.003 : 0.01)
      expect(Number.isFinite(m.loss)).toBe(true)
    }

    // Forks of the modified, running parent (a fresh checkpoint, asked for with save_now): the
    // parent's acknowledged 0.003 carries over; --set learning_rate beats it and the optimizer state.
    const kept = await sb.ok(['fork', run.run_id, '--reason', 'keep the modified lr'])
    const forced = await sb.ok(['fork', run.run_id, '--set', 'learning_rate=0.02', '--reason', 'another lr'])
    for (const [child, lr] of [[kept, 0.003], [forced, 0.02]] as const) {
      expect(child.fork_step).toBeGreaterThanOrEqual(effective)
      await waitForStep(sb, child.run_id, child.fork_step + 1)
      const [first] = metricLines(sb, child.run_id)
      expect(first.step).toBe(child.fork_step + 1)
      expect(first.metrics.learning_rate, `${child.run_id} forked with learning_rate ${lr}`).toBe(lr)
      expect((await sb.ok(['kill', child.run_id, '--grace', '10'])).status).toBe('killed')
    }

    const paused = await sb.ok(['pause', run.run_id, '--timeout', '30'])
    expect(paused.status).toBe('paused')
    const pausedAt = events(sb, run.run_id).find((e) => e.type === 'paused')?.step as number
    expect(pausedAt).toBeGreaterThanOrEqual(effective)
    expect(existsSync(join(sb.runDir(run.run_id), 'checkpoints', `step-${pausedAt}`, 'state.pt'))).toBe(true)
    expect(readFileSync(join(sb.runDir(run.run_id), 'exit_code'), 'utf8').trim()).toBe('0')
    const linesAtPause = metricLines(sb, run.run_id).length

    const resumed = await sb.ok(['resume', run.run_id])
    expect(resumed.status).toBe('running')
    await waitForStep(sb, run.run_id, pausedAt + 3)
    const after = metricLines(sb, run.run_id).slice(linesAtPause)
    expect(after[0].step, 'the resumed process continues after the pause checkpoint').toBe(pausedAt + 1)
    // The modify survives the pause: the checkpoint's hot value (and control.json's override).
    for (const line of after) expect(line.metrics.learning_rate).toBe(0.003)

    const kill = await sb.json(['kill', run.run_id, '--grace', '10', '--reason', 'e2e done'])
    // The trainer honours stop in control.json: it ends on its own, within the grace period.
    expect(expectOk(kill)).toMatchObject({status: 'killed', changed: true, stopped_by: 'graceful'})
    expect(liveProcessGroupMembers(resumed.pid), 'nothing of the run is left running').toEqual([])
  })

  it('a fork without overrides repeats its parent step for step; a fork with --set learning_rate trains at it from its first step; the eval scores a checkpoint', async () => {
    const sb = await torchSandbox()
    const parent = await launchTorch(sb, {max_steps: 40, save_every: 10, step_time_ms: 0})
    expect(await sb.waitForExitCode(parent.run_id, 30_000)).toBe(0)
    expect(await sb.show(parent.run_id)).toMatchObject({status: 'completed', step: 40})
    const parentSteps = byStep(sb, parent.run_id)
    expect([...parentSteps.keys()]).toEqual(Array.from({length: 40}, (_, i) => i + 1))

    const same = await sb.ok(['fork', parent.run_id, '--step', '20', '--reason', 'reproduce'])
    const faster = await sb.ok(['fork', parent.run_id, '--step', '20', '--set', 'learning_rate=0.05', '--reason', 'higher lr'])
    expect(await sb.waitForExitCode(same.run_id, 30_000)).toBe(0)
    expect(await sb.waitForExitCode(faster.run_id, 30_000)).toBe(0)

    const sameSteps = byStep(sb, same.run_id)
    expect([...sameSteps.keys()]).toEqual(Array.from({length: 20}, (_, i) => i + 21))
    for (const [step, m] of sameSteps) expect(m, `fork step ${step}`).toEqual(parentSteps.get(step))

    const [first, second] = metricLines(sb, faster.run_id)
    expect(first.step).toBe(21)
    expect(first.metrics.learning_rate, 'the config\'s learning rate, not the one in the optimizer state').toBe(0.05)
    // Same weights and batch at step 21 (the loss is computed before the update), different after.
    expect(first.metrics.loss).toBe(parentSteps.get(21)!.loss)
    expect(second.metrics.loss).not.toBe(parentSteps.get(22)!.loss)

    const out = join(sb.dir, 'result.json')
    const examplesOut = join(sb.dir, 'examples.jsonl')
    const settings = join(sb.dir, 'settings.json')
    writeFileSync(settings, '{}')
    const evalRun = await execa(PYTHON, [join(REPO_ROOT, 'dist', 'examples', 'torch-mlp', 'eval.py'), '--checkpoint', join(sb.runDir(parent.run_id), 'checkpoints', 'step-40'),
      '--n', '200', '--out', out, '--examples-out', examplesOut, '--settings', settings], {reject: false, env: {AUTOLAB_E2E_SANDBOX: sb.dir}})
    expect(evalRun.exitCode, evalRun.stderr).toBe(0)
    const result = JSON.parse(readFileSync(out, 'utf8'))
    const examples = readLines<{prompt: string; output: string; expected: string; correct: boolean}>(examplesOut)
    expect(examples).toHaveLength(200)
    for (const e of examples) expect(Object.keys(e).sort()).toEqual(['correct', 'expected', 'output', 'prompt'])
    expect(result.score).toBeCloseTo(examples.filter((e) => e.correct).length / 200, 10)
    expect(result.score, 'better than chance (0.25) after 40 steps').toBeGreaterThan(0.4)
    expect(result.metrics).toMatchObject({n: 200, step: 40})
    expect(Object.keys(result.breakdown).length).toBeGreaterThan(1)

    // The recipe's eval suite through autolab (where the CLI has the eval commands): the same
    // checkpoint and n give the same score as the script run by hand.
    if (HAS_EVAL_COMMAND) {
      const started = await sb.ok(['eval', parent.run_id, '--suite', 'heldout', '--n', '200', '--reason', 'e2e torch eval'])
      const shown = await waitFor(async () => {
        const e = await sb.ok(['eval', 'show', started.eval_id])
        return ['completed', 'failed', 'killed'].includes(e.status) ? e : null
      }, {timeoutMs: 30_000, message: `eval ${started.eval_id} ended`})
      expect(shown, JSON.stringify(shown)).toMatchObject({status: 'completed', checkpoint_step: 40, score: result.score})
    }
  })
})
