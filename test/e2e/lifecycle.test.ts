// Run lifecycle end to end: real toy-trainer processes launched by the built CLI, real files in
// the run directory, real signals. Completed, failed, killed and lost runs.
import {existsSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {DEFAULT_CONFIG} from '../../examples/toy-rl/config.js'
import {expectOk, waitFor} from '../helpers/cli.js'
import {isProcessAliveWithMarker, liveProcessGroupMembers} from '../helpers/processes.js'
import {useSandboxes} from '../helpers/sandbox.js'

const sandbox = useSandboxes()

const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'))
const readLines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))

/** A long run that will not end by itself during a test. */
const LONG = {max_steps: 100_000, step_time_ms: 20, save_every: 0}

describe('launch', () => {
  it('returns at once with a running run, a live process and the merged config', async () => {
    const sb = sandbox()
    const r = await sb.json(['launch', '--recipe', 'toy', '--set', 'learning_rate=0.07', '--set', 'task.modulus=11',
      '--set', 'max_steps=100000', '--set', 'step_time_ms=20', '--reason', 'e2e launch'])
    const run = expectOk(r)
    // "At once": it answers with the run running and its process alive, long before its 100,000
    // steps (timing is the bench's to measure, not a test's: a loaded machine is slow, not wrong).

    expect(run.run_id).toMatch(/^r\d+$/)
    expect(run.status).toBe('running')
    expect(Number.isInteger(run.pid) && run.pid > 1).toBe(true)
    expect(run.config.learning_rate).toBe(0.07)
    // A dotted --set merges into the nested object, keeping its other keys.
    expect(run.config.task).toEqual({...DEFAULT_CONFIG.task, modulus: 11})
    expect(run.config.max_steps).toBe(100_000)

    const runDir = sb.runDir(run.run_id)
    expect(isProcessAliveWithMarker(run.pid, runDir), `pid ${run.pid} should be the wrapper of ${runDir}`).toBe(true)

    // The run directory, per the trainer contract.
    expect(readJson(join(runDir, 'config.json'))).toEqual(run.config)
    expect(readJson(join(runDir, 'control.json'))).toMatchObject({state: 'run'})
    const pidFile = await waitFor(() => existsSync(join(runDir, 'pid')) && readFileSync(join(runDir, 'pid'), 'utf8').trim(), {message: 'the pid file'})
    expect(Number(pidFile)).toBe(run.pid)
    expect(existsSync(join(runDir, 'stdout.log'))).toBe(true)
    expect(existsSync(join(runDir, 'stderr.log'))).toBe(true)
    await waitFor(() => existsSync(join(runDir, 'metrics.jsonl')) && readLines(join(runDir, 'metrics.jsonl')).length >= 2, {message: 'metrics.jsonl lines'})
    expect(existsSync(join(runDir, 'exit_code')), 'no exit_code while running').toBe(false)

    const listed = await sb.runs()
    expect(listed.map((x: any) => x.run_id)).toEqual([run.run_id])
    expect(listed[0]).toMatchObject({run_id: run.run_id, status: 'running', parent_run_id: null, host: 'local'})
  })

  it('concurrent launches get distinct run ids and all run', async () => {
    const sb = sandbox()
    const results = await Promise.all([1, 2, 3].map((seed) => sb.json(['launch', '--recipe', 'toy', '--set', `seed=${seed}`,
      '--set', 'max_steps=100000', '--set', 'step_time_ms=20'])))
    const runs = results.map(expectOk)
    const ids = runs.map((r) => r.run_id)
    expect(new Set(ids).size).toBe(3)
    for (const run of runs) expect(isProcessAliveWithMarker(run.pid, sb.runDir(run.run_id))).toBe(true)
    const listed = await sb.runs(['--status', 'running'])
    expect(listed.map((r: any) => r.run_id).sort()).toEqual([...ids].sort())
  })
})

describe('a run that reaches max_steps', () => {
  it('becomes completed with exit code 0, its checkpoints and files', async () => {
    const sb = sandbox()
    const launched = await sb.launch({max_steps: 20, save_every: 5, step_time_ms: 10})
    const runDir = sb.runDir(launched.run_id)
    expect(await sb.waitForExitCode(launched.run_id)).toBe(0)
    // The next command sees the exit.
    const run = await sb.show(launched.run_id)

    expect(run).toMatchObject({status: 'completed', exit_code: 0, step: 20, error: null})
    expect(isProcessAliveWithMarker(launched.pid, runDir)).toBe(false)
    expect(liveProcessGroupMembers(launched.pid)).toEqual([])

    const steps = run.checkpoints.map((c: any) => c.step).sort((a: number, b: number) => a - b)
    expect(steps).toEqual([5, 10, 15, 20])
    for (const c of run.checkpoints) {
      expect(c.bytes).toBeGreaterThan(0)
      expect(statSync(c.path).isDirectory(), `checkpoint path ${c.path}`).toBe(true)
    }

    for (const file of ['config.json', 'control.json', 'metrics.jsonl', 'events.jsonl', 'stdout.log', 'stderr.log', 'pid', 'exit_code']) {
      expect(existsSync(join(runDir, file)), `${runDir}/${file}`).toBe(true)
    }
    expect(statSync(join(runDir, 'checkpoints', 'step-20')).isDirectory()).toBe(true)
    expect(readFileSync(join(runDir, 'exit_code'), 'utf8').trim()).toBe('0')
    expect(readLines(join(runDir, 'metrics.jsonl')).map((l) => l.step)).toEqual(Array.from({length: 20}, (_, i) => i + 1))
    expect(readLines(join(runDir, 'events.jsonl')).filter((e) => e.type === 'checkpoint').map((e) => e.step)).toEqual([5, 10, 15, 20])
  })
})

describe('a trainer that exits non-zero', () => {
  it('becomes failed with its exit code and the stderr tail as the error', async () => {
    const sb = sandbox()
    const launched = await sb.launch({max_steps: 1000, step_time_ms: 10, exit_code_at: {step: 5, code: 3}})
    expect(await sb.waitForExitCode(launched.run_id)).toBe(3)
    const run = await sb.show(launched.run_id)
    expect(run.status).toBe('failed')
    expect(run.exit_code).toBe(3)
    expect(run.step).toBe(5)
    expect(run.error).toEqual(expect.stringContaining('simulated failure at step 5'))
    expect(readFileSync(join(sb.runDir(run.run_id), 'exit_code'), 'utf8').trim()).toBe('3')
    expect(liveProcessGroupMembers(launched.pid)).toEqual([])
    // Killing an ended run changes nothing.
    const kill = await sb.ok(['kill', run.run_id, '--grace', '0'])
    expect(kill).toMatchObject({changed: false})
    expect((await sb.show(run.run_id)).status).toBe('failed')
  })
})

describe('kill', () => {
  it('stops a training run gracefully, leaves no process, and is idempotent', async () => {
    const sb = sandbox()
    const launched = await sb.launch(LONG)
    const runDir = sb.runDir(launched.run_id)
    await sb.waitForSteps(launched.run_id, 3)

    const r = await sb.json(['kill', launched.run_id, '--grace', '10', '--reason', 'e2e kill'])
    const killed = expectOk(r)
    expect(killed).toMatchObject({run_id: launched.run_id, status: 'killed', changed: true})
    // The toy trainer honours `stop` in control.json: it ends on its own within the grace period.
    expect(killed.stopped_by).toBe('graceful')
    expect(isProcessAliveWithMarker(launched.pid, runDir), 'the wrapper is gone once kill returns').toBe(false)
    expect(liveProcessGroupMembers(launched.pid), 'the whole process group is gone once kill returns').toEqual([])

    const again = await sb.ok(['kill', launched.run_id, '--reason', 'again'])
    expect(again).toMatchObject({run_id: launched.run_id, status: 'killed', changed: false})
    const [listed] = await sb.runs()
    expect(listed).toMatchObject({run_id: launched.run_id, status: 'killed'})
  })

  it('--grace 0 kills at once', async () => {
    const sb = sandbox()
    const launched = await sb.launch(LONG)
    await sb.waitForSteps(launched.run_id, 1)
    const r = await sb.json(['kill', launched.run_id, '--grace', '0'])
    // No grace: signals at once (SIGTERM, then SIGKILL if need be), never a wait for the trainer's own stop.
    const killed = expectOk(r)
    expect(killed).toMatchObject({status: 'killed', changed: true})
    expect(['sigterm', 'sigkill']).toContain(killed.stopped_by)
    expect(liveProcessGroupMembers(launched.pid)).toEqual([])
    expect(isProcessAliveWithMarker(launched.pid, sb.runDir(launched.run_id))).toBe(false)
  })
})

describe('a process group SIGKILLed from outside', () => {
  it('is failed or lost (not running) at the next command', async () => {
    const sb = sandbox()
    const launched = await sb.launch(LONG)
    await sb.waitForSteps(launched.run_id, 2)
    process.kill(-launched.pid, 'SIGKILL')
    await waitFor(() => liveProcessGroupMembers(launched.pid).length === 0, {timeoutMs: 5000, message: 'the process group to die'})

    const [listed] = await sb.runs()
    expect(['failed', 'lost']).toContain(listed.status)
    const run = await sb.show(launched.run_id)
    expect(['failed', 'lost']).toContain(run.status)
    expect(existsSync(join(sb.runDir(run.run_id), 'exit_code'))).toBe(false)
    // Idempotent kill of an ended run.
    expect(await sb.ok(['kill', run.run_id, '--grace', '0'])).toMatchObject({changed: false})
  })
})
