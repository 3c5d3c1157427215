// fork, pause/resume and hot-modify on real toy-trainer processes, commands run in-process.
import {statSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import Fork from '../../src/commands/fork.js'
import History from '../../src/commands/history.js'
import Kill from '../../src/commands/kill.js'
import Launch from '../../src/commands/launch.js'
import Log from '../../src/commands/log.js'
import Modify from '../../src/commands/modify.js'
import Pause from '../../src/commands/pause.js'
import Resume from '../../src/commands/resume.js'
import Runs from '../../src/commands/runs.js'
import Show from '../../src/commands/show.js'
import Tree from '../../src/commands/tree.js'
import {createStore, removeDir, runCommand, tempDir, waitFor} from '../commands/run-command.js'

describe('fork, pause, resume, modify', () => {
  let dir: string
  let store: string
  beforeEach(async () => {
    dir = tempDir('autolab-ops-')
    store = await createStore(dir)
  })
  afterEach(async () => {
    const runs = (await runCommand(Runs, ['--store', store])).json.data?.runs ?? []
    for (const run of runs) await runCommand(Kill, [run.run_id, '--grace', '0', '--store', store])
    removeDir(dir)
  })

  const cmd = async (command: Parameters<typeof runCommand>[0], ...args: string[]) => {
    const out = await runCommand(command, [...args, '--store', store])
    if (!out.json.ok) throw new Error(`${JSON.stringify(args)}: ${JSON.stringify(out.json.error)}`)
    return out.json.data
  }
  const show = async (run: string) => (await cmd(Show, run)).run
  const until = (run: string, status: string, timeoutMs = 30_000) => waitFor(async () => {
    const r = await show(run)
    return r.status === status ? r : undefined
  }, `${run} ${status}`, timeoutMs)
  const history = async (run: string, metric?: string) => (await cmd(History, run, ...(metric ? ['--metric', metric] : []))).points as Record<string, unknown>[]

  it('a fork at step N without overrides logs exactly the parent\'s metrics after N', async () => {
    const parent = await cmd(Launch, '--recipe', 'toy', '--set', 'max_steps=60', '--set', 'save_every=10', '--set', 'step_time_ms=0', '--set', 'learning_rate=0.05')
    await until(parent.run_id, 'completed')
    const child = await cmd(Fork, parent.run_id, '--step', '20', '--reason', 'determinism')
    expect(child).toMatchObject({parent_run_id: parent.run_id, fork_step: 20, materialized: 'hardlink', status: 'running', config_id: parent.config_id})
    expect(child.checkpoint).toBe(join(dir, 'runs', child.run_id, 'checkpoints', 'step-20'))
    await until(child.run_id, 'completed')
    const after = (points: Record<string, unknown>[]) => points.filter((p) => (p.step as number) > 20)
    const parentAfter = after(await history(parent.run_id))
    const childAfter = after(await history(child.run_id))
    expect(childAfter).toHaveLength(40)
    expect(childAfter).toEqual(parentAfter)
    // Hard links: the child's checkpoint files are the parent's, read-only.
    const file = (root: string) => join(root, 'state.json')
    const source = statSync(file(child.source_checkpoint))
    expect(statSync(file(child.checkpoint)).ino).toBe(source.ino)
    expect(source.mode & 0o222).toBe(0)
    const tree = await cmd(Tree)
    expect(tree.roots[0]).toMatchObject({run_id: parent.run_id, children: [expect.objectContaining({run_id: child.run_id, fork_step: 20})]})
  })

  it('forking a plateaued low-LR run with a good LR: the child climbs while the parent stays flat', async () => {
    const parent = await cmd(Launch, '--recipe', 'toy', '--set', 'learning_rate=0.00001', '--set', 'max_steps=260', '--set', 'save_every=20', '--set', 'step_time_ms=0', '--name', 'low')
    await waitFor(async () => (await show(parent.run_id)).checkpoints.some((c: {step: number}) => c.step >= 40), 'a checkpoint at 40')
    const child = await cmd(Fork, 'low', '--step', '40', '--set', 'learning_rate=0.05', '--copy')
    expect(child.materialized).toBe('copy')
    await until(parent.run_id, 'completed')
    await until(child.run_id, 'completed')
    const meanLast = async (run: string) => {
      const points = (await history(run, 'reward')).slice(-20)
      return points.reduce((sum, p) => sum + (p.reward as number), 0) / points.length
    }
    expect(await meanLast(parent.run_id)).toBeLessThan(0.3)
    expect(await meanLast(child.run_id)).toBeGreaterThan(0.8)
    const diff = (await show(child.run_id)).config
    expect(diff.learning_rate).toBe(0.05)
  })

  it('a running parent is asked for a fresh checkpoint when --step is omitted', async () => {
    const parent = await cmd(Launch, '--recipe', 'toy', '--set', 'save_every=0', '--set', 'step_time_ms=20', '--set', 'max_steps=100000')
    await waitFor(async () => (await show(parent.run_id)).step >= 5, 'step 5')
    const since = (await show(parent.run_id)).step
    const child = await cmd(Fork, parent.run_id, '--pause-parent', '--timeout', '30')
    expect(child.fork_step).toBeGreaterThanOrEqual(since)
    expect(child.parent_status).toBe('paused')
    expect((await show(parent.run_id)).status).toBe('paused')
  })

  it('NO_CHECKPOINT lists the available steps', async () => {
    const parent = await cmd(Launch, '--recipe', 'toy', '--set', 'max_steps=30', '--set', 'save_every=10', '--set', 'step_time_ms=0')
    await until(parent.run_id, 'completed')
    const out = await runCommand(Fork, [parent.run_id, '--step', '15', '--store', store])
    expect(out.exitCode).toBe(3)
    expect(out.json.error).toMatchObject({code: 'NO_CHECKPOINT', details: {available_steps: [10, 20, 30]}})
    expect((await cmd(Fork, parent.run_id, '--step', '15', '--nearest')).fork_step).toBe(10)
  })

  it('pause checkpoints and exits; resume continues the same run and its metrics', async () => {
    const run = await cmd(Launch, '--recipe', 'toy', '--set', 'save_every=0', '--set', 'step_time_ms=10', '--set', 'max_steps=100000')
    await waitFor(async () => (await show(run.run_id)).step >= 10, 'step 10')
    const paused = await cmd(Pause, run.run_id, '--reason', 'make room')
    expect(paused).toMatchObject({status: 'paused', stopped_by: 'graceful', changed: true})
    expect(paused.checkpoint_step).toBeGreaterThanOrEqual(10)
    expect((await cmd(Pause, run.run_id)).changed).toBe(false)
    const resumed = await cmd(Resume, run.run_id)
    expect(resumed).toMatchObject({status: 'running', resumed_from_step: paused.checkpoint_step})
    await waitFor(async () => (await show(run.run_id)).step >= paused.checkpoint_step + 10, 'steps after the resume')
    const steps = (await history(run.run_id, 'reward')).map((p) => p.step as number)
    expect(steps).toEqual(Array.from({length: steps.length}, (_, i) => i + 1)) // continuous, no step twice
    const again = await runCommand(Resume, [run.run_id, '--store', store])
    expect(again.json.error.code).toBe('INVALID_TRANSITION')
  })

  it('modify is acknowledged with its step, and the learning_rate metric changes exactly there', async () => {
    const run = await cmd(Launch, '--recipe', 'toy', '--set', 'learning_rate=0.01', '--set', 'step_time_ms=10', '--set', 'max_steps=100000')
    await waitFor(async () => (await show(run.run_id)).step >= 3, 'step 3')
    const pending = await cmd(Modify, run.run_id, '--set', 'learning_rate=0.02', '--reason', 'faster')
    expect(pending).toMatchObject({status: 'pending', config_version: 2, overrides: {learning_rate: 0.02}})
    const acked = await cmd(Modify, run.run_id, '--set', 'learning_rate=0.03', '--wait', '--timeout', '30')
    expect(acked.status).toBe('acknowledged')
    const detail = await show(run.run_id)
    const v3 = detail.config_versions.find((v: {version: number}) => v.version === 3)
    expect(v3.effective_step).toBe(acked.effective_step)
    expect(detail.config.learning_rate).toBe(0.03)
    // The decision log's modify events carry the step each change took effect at.
    const logged = (await cmd(Log, '--run', run.run_id, '--kind', 'modify')).events
    expect(logged.map((e: any) => e.result.effective_step)).toEqual([expect.any(Number), acked.effective_step])
    expect(logged.every((e: any) => e.result.status === 'acknowledged')).toBe(true)
    await waitFor(async () => (await show(run.run_id)).step > acked.effective_step, 'a step after the change')
    const lr = await history(run.run_id, 'learning_rate')
    const at = (step: number) => lr.find((p) => p.step === step)?.learning_rate
    expect(at(acked.effective_step)).toBe(0.03)
    expect(at(acked.effective_step - 1)).not.toBe(0.03)
    // Repeating the values in effect is acknowledged at once (the trainer acknowledges nothing for it).
    const repeat = await cmd(Modify, run.run_id, '--set', 'learning_rate=0.03', '--wait', '--timeout', '5')
    expect(repeat).toMatchObject({status: 'acknowledged', unchanged: true, effective_step: acked.effective_step, config_version: 3})
    expect((await show(run.run_id)).config_versions).toHaveLength(3)
    const bad = await runCommand(Modify, [run.run_id, '--set', 'group_size=4', '--store', store])
    expect([bad.exitCode, bad.json.error.code]).toEqual([2, 'PARAM_NOT_MODIFIABLE'])
    expect(bad.json.error.suggested_action).toContain('fork')
    const range = await runCommand(Modify, [run.run_id, '--set', 'temperature=0', '--store', store])
    expect(range.json.error).toMatchObject({code: 'PARAM_OUT_OF_RANGE', details: {param: 'temperature', min: 0.01}})
  })

  it('a fork is exact: its base is the config in effect at the fork step, not the parent\'s latest', async () => {
    const parent = await cmd(Launch, '--recipe', 'toy', '--set', 'learning_rate=0.01', '--set', 'save_every=10', '--set', 'step_time_ms=15', '--set', 'max_steps=100000')
    await waitFor(async () => (await show(parent.run_id)).checkpoints.some((c: {step: number}) => c.step === 10), 'the step-10 checkpoint')
    const acked = await cmd(Modify, parent.run_id, '--set', 'learning_rate=0.2', '--wait', '--timeout', '30', '--reason', 'faster')
    expect(acked.effective_step).toBeGreaterThan(10)
    // A checkpoint saved after the change took effect.
    const later = await waitFor(async () => (await show(parent.run_id)).checkpoints.find((c: {step: number}) => c.step >= acked.effective_step), 'a checkpoint after the modify')
    await cmd(Pause, parent.run_id)

    const before = await cmd(Fork, parent.run_id, '--step', '10', '--reason', 'before the modify')
    expect(before).toMatchObject({fork_step: 10, base_config_version: 1})
    expect(before.config.learning_rate).toBe(0.01)
    const after = await cmd(Fork, parent.run_id, '--step', String(later.step), '--reason', 'after the modify')
    expect(after).toMatchObject({fork_step: later.step, base_config_version: 2})
    expect(after.config.learning_rate).toBe(0.2)
    // The children train with the rate the parent had at those steps.
    const lrAt = async (run: string, step: number) => {
      await waitFor(async () => (await show(run)).step >= step, `${run} at step ${step}`)
      return (await history(run, 'learning_rate')).find((p) => p.step === step)?.learning_rate
    }
    expect(await lrAt(before.run_id, 12)).toBe(0.01)
    expect(await lrAt(after.run_id, later.step + 2)).toBe(0.2)
    // The overrides of a fork apply over that exact base.
    const tuned = await cmd(Fork, parent.run_id, '--step', '10', '--set', 'beta=0.02')
    expect(tuned).toMatchObject({base_config_version: 1, config: expect.objectContaining({learning_rate: 0.01, beta: 0.02})})
  })
})
