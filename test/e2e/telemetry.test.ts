// Reading runs while they train: runs, show, history and the decision log, through the built CLI
// against real toy-trainer processes. Also `demo` and the status bar's run counts.
import {describe, expect, it} from 'vitest'
import {expectOk, nonSnakeKeys} from '../helpers/cli.js'
import {useSandboxes} from '../helpers/sandbox.js'

const sandbox = useSandboxes()

const LONG = {max_steps: 100_000, step_time_ms: 20, save_every: 0}
const STAT_KEYS = ['n', 'mean', 'std', 'auc', 'best', 'best_step', 'last', 'last_step']

const stepsOf = (points: any[]) => points.map((p) => p.step)
const range = (from: number, to: number) => Array.from({length: to - from + 1}, (_, i) => from + i)

describe('history', () => {
  it('grows while the run trains; --last and --from/--to narrow it', async () => {
    const sb = sandbox()
    const {run_id: id} = await sb.launch(LONG)

    await sb.waitForSteps(id, 3)
    const first = (await sb.ok(['history', id, '--metric', 'reward'])).points
    expect(first.length).toBeGreaterThanOrEqual(3)
    for (const p of first) {
      expect(Object.keys(p).sort()).toEqual(['reward', 'step'])
      expect(typeof p.reward === 'number' && p.reward >= 0 && p.reward <= 1, `reward ${p.reward}`).toBe(true)
    }
    expect(stepsOf(first)).toEqual(range(1, first.length))

    await sb.waitForSteps(id, first.length + 3)
    const later = (await sb.ok(['history', id, '--metric', 'reward'])).points
    expect(later.length, 'history grows while the run trains').toBeGreaterThanOrEqual(first.length + 3)
    expect(later.slice(0, first.length), 'points already read do not change').toEqual(first)
    expect(stepsOf(later)).toEqual(range(1, later.length))

    const last3 = (await sb.ok(['history', id, '--metric', 'reward', '--last', '3'])).points
    expect(last3).toHaveLength(3)
    expect(stepsOf(last3)).toEqual(range(last3[0].step, last3[0].step + 2))
    expect(last3[2].step).toBeGreaterThanOrEqual(later.at(-1).step)

    const window = (await sb.ok(['history', id, '--metric', 'reward', '--from', '2', '--to', '4'])).points
    expect(window).toEqual(later.filter((p: any) => p.step >= 2 && p.step <= 4))
    expect(stepsOf(window)).toEqual([2, 3, 4])
  })
})

describe('show', () => {
  it('for a person at 80 columns: no line longer (but for one unbreakable token), no config token cut, config versions listed', async () => {
    const sb = sandbox()
    const {run_id: id, config} = await sb.launch({...LONG, max_steps: 12, save_every: 2, step_time_ms: 0, learning_rate: 0.06})
    await sb.waitForExitCode(id)
    const text = (await sb.run(['show', id])).stdout
    const lines = text.split('\n')
    for (const line of lines) expect(line.length <= 80 || !line.trim().includes(' '), `too long: ${line}`).toBe(true)
    const words = new Set(text.split(/\s+/))
    for (const [key, value] of Object.entries(config)) {
      if (typeof value !== 'object' || value === null) expect(words.has(`${key}=${JSON.stringify(value)}`), `${key} whole`).toBe(true)
    }
    expect(text).toMatch(/config versions: v1 [0-9a-f]{8} from step 0/)
  })


  it('describes a running run: fields, config, stats per metric, latest observation', async () => {
    const sb = sandbox()
    const launched = await sb.launch({...LONG, learning_rate: 0.06})
    await sb.waitForSteps(launched.run_id, 3)
    const run = await sb.show(launched.run_id)
    expect(run.step).toBeGreaterThanOrEqual(3)
    expect(run.stats.reward.n).toBeGreaterThanOrEqual(3)
    expect(run).toMatchObject({run_id: launched.run_id, status: 'running', parent_run_id: null, host: 'local', exit_code: null, error: null})
    expect(run.config).toEqual(launched.config)
    expect(Array.isArray(run.checkpoints)).toBe(true)
    expect(run).toHaveProperty('latest_observation')
    for (const metric of ['reward', 'loss']) {
      const s = run.stats[metric]
      expect(s, `stats.${metric}`).toBeTypeOf('object')
      for (const key of STAT_KEYS) expect(s, `stats.${metric}.${key}`).toHaveProperty(key)
      expect(s.last_step).toBeLessThanOrEqual(run.step)
      expect(s.best_step).toBeLessThanOrEqual(s.last_step)
    }
    expect(nonSnakeKeys(run)).toEqual([])
  })

  it('stats agree with the history of a completed run; checkpoints have step, path, bytes', async () => {
    const sb = sandbox()
    const launched = await sb.launch({max_steps: 30, save_every: 10, step_time_ms: 5})
    expect(await sb.waitForExitCode(launched.run_id)).toBe(0)
    const run = await sb.show(launched.run_id)
    expect(run.status).toBe('completed')
    const {points} = await sb.ok(['history', run.run_id, '--metric', 'reward'])
    expect(stepsOf(points)).toEqual(range(1, 30))

    const values = points.map((p: any) => p.reward as number)
    const s = run.stats.reward
    expect(s.n).toBe(30)
    expect(s.last_step).toBe(30)
    expect(s.last).toBe(values.at(-1))
    expect(s.mean).toBeCloseTo(values.reduce((a: number, b: number) => a + b, 0) / values.length, 9)
    expect(s.std).toBeGreaterThanOrEqual(0)
    expect(typeof s.auc).toBe('number')
    expect(values).toContain(s.best)
    expect(points.find((p: any) => p.step === s.best_step)?.reward).toBe(s.best)

    expect(run.checkpoints.map((c: any) => c.step).sort((a: number, b: number) => a - b)).toEqual([10, 20, 30])
    for (const c of run.checkpoints) expect(c).toMatchObject({step: expect.any(Number), path: expect.any(String), bytes: expect.any(Number)})
    expect(run.latest_observation).toBeTypeOf('object')
    expect(run.latest_observation).not.toBeNull()
  })
})

describe('runs', () => {
  it('lists runs with their fields, filters by --status, and prints a table for humans', async () => {
    const sb = sandbox()
    const done = await sb.launch({max_steps: 5, step_time_ms: 5})
    await sb.waitForExitCode(done.run_id)
    const live = await sb.launch(LONG)

    const all = await sb.runs()
    expect(nonSnakeKeys(all)).toEqual([])
    expect(all.map((r: any) => r.run_id)).toEqual([done.run_id, live.run_id])
    for (const r of all) {
      for (const key of ['run_id', 'status', 'step', 'parent_run_id', 'host']) expect(r, key).toHaveProperty(key)
    }
    expect(all[0]).toMatchObject({status: 'completed', step: 5, parent_run_id: null, host: 'local'})
    expect(all[1]).toMatchObject({status: 'running', parent_run_id: null, host: 'local'})

    expect((await sb.runs(['--status', 'running'])).map((r: any) => r.run_id)).toEqual([live.run_id])
    expect((await sb.runs(['--status', 'completed'])).map((r: any) => r.run_id)).toEqual([done.run_id])
    expect((await sb.runs(['--status', 'paused']))).toEqual([])

    const status = await sb.json(['status'])
    expectOk(status)
    expect(status.json.status.runs.running, 'the status bar counts the running run').toBe(1)

    const human = await sb.run(['runs'])
    expect(human.exitCode).toBe(0)
    expect(human.json).toBeUndefined()
    const header = human.stdout.split('\n').find((l) => /\bRUN\b/.test(l) && /\bSTATUS\b/.test(l))
    expect(header, `a table header in:\n${human.stdout}`).toBeDefined()
    expect(human.stdout).toMatch(new RegExp(`^\\s*${done.run_id}\\b.*completed`, 'm'))
    expect(human.stdout).toMatch(new RegExp(`^\\s*${live.run_id}\\b.*running`, 'm'))
  })
})

describe('log', () => {
  it('records every mutation with actor and reason, newest last, and reads by cursor', async () => {
    const sb = sandbox()
    const first = await sb.launch(LONG, ['--actor', 'alice', '--reason', 'baseline'])
    const kill = await sb.ok(['kill', first.run_id, '--grace', '0', '--reason', 'enough'], {env: {AUTOLAB_ACTOR: 'bob'}})
    expect(kill.changed).toBe(true)

    const log = await sb.ok(['log'])
    expect(Array.isArray(log.events)).toBe(true)
    expect(typeof log.cursor).toBe('number')
    const ids = log.events.map((e: any) => e.event_id)
    expect(ids, 'newest last').toEqual([...ids].sort((a: number, b: number) => a - b))
    expect(new Set(ids).size).toBe(ids.length)
    for (const e of log.events) {
      for (const key of ['event_id', 'time', 'kind', 'actor', 'run_id', 'reason', 'args', 'result']) expect(e, `event.${key}`).toHaveProperty(key)
      expect(Number.isNaN(Date.parse(e.time))).toBe(false)
    }
    expect(log.cursor).toBe(ids.at(-1))

    const launchEvent = log.events.find((e: any) => e.kind === 'launch')
    expect(launchEvent).toMatchObject({actor: 'alice', reason: 'baseline', run_id: first.run_id})
    const killEvent = log.events.find((e: any) => e.kind === 'kill')
    expect(killEvent).toMatchObject({actor: 'bob', reason: 'enough', run_id: first.run_id})
    expect(killEvent.event_id).toBeGreaterThan(launchEvent.event_id)

    expect(nonSnakeKeys(log)).toEqual([])

    // Nothing already read comes back after the cursor; what happens next does.
    const quiet = await sb.ok(['log', '--since', String(log.cursor)])
    for (const e of quiet.events) expect(e.event_id).toBeGreaterThan(log.cursor)
    expect(quiet.events.filter((e: any) => e.kind === 'launch' || e.kind === 'kill')).toEqual([])
    expect(quiet.cursor).toBeGreaterThanOrEqual(log.cursor)
    const second = await sb.launch(LONG, ['--reason', 'second'], {env: {AUTOLAB_ACTOR: 'carol'}})
    const since = await sb.ok(['log', '--since', String(log.cursor)])
    expect(since.events.length).toBeGreaterThan(0)
    for (const e of since.events) expect(e.event_id).toBeGreaterThan(log.cursor)
    expect(since.events.filter((e: any) => e.kind === 'launch'), 'only the launch after the cursor').toHaveLength(1)
    expect(since.events.find((e: any) => e.kind === 'launch')).toMatchObject({actor: 'carol', reason: 'second', run_id: second.run_id})
    expect(since.cursor).toBeGreaterThan(log.cursor)
  })
})

describe('demo', () => {
  it('trains two runs to completion and summarises them', async () => {
    const sb = sandbox()
    const r = await sb.json(['demo', '--steps', '30', '--step-time-ms', '5'], {timeoutMs: 45_000})
    const data = expectOk(r)
    expect(data.runs).toHaveLength(2)
    for (const run of data.runs) expect(run.status).toBe('completed')
    expect(typeof data.summary).toBe('string')
    expect(data.summary.length).toBeGreaterThan(0)
    const listed = await sb.runs()
    expect(listed.map((x: any) => x.status)).toEqual(['completed', 'completed'])
  })
})
