// Commands run in-process against a real store and real trainer processes.
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import History from '../../src/commands/history.js'
import Init from '../../src/commands/init.js'
import Kill from '../../src/commands/kill.js'
import Launch from '../../src/commands/launch.js'
import Log from '../../src/commands/log.js'
import Runs from '../../src/commands/runs.js'
import Show from '../../src/commands/show.js'
import Status from '../../src/commands/status.js'
import {createStore, removeDir, runCommand, tempDir, waitFor, wrapperAlive} from './run-command.js'

describe('commands in-process', () => {
  let dir: string
  let store: string
  const launched: string[] = []
  beforeEach(async () => {
    dir = tempDir()
    store = await createStore(dir)
  })
  afterEach(async () => {
    for (const run of launched.splice(0)) await runCommand(Kill, [run, '--grace', '0', '--store', store])
    removeDir(dir)
  })

  const launch = async (...args: string[]) => {
    const out = await runCommand(Launch, ['--recipe', 'toy', '--store', store, ...args])
    if (out.json.ok) launched.push(out.json.data.run_id)
    return out
  }
  const show = async (run: string) => (await runCommand(Show, [run, '--store', store])).json.data.run

  it('init writes the store and an example project, and keeps an existing project', async () => {
    const project = join(dir, 'autolab.yaml')
    const first = await runCommand(Init, ['--store', store, '--project', project])
    expect(first.json.data).toMatchObject({store, project_file: project, project_written: true, campaign: 'default', hosts: ['local']})
    expect(readFileSync(project, 'utf8')).toContain('toy:')
    writeFileSync(project, '# mine\nrecipes: {}\n')
    expect((await runCommand(Init, ['--store', store, '--project', project])).json.data.project_written).toBe(false)
    expect(readFileSync(project, 'utf8')).toBe('# mine\nrecipes: {}\n')
  })

  it('launch → show/history grow → kill: the process is gone and the log says why', async () => {
    const out = await launch('--set', 'learning_rate=0.05', '--set', 'step_time_ms=10', '--set', 'task.modulus=11', '--name', 'lr05', '--reason', 'baseline', '--actor', 'tester')
    expect(out.exitCode).toBe(0)
    const {run_id: runId, pid, run_dir: runDir, config} = out.json.data
    expect(config.task).toMatchObject({modulus: 11, kind: expect.any(String)}) // deep merge kept the other task key
    expect(wrapperAlive(pid, runDir)).toBe(true)
    const early = await waitFor(async () => ((await show(runId)).step >= 5 ? show(runId) : undefined), 'step 5')
    const later = await waitFor(async () => {
      const run = await show(runId)
      return run.step > early.step + 5 ? run : undefined
    }, 'more steps')
    expect(later.stats.reward.n).toBeGreaterThan(early.stats.reward.n)
    const history = (await runCommand(History, [runId, '--metric', 'reward', '--store', store])).json.data
    expect(history.points.length).toBeGreaterThanOrEqual(later.step - 1)
    expect(Object.keys(history.points[0]).sort()).toEqual(['reward', 'step'])
    expect((await runCommand(History, ['lr05', '--last', '3', '--store', store])).json.data.points).toHaveLength(3)

    const killed = await runCommand(Kill, [runId, '--reason', 'enough', '--actor', 'tester', '--store', store])
    expect(killed.json.data).toMatchObject({run_id: runId, status: 'killed', changed: true, stopped_by: 'graceful'})
    expect(wrapperAlive(pid, runDir)).toBe(false)
    expect((await runCommand(Kill, [runId, '--store', store])).json.data).toMatchObject({status: 'killed', changed: false})

    const log = (await runCommand(Log, ['--run', runId, '--store', store])).json.data.events
    const kinds = log.map((e: {kind: string}) => e.kind)
    expect(kinds[0]).toBe('launch')
    expect(kinds.at(-1)).toBe('kill')
    expect(log[0]).toMatchObject({actor: 'tester', reason: 'baseline', args: {recipe: 'toy', name: 'lr05'}})
    expect(log.at(-1)).toMatchObject({actor: 'tester', reason: 'enough', result: {status: 'killed'}})
  })

  it('a trainer that exits 3 becomes failed with exit code 3 and the stderr tail', async () => {
    const {run_id: runId} = (await launch('--set', 'step_time_ms=1', '--set', 'exit_code_at={"step":5,"code":3}')).json.data
    const run = await waitFor(async () => {
      const r = await show(runId)
      return r.status === 'failed' ? r : undefined
    }, 'failed')
    expect(run.exit_code).toBe(3)
    expect(run.error).toMatch(/\S/)
    const events = (await runCommand(Log, ['--run', runId, '--kind', 'anomaly', '--store', store])).json.data.events
    expect(events[0].args).toMatchObject({type: 'crash', exit_code: 3})
  })

  it('a trainer SIGKILLed from outside is failed or lost at the next command, never running', async () => {
    const {run_id: runId, pid} = (await launch('--set', 'step_time_ms=20')).json.data
    await waitFor(async () => (await show(runId)).step >= 2, 'first steps')
    process.kill(-pid, 'SIGKILL')
    await waitFor(() => !existsSync(`/proc/${pid}/cmdline`) || readFileSync(`/proc/${pid}/cmdline`, 'utf8') === '', 'the group to die')
    const run = await show(runId)
    expect(['failed', 'lost']).toContain(run.status)
  })

  it('a run that reaches max_steps is completed with exit code 0 and its checkpoints', async () => {
    const {run_id: runId} = (await launch('--set', 'max_steps=30', '--set', 'save_every=10', '--set', 'step_time_ms=0')).json.data
    const run = await waitFor(async () => {
      const r = await show(runId)
      return r.status === 'completed' ? r : undefined
    }, 'completed')
    expect(run).toMatchObject({exit_code: 0, step: 30})
    expect(run.checkpoints.map((c: {step: number}) => c.step)).toEqual(expect.arrayContaining([10, 20, 30]))
    for (const c of run.checkpoints) expect(c.bytes).toBeGreaterThan(0)
    expect(run.latest_observation.step).toBe(30)
  })

  it('the same idempotency key returns the first run; other arguments under it are a CONFLICT', async () => {
    const a = await launch('--idempotency-key', 'k1', '--set', 'step_time_ms=50')
    const b = await launch('--idempotency-key', 'k1', '--set', 'step_time_ms=50')
    expect(b.json.data).toMatchObject({run_id: a.json.data.run_id, replayed: true})
    const c = await launch('--idempotency-key', 'k1', '--set', 'step_time_ms=51')
    expect(c.exitCode).toBe(4)
    expect(c.json.error.code).toBe('CONFLICT')
    expect((await runCommand(Runs, ['--store', store])).json.data.runs).toHaveLength(1)
  })

  it('places GPUs: distinct CUDA_VISIBLE_DEVICES per run, NO_CAPACITY when none is free', async () => {
    const project = join(dir, 'gpus.yaml')
    writeFileSync(project, `hosts:\n  local:\n    gpus: [0, 1]\nrecipes:\n  sleeper:\n    gpus: 1\n    # ignores the contract: autolab must stop it with signals\n    command: "echo $CUDA_VISIBLE_DEVICES > {run_dir}/gpus.txt; exec sleep 60"\n`)
    const start = () => runCommand(Launch, ['--recipe', 'sleeper', '--project', project, '--store', store])
    const first = await start()
    const second = await start()
    launched.push(first.json.data.run_id, second.json.data.run_id)
    expect([first.json.data.gpus, second.json.data.gpus]).toEqual([['0'], ['1']])
    const seen = await waitFor(() => {
      const files = [first, second].map((o) => join(o.json.data.run_dir, 'gpus.txt'))
      return files.every((f) => existsSync(f) && readFileSync(f, 'utf8').trim() !== '') ? files.map((f) => readFileSync(f, 'utf8').trim()) : undefined
    }, 'gpus.txt')
    expect(seen).toEqual(['0', '1'])
    const third = await start()
    expect(third.json.error).toMatchObject({code: 'NO_CAPACITY', retryable: true})
    expect(third.exitCode).toBe(5)
    expect(third.json.status.gpus).toEqual({free: 0, total: 2})
    const killed = await runCommand(Kill, [first.json.data.run_id, '--grace', '1', '--store', store])
    expect(killed.json.data).toMatchObject({status: 'killed', stopped_by: 'sigterm'})
    expect((await runCommand(Status, ['--store', store])).json.status.gpus).toEqual({free: 1, total: 2})
  })

  it('reports unknown runs, bad --set and malformed projects with their codes', async () => {
    const missing = await runCommand(Show, ['r404', '--store', store])
    expect([missing.exitCode, missing.json.error.code]).toEqual([3, 'RUN_NOT_FOUND'])
    const badSet = await launch('--set', 'learning_rate')
    expect([badSet.exitCode, badSet.json.error.code]).toEqual([2, 'INVALID_ARGUMENT'])
    const project = join(dir, 'bad.yaml')
    writeFileSync(project, 'recipes:\n  toy:\n    gpus: 1\n')
    const bad = await runCommand(Launch, ['--recipe', 'toy', '--project', project, '--store', store])
    expect([bad.exitCode, bad.json.error.code]).toEqual([2, 'INVALID_CONFIG'])
    expect(bad.json.error.message).toContain('recipes.toy.command')
    const flag = await runCommand(Runs, ['--bogus', '--store', store])
    expect([flag.exitCode, flag.json.error.code]).toEqual([2, 'INVALID_ARGUMENT'])
    expect(flag.stdout).not.toMatch(/\n\s+at /)
  })
})
