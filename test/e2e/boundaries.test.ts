// What a trainer writes is not trusted: bad telemetry lines, checkpoint paths that leave the run
// directory, and a launch wrapper killed on its own must not take autolab down or across a
// boundary. Real toy-trainer processes, real files, the built CLI.
import Database from 'better-sqlite3'
import {appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {expectError, expectOk, waitFor} from '../helpers/cli.js'
import {processesWithEnvironMarker} from '../helpers/processes.js'
import {type Sandbox, useSandboxes} from '../helpers/sandbox.js'

const sandbox = useSandboxes()

const LONG = {max_steps: 100_000, step_time_ms: 20, save_every: 0}

/** Every read and housekeeping command an agent or cron would run, each expected to answer ok. */
async function everyCommandAnswers(sb: Sandbox, runId: string): Promise<void> {
  const commands = [
    ['runs'], ['show', runId], ['status'], ['log', '--run', runId], ['history', runId], ['trend', runId, '--metric', 'reward'],
    ['samples', runId], ['tree'], ['compare', runId, runId, '--metric', 'reward'], ['export'], ['tick'], ['doctor'], ['sync'],
    ['wait', '--for', 'exit', '--timeout', '0'],
  ]
  const results = await Promise.all(commands.map((args) => sb.json(args)))
  for (const r of results) expectOk(r)
}

describe('telemetry a trainer gets wrong', () => {
  it('null in metrics.jsonl and events.jsonl takes nothing down; impossible steps are rejected; show counts them', async () => {
    const sb = sandbox()
    const {run_id: id} = await sb.launch(LONG)
    await sb.waitForSteps(id, 3)
    const dir = sb.runDir(id)
    appendFileSync(join(dir, 'metrics.jsonl'), 'null\n')
    appendFileSync(join(dir, 'events.jsonl'), 'null\n')
    appendFileSync(join(dir, 'metrics.jsonl'), '{"step":-5,"metrics":{"reward":1}}\n{"step":1e300,"metrics":{"reward":1}}\n')
    await everyCommandAnswers(sb, id)
    const run = await sb.show(id)
    expect(run.telemetry_rejected).toEqual({total: 4, by_file: {'metrics.jsonl': 3, 'events.jsonl': 1}})
    expect(run.step).toBeLessThan(100_000)
    // One telemetry_rejected event per run and sync, with the first offending line and where it is.
    const events = (await sb.ok(['log', '--run', id, '--kind', 'telemetry_rejected'])).events
    expect(events.length).toBeGreaterThanOrEqual(1)
    const first = events[0].args.first
    expect(first).toMatchObject({file: expect.stringMatching(/^(metrics|events)\.jsonl$/), line: 'null', reason: expect.stringContaining('null')})
    const bytes = readFileSync(join(dir, first.file))
    expect(bytes.subarray(first.offset, first.offset + 5).toString()).toBe('null\n')
    const killed = await sb.ok(['kill', id, '--grace', '0'])
    expect(killed.status).toBe('killed')
  })

  it('null, garbage and a 10 MB line in each of the three files: every command answers, the run is killable, show counts them', async () => {
    const sb = sandbox()
    const {run_id: id} = await sb.launch({...LONG, save_every: 5})
    await sb.waitForSteps(id, 3)
    const dir = sb.runDir(id)
    const huge = `{"step":7,"metrics":{"reward":"${'x'.repeat(10 << 20)}"}}`
    for (const file of ['metrics.jsonl', 'samples.jsonl', 'events.jsonl']) {
      appendFileSync(join(dir, file), `null\n\u0000\u0007garbage{{{\n${huge}\n`)
    }
    await everyCommandAnswers(sb, id)
    await sb.waitForSteps(id, 12)
    // The trainer keeps going and its lines keep arriving after the bad ones.
    const run = await waitFor(async () => {
      const r = await sb.show(id)
      return r.step >= 12 && r.checkpoints.length > 0 && r
    }, {message: 'steps and checkpoints after the bad lines'})
    expect(run.telemetry_rejected.by_file).toEqual({'metrics.jsonl': 3, 'samples.jsonl': 3, 'events.jsonl': 3})
    expect(run.telemetry_rejected.total).toBe(9)
    expect((await sb.ok(['kill', id, '--grace', '0'])).status).toBe('killed')
    expect(processesWithEnvironMarker(sb.dir)).toEqual([])
  })
})

/** A directory beside the runs holding a file that must not change: `weights.bin`, mode 0644. */
function preciousDirOutside(sb: Sandbox): string {
  const outside = join(sb.dir, 'outside')
  mkdirSync(outside)
  writeFileSync(join(outside, 'weights.bin'), 'precious')
  chmodSync(join(outside, 'weights.bin'), 0o644)
  return outside
}

describe('samples of any shape', () => {
  it('fields besides prompt/completion/reward are kept and returned by samples and export', async () => {
    const sb = sandbox()
    const {run_id: id} = await sb.launch(LONG)
    await sb.waitForSteps(id, 2)
    appendFileSync(join(sb.runDir(id), 'samples.jsonl'), `${JSON.stringify({step: 2, input: '(3 + 5) mod 7 =', prediction: '1', label: '1', correct: true})}\n`)
    const found = (await sb.ok(['samples', id, '-n', '1000'])).samples.find((x: any) => x.fields.input !== undefined)
    expect(found).toEqual({step: 2, prompt: '', completion: '', reward: null, fields: {input: '(3 + 5) mod 7 =', prediction: '1', label: '1', correct: true}})
    const exported = (await sb.ok(['export'])).samples.find((x: any) => x.fields.label === '1')
    expect(exported).toMatchObject({run_id: id, step: 2, fields: {prediction: '1', correct: true}})
  })
})

describe('checkpoint paths', () => {
  it('a checkpoint announced outside the run dir is rejected; nothing outside is linked or changes mode', async () => {
    const sb = sandbox()
    const outside = preciousDirOutside(sb)
    const {run_id: id} = await sb.launch(LONG)
    await sb.waitForSteps(id, 2)
    const dir = sb.runDir(id)
    // A link inside the run dir that leads out, and one checkpoint that is fine but holds such a link.
    symlinkSync(outside, join(dir, 'escape'))
    mkdirSync(join(dir, 'checkpoints', 'step-902'), {recursive: true})
    symlinkSync(join(outside, 'weights.bin'), join(dir, 'checkpoints', 'step-902', 'weights.bin'))
    const hostile = [
      {type: 'checkpoint', step: 900, path: outside},
      {type: 'checkpoint', step: 901, path: '../../../../../../../../etc'},
      {type: 'checkpoint', step: 902, path: 'checkpoints/step-902'},
      {type: 'checkpoint', step: 903, path: 'escape'},
      {type: 'checkpoint', step: 904, path: 'checkpoints/does-not-exist'},
    ]
    appendFileSync(join(dir, 'events.jsonl'), hostile.map((e) => `${JSON.stringify(e)}\n`).join(''))
    const run = await sb.show(id)
    expect(run.checkpoints.filter((c: any) => c.step >= 900)).toEqual([])
    expect(run.telemetry_rejected.by_file['events.jsonl']).toBe(5)
    for (const step of [900, 901, 902, 903]) {
      expectError(await sb.json(['fork', id, '--step', String(step), '--reason', 'hostile']), 'NO_CHECKPOINT', 3)
    }
    expect(statSync(join(outside, 'weights.bin')).mode & 0o777).toBe(0o644)
    expect(readFileSync(join(outside, 'weights.bin'), 'utf8')).toBe('precious')
  })

  it('fork refuses a stored checkpoint row that points outside its run (a store from before the check)', async () => {
    const sb = sandbox()
    const outside = preciousDirOutside(sb)
    const {run_id: id} = await sb.launch({...LONG, max_steps: 5})
    await sb.waitForExitCode(id)
    await sb.ok(['sync'])
    const db = new Database(sb.store)
    db.prepare("INSERT INTO checkpoints (run_id, step, path, bytes, created_at) VALUES (?, 3, ?, 8, '2026-01-01T00:00:00Z')").run(id, outside)
    db.close()
    const error = expectError(await sb.json(['fork', id, '--step', '3', '--reason', 'old row']), 'RUN_NOT_FORKABLE', 4)
    expect(error.message).toContain('outside the run directory')
    expect(statSync(join(outside, 'weights.bin')).mode & 0o777).toBe(0o644)
    // The rolled-back child left nothing behind and the runs list shows no live child.
    expect((await sb.runs()).filter((r: any) => r.parent_run_id === id && !['failed'].includes(r.status))).toEqual([])
  })
})

describe('a run is its process group', () => {
  it('SIGKILL of the launch wrapper alone: the run stays running, and kill stops the trainer', async () => {
    const sb = sandbox()
    const {run_id: id, pid} = await sb.launch(LONG)
    await sb.waitForSteps(id, 2)
    process.kill(pid, 'SIGKILL')
    await waitFor(() => !existsSync(`/proc/${pid}/cmdline`) || readFileSync(`/proc/${pid}/cmdline`, 'utf8') === '', {message: 'the wrapper to die'})
    const before = (await sb.show(id)).step
    await sb.waitForSteps(id, before + 3)
    const run = await sb.show(id)
    expect(run.status).toBe('running')
    expect(run.step).toBeGreaterThan(before)
    expect(processesWithEnvironMarker(sb.dir).length).toBeGreaterThan(0)
    const killed = await sb.ok(['kill', id, '--grace', '2', '--reason', 'orphaned trainer'])
    expect(killed).toMatchObject({status: 'killed', changed: true})
    await waitFor(() => processesWithEnvironMarker(sb.dir).length === 0, {message: 'the trainer to be gone'})
  })

  it('a trainer that outlives its wrapper and then exits is lost (no exit code), not left running', async () => {
    const sb = sandbox()
    const {run_id: id, pid} = await sb.launch({...LONG, max_steps: 150})
    await sb.waitForSteps(id, 2)
    process.kill(pid, 'SIGKILL')
    await waitFor(() => processesWithEnvironMarker(sb.dir).length === 0, {message: 'the trainer to finish', timeoutMs: 20_000})
    const run = await waitFor(async () => {
      const r = await sb.show(id)
      return r.status !== 'running' && r
    }, {message: 'the run to end'})
    expect(run).toMatchObject({status: 'lost', exit_code: null})
  })
})
