// Eval jobs, end to end through the built CLI: a fake trainer that announces checkpoints and
// keeps running, and tiny sh eval commands (written into the sandbox's project), so nothing
// here depends on the toy eval (but for --preempt, which needs a trainer that pauses: the toy).
// Every wait is on a condition, with a bound.
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {parse, stringify} from 'yaml'
import {exampleProjectYaml} from '../../src/lib/project.js'
import {expectError, waitFor} from '../helpers/cli.js'
import {type Sandbox, useSandboxes} from '../helpers/sandbox.js'

const sandbox = useSandboxes()

// The trainer: two checkpoints announced at once, then it runs on (an eval never touches it).
const TRAINER = String.raw`for s in 10 20; do mkdir -p checkpoints/step-$s && echo w > checkpoints/step-$s/weights; printf '{"type":"checkpoint","step":%s,"path":"checkpoints/step-%s"}\n' $s $s >> events.jsonl; done; exec sleep 120`

const PROJECT = `hosts:
  local:
    gpus: [0]
recipes:
  fake:
    command: "cd {run_dir} && sh {project_dir}/trainer.sh"
    gpus: 0
    evals:
      good:
        command: "sh {project_dir}/good.sh {checkpoint} {n} {out} {examples_out} {settings} {run_dir}"
        gpus: 0
        description: "writes a score"
      crash:
        command: "sh {project_dir}/crash.sh"
      badresult:
        command: "sh {project_dir}/bad.sh {out}"
      slow:
        command: "exec sleep 120"
      gpu:
        command: "exec sleep 120"
        gpus: 1
`

const SCRIPTS: Record<string, string> = {
  'trainer.sh': TRAINER,
  // Echo what it was given into the eval dir, then the result and three example lines (one malformed).
  'good.sh': String.raw`printf '%s\n%s\n%s\n' "$1" "$2" "$6" > args.txt
cp "$5" settings.seen
printf '{"score": 0.625, "metrics": {"accuracy": 0.625, "n": %s}, "breakdown": {"by_len": {"short": 1}}}\n' "$2" > "$3"
printf '{"prompt":"1+1","output":"2","expected":"2","correct":true}\n{"prompt":"2+2","output":"5","expected":"4","correct":false,"latency_ms":3}\nnot json\n' > "$4"
`,
  'crash.sh': 'echo "eval blew up: out of cheese" >&2; exit 3\n',
  'bad.sh': 'echo \'{"score": "high"}\' > "$1"\n',
}

function project(sb: Sandbox): void {
  writeFileSync(join(sb.dir, 'autolab.yaml'), PROJECT)
  for (const [name, body] of Object.entries(SCRIPTS)) writeFileSync(join(sb.dir, name), body)
}

/** A running fake run with checkpoints at steps 10 and 20, known to the store. */
async function runWithCheckpoints(sb: Sandbox): Promise<string> {
  project(sb)
  const run = await sb.ok(['launch', '--recipe', 'fake'])
  await waitFor(async () => (await sb.show(run.run_id)).checkpoints.length === 2, {message: 'two checkpoints synced'})
  return run.run_id
}

/** Wait (through the CLI, which syncs) until the eval has ended; returns `eval show`. */
async function ended(sb: Sandbox, evalId: string): Promise<any> {
  return waitFor(async () => {
    const shown = await sb.ok(['eval', 'show', evalId])
    return ['completed', 'failed', 'killed'].includes(shown.status) ? shown : null
  }, {message: `eval ${evalId} ended`})
}

/** A toy run holding the only GPU of the host (local: gpus [0]), with a checkpoint; its recipe has a 1-GPU suite `gpu`. */
async function toyRunHoldingTheGpu(sb: Sandbox): Promise<any> {
  const project = parse(exampleProjectYaml())
  project.hosts = {local: {kind: 'local', gpus: [0]}}
  project.recipes.toy.gpus = 1
  project.recipes.toy.evals.gpu = {...project.recipes.toy.evals.heldout, gpus: 1}
  writeFileSync(join(sb.dir, 'autolab.yaml'), stringify(project))
  const run = await sb.ok(['launch', '--recipe', 'toy', '--set', 'step_time_ms=20', '--set', 'save_every=10', '--set', 'max_steps=100000'])
  expect(run.gpus).toEqual(['0'])
  await waitFor(async () => ((await sb.show(run.run_id)).checkpoints.length > 0 ? true : undefined), {message: 'a checkpoint'})
  return run
}

describe('eval', () => {
  it('returns at once, wakes wait --for eval when it ends, and stores score, settings and examples; the run is unaffected', async () => {
    const sb = sandbox()
    const runId = await runWithCheckpoints(sb)
    const cursor = (await sb.ok(['log', '--limit', '1'])).cursor
    // It returns while the eval runs: `running`, never the eval's outcome (the speed is the bench's to measure).
    const ev = await sb.ok(['eval', runId, '--suite', 'good', '--set', 'temperature=0', '--set', 'split=test', '--n', '7', '--reason', 'is the reward real?'])
    expect(ev).toMatchObject({eval_id: 'e1', run_id: runId, suite: 'good', status: 'running', checkpoint_step: 20, settings: {temperature: 0, split: 'test'}, n: 7, host: 'local', replayed: false})
    expect(ev.pid).toBeGreaterThan(0)

    const woke = await sb.ok(['wait', '--for', 'eval', '--since', String(cursor), '--timeout', '30'])
    expect(woke.woken_by).toBe('eval')
    expect(woke.events[0].result).toMatchObject({eval_id: 'e1', run_id: runId, suite: 'good', status: 'completed', score: 0.625, exit_code: 0})

    const shown = await sb.ok(['eval', 'show', 'e1', '--examples', '5'])
    expect(shown).toMatchObject({status: 'completed', score: 0.625, metrics: {accuracy: 0.625, n: 7}, breakdown: {by_len: {short: 1}}, settings: {temperature: 0, split: 'test'}, examples_total: 2, examples_wrong: 1, exit_code: 0})
    expect(shown.examples.map((e: any) => e.correct)).toEqual([true, false])
    const wrong = await sb.ok(['eval', 'show', 'e1', '--wrong'])
    expect(wrong.examples).toEqual([{idx: 1, prompt: '2+2', output: '5', expected: '4', correct: false, fields: {latency_ms: 3}}])
    // The command got the checkpoint, n, the run dir and the settings file.
    const evalDir = join(sb.runDir(runId), 'evals', 'e1')
    expect(readFileSync(join(evalDir, 'args.txt'), 'utf8').split('\n').slice(0, 3)).toEqual([join(sb.runDir(runId), 'checkpoints', 'step-20'), '7', sb.runDir(runId)])
    expect(JSON.parse(readFileSync(join(evalDir, 'settings.seen'), 'utf8'))).toEqual({temperature: 0, split: 'test'})

    const run = await sb.show(runId)
    expect(run.status).toBe('running')
    expect(run.evals).toEqual([{eval_id: 'e1', suite: 'good', checkpoint_step: 20, status: 'completed', score: 0.625}])
    const listed = await sb.ok(['evals', '--run', runId, '--status', 'completed'])
    expect(listed.evals.map((e: any) => e.eval_id)).toEqual(['e1'])
    // An explicit step, and the decision log keeps the reason.
    const older = await sb.ok(['eval', runId, '--suite', 'good', '--step', '10'])
    expect(older.checkpoint_step).toBe(10)
    expect((await ended(sb, older.eval_id)).status).toBe('completed')
    const log = await sb.ok(['log', '--kind', 'eval_started'])
    expect(log.events[0]).toMatchObject({kind: 'eval_started', run_id: runId, reason: 'is the reward real?'})
  })

  it('compare, tree --metric eval:S and export include the evals', async () => {
    const sb = sandbox()
    const runId = await runWithCheckpoints(sb)
    for (const step of ['20', '10']) {
      const ev = await sb.ok(['eval', runId, '--suite', 'good', '--step', step])
      expect((await ended(sb, ev.eval_id)).status).toBe('completed')
    }
    // The latest by checkpoint step (20: e1), not the latest run (e2, at step 10).
    const other = await sb.ok(['launch', '--recipe', 'fake'])
    const compared = await sb.ok(['compare', runId, other.run_id, '--metric', 'reward'])
    expect(compared.runs.map((r: any) => r.evals)).toEqual([{good: {eval_id: 'e1', checkpoint_step: 20, score: 0.625}}, {}])
    const tree = await sb.ok(['tree', '--metric', 'eval:good'])
    expect(tree).toMatchObject({metric: 'eval:good', roots: [expect.objectContaining({run_id: runId, metric: 0.625}), expect.objectContaining({run_id: other.run_id, metric: null})]})
    const unknown = await sb.json(['tree', '--metric', 'eval:nope'])
    expect(unknown.json.error).toMatchObject({code: 'METRIC_NOT_FOUND', details: {metrics: ['eval:good']}})
    const exported = await sb.ok(['export'])
    expect(exported.evals.map((e: any) => [e.eval_id, e.checkpoint_step, e.score])).toEqual([['e1', 20, 0.625], ['e2', 10, 0.625]])
    expect(exported.eval_examples.map((x: any) => [x.eval_id, x.idx, x.correct])).toEqual([['e1', 0, true], ['e1', 1, false], ['e2', 0, true], ['e2', 1, false]])
  })

  it('--preempt pauses the run holding the GPU, the eval takes it, and the run resumes afterwards', async () => {
    const sb = sandbox()
    const run = await toyRunHoldingTheGpu(sb)
    const refused = await sb.json(['eval', run.run_id, '--suite', 'gpu'])
    expect(refused.json.error.code).toBe('NO_CAPACITY')
    expect((await sb.show(run.run_id)).status).toBe('running')
    const ev = await sb.ok(['eval', run.run_id, '--suite', 'gpu', '--preempt', '--reason', 'score it now'])
    expect(ev).toMatchObject({status: 'running', gpus: ['0'], preempted_run: true})
    expect((await sb.show(run.run_id)).status).toBe('paused')
    expect((await ended(sb, ev.eval_id)).status).toBe('completed')
    expect((await sb.ok(['resume', run.run_id])).status).toBe('running')
    // With room on the host, --preempt pauses nothing.
    const heldout = await sb.ok(['eval', run.run_id, '--suite', 'heldout', '--preempt'])
    expect(heldout.preempted_run).toBe(false)
    expect((await sb.show(run.run_id)).status).toBe('running')
    await ended(sb, heldout.eval_id)
  })

  it('--queue waits for the GPU the run holds; tick starts it once the run is killed; a queued eval can be killed', async () => {
    const sb = sandbox()
    const run = await toyRunHoldingTheGpu(sb)
    const queued = await sb.ok(['eval', run.run_id, '--suite', 'gpu', '--queue'])
    expect(queued).toMatchObject({status: 'queued', gpus: [], pid: null})
    const dropped = await sb.ok(['eval', run.run_id, '--suite', 'gpu', '--queue'])
    const status = await sb.json(['status'])
    expect(status.json.status.pending_evals).toEqual([expect.objectContaining({eval_id: queued.eval_id, status: 'queued'}), expect.objectContaining({eval_id: dropped.eval_id, status: 'queued'})])
    expect((await sb.ok(['eval', 'kill', dropped.eval_id])).status).toBe('killed')
    expect((await sb.ok(['tick'])).still_queued_evals).toEqual([queued.eval_id])
    await sb.ok(['kill', run.run_id, '--grace', '0'])
    const tick = await sb.ok(['tick'])
    expect(tick.started_evals).toEqual([queued.eval_id])
    const done = await ended(sb, queued.eval_id)
    expect(done).toMatchObject({status: 'completed', gpus: ['0']})
    expect((await sb.ok(['log', '--kind', 'eval_queued'])).events.map((e: any) => e.result.eval_id)).toEqual([queued.eval_id, dropped.eval_id])
  })

  it('an eval that exits 3 is failed with its exit code and stderr tail; a bad result.json is failed, not a crash; the run runs on', async () => {
    const sb = sandbox()
    const runId = await runWithCheckpoints(sb)
    const crash = await sb.ok(['eval', runId, '--suite', 'crash'])
    const bad = await sb.ok(['eval', runId, '--suite', 'badresult'])
    const crashed = await ended(sb, crash.eval_id)
    expect(crashed).toMatchObject({status: 'failed', exit_code: 3, score: null})
    expect(crashed.error).toContain('out of cheese')
    const refused = await ended(sb, bad.eval_id)
    expect(refused).toMatchObject({status: 'failed', exit_code: 0, score: null})
    expect(refused.error).toMatch(/result\.json: score must be a finite number/)
    const events = (await sb.ok(['log', '--kind', 'eval'])).events
    expect(events.map((e: any) => e.result.status)).toEqual(['failed', 'failed'])
    expect((await sb.show(runId)).status).toBe('running')
  })

  it('refuses a missing suite or step before anything starts', async () => {
    const sb = sandbox()
    const runId = await runWithCheckpoints(sb)
    const noSuite = expectError(await sb.json(['eval', runId, '--suite', 'nope']), 'SUITE_NOT_FOUND', 3)
    expect(noSuite.details.available).toEqual(['good', 'crash', 'badresult', 'slow', 'gpu'])
    const noStep = expectError(await sb.json(['eval', runId, '--suite', 'good', '--step', '15']), 'NO_CHECKPOINT', 3)
    expect(noStep.details.available_steps).toEqual([10, 20])
    expect((await sb.ok(['evals'])).evals).toEqual([])
    expect(existsSync(join(sb.runDir(runId), 'evals'))).toBe(false)
  })

  it('eval kill stops a running eval; a GPU eval holds its GPU (NO_CAPACITY) until it ends', async () => {
    const sb = sandbox()
    const runId = await runWithCheckpoints(sb)
    const slow = await sb.ok(['eval', runId, '--suite', 'slow'])
    const gpu = await sb.ok(['eval', runId, '--suite', 'gpu'])
    expect(gpu.gpus).toEqual(['0'])
    const status = (await sb.json(['status'])).stdout
    expect(JSON.parse(status).status.pending_evals).toEqual([
      {eval_id: slow.eval_id, run_id: runId, suite: 'slow', status: 'running'},
      {eval_id: gpu.eval_id, run_id: runId, suite: 'gpu', status: 'running'},
    ])
    expectError(await sb.json(['eval', runId, '--suite', 'gpu']), 'NO_CAPACITY', 5)
    expectError(await sb.json(['launch', '--recipe', 'fake', '--gpus', '1']), 'NO_CAPACITY', 5)
    const killed = await sb.ok(['eval', 'kill', slow.eval_id])
    expect(killed).toMatchObject({eval_id: slow.eval_id, status: 'killed', previous_status: 'running', changed: true})
    expect((await sb.ok(['eval', 'kill', slow.eval_id])).changed).toBe(false)
    await sb.ok(['eval', 'kill', gpu.eval_id])
    const again = await sb.ok(['eval', runId, '--suite', 'gpu'])
    expect(again.gpus).toEqual(['0'])
    await sb.ok(['eval', 'kill', again.eval_id])
    expect((await sb.json(['status'])).stdout).toContain('"pending_evals":[]')
    expect((await sb.show(runId)).status).toBe('running')
    expectError(await sb.json(['eval', 'show', 'e99']), 'EVAL_NOT_FOUND', 3)
  })

  for (const step of ['reserve', 'spawn']) {
    it(`a crash of the eval command after ${step} is rolled back by the next command`, async () => {
      const sb = sandbox()
      const runId = await runWithCheckpoints(sb)
      const crashed = await sb.json(['eval', runId, '--suite', 'slow'], {env: {AUTOLAB_FAULT: `eval:${step}`}})
      expect(crashed.exitCode).not.toBe(0)
      const listed = await sb.json(['evals'])
      const doc = JSON.parse(listed.stdout)
      expect(doc.data.evals).toHaveLength(1)
      expect(doc.data.evals[0]).toMatchObject({eval_id: 'e1', status: 'failed'})
      expect(doc.data.evals[0].error).toMatch(/eval rolled back/)
      expect(doc.status.warnings.join('\n')).toMatch(/rolled back an interrupted eval/)
      expect(existsSync(join(sb.runDir(runId), 'evals', 'e1'))).toBe(false)
      expect(doc.status.pending_evals).toEqual([])
      expect((await sb.show(runId)).status).toBe('running')
    })
  }
})
