// cadence, config, diff and doctor against a real store and real runs.
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import Cadence from '../../src/commands/cadence.js'
import Config from '../../src/commands/config.js'
import Diff from '../../src/commands/diff.js'
import CampaignCreate from '../../src/commands/campaign/create.js'
import CampaignFinalize from '../../src/commands/campaign/finalize.js'
import Doctor from '../../src/commands/doctor.js'
import Log from '../../src/commands/log.js'
import Note from '../../src/commands/note.js'
import Fork from '../../src/commands/fork.js'
import Kill from '../../src/commands/kill.js'
import Launch from '../../src/commands/launch.js'
import Show from '../../src/commands/show.js'
import Status from '../../src/commands/status.js'
import {openStore} from '../../src/lib/store/open.js'
import {runCommand, waitFor} from '../commands/run-command.js'
import {useScratchStore} from './cli.js'

describe('cadence, config, diff, doctor', () => {
  const scratch = useScratchStore('autolab-inspect-')
  const run = (command: Parameters<typeof runCommand>[0], ...args: string[]) => runCommand(command, [...args, '--store', scratch.store])

  it('cadence clamps to the bounds, returns the applied values and reaches control.json and the trainer', async () => {
    const launched = (await run(Launch, '--recipe', 'toy', '--set', 'step_time_ms=5', '--set', 'max_steps=100000')).json.data
    const out = (await run(Cadence, launched.run_id, '--observe', '0', '--sample', '7')).json.data
    expect(out).toMatchObject({observation_cadence: 1, sample_cadence: 7, clamped: {observation_cadence: 0}})
    const control = JSON.parse(readFileSync(join(launched.run_dir, 'control.json'), 'utf8'))
    expect(control).toMatchObject({observation_cadence: 1, sample_cadence: 7})
    await waitFor(() => {
      try {
        const steps = readFileSync(join(launched.run_dir, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step as number)
        return steps.filter((s) => s % 7 === 0 && s % 50 !== 0).length >= 2
      } catch {
        return false
      }
    }, 'samples at the new cadence')
    expect((await run(Cadence, launched.run_id)).json.error.code).toBe('INVALID_ARGUMENT')
    await run(Kill, launched.run_id, '--grace', '0')
  })

  it('config shows a version by prefix with its runs; diff lists the differing keys', async () => {
    const a = (await run(Launch, '--recipe', 'toy', '--set', 'max_steps=1', '--set', 'learning_rate=0.1')).json.data
    const b = (await run(Launch, '--recipe', 'toy', '--set', 'max_steps=1', '--set', 'task.modulus=11')).json.data
    const config = (await run(Config, a.config_id.slice(0, 8))).json.data
    expect(config).toMatchObject({config_id: a.config_id, config: {learning_rate: 0.1}, runs: [{run_id: a.run_id, version: 1}]})
    expect((await run(Config, 'ffffffffff')).json.error.code).toBe('CONFIG_NOT_FOUND')
    expect((await run(Config, 'xyz')).json.error.code).toBe('INVALID_ARGUMENT')
    const diff = (await run(Diff, a.run_id, b.run_id)).json.data
    expect(diff.same).toBe(false)
    expect(diff.differences).toEqual([
      {key: 'learning_rate', a: 0.1, b: b.config.learning_rate},
      {key: 'task.modulus', a: a.config.task.modulus, b: 11},
    ])
    expect((await run(Diff, a.run_id, a.run_id)).json.data).toMatchObject({same: true, differences: []})
    for (const r of [a, b]) await waitFor(async () => (await run(Show, r.run_id)).json.data.run.status === 'completed', `${r.run_id} completes`)
  })

  it('fork --patch deep-merges a YAML file into the parent config, then --set on top', async () => {
    const parent = (await run(Launch, '--recipe', 'toy', '--set', 'max_steps=20', '--set', 'save_every=10', '--set', 'step_time_ms=0')).json.data
    await waitFor(async () => (await run(Show, parent.run_id)).json.data.run.status === 'completed', 'completed')
    const patch = join(scratch.dir, 'patch.yaml')
    // The same modulus (the checkpoint's shape depends on it): what matters is that `kind` survives.
    writeFileSync(patch, `task:\n  modulus: ${parent.config.task.modulus}\nbeta: 0.2\ntemperature: 0.5\n`)
    const fork = (await runCommand(Fork, [parent.run_id, '--step', '10', '--patch', patch, '--set', 'beta=0.3', '--set', 'max_steps=12', '--store', scratch.store])).json.data
    expect(fork.config.task).toEqual(parent.config.task)
    expect(Object.keys(fork.config.task).length).toBeGreaterThan(1)
    expect(fork.config.temperature).toBe(0.5)
    expect(fork.config.beta).toBe(0.3)
    expect(fork.config.learning_rate).toBe(parent.config.learning_rate)
    const missing = await runCommand(Fork, [parent.run_id, '--step', '10', '--patch', join(scratch.dir, 'nope.yaml'), '--store', scratch.store])
    expect([missing.exitCode, missing.json.error.code]).toEqual([3, 'FILE_NOT_FOUND'])
    await waitFor(async () => (await run(Show, fork.run_id)).json.data.run.status === 'completed', 'the child completes')
  })

  it('note, message and campaign create/finalize honour idempotency keys', async () => {
    const first = (await run(Note, 'plateau at 0.14', '--idempotency-key', 'n1')).json.data
    const again = (await run(Note, 'plateau at 0.14', '--idempotency-key', 'n1')).json.data
    expect(again).toMatchObject({replayed: true, event: {event_id: first.event.event_id}})
    expect((await run(Note, 'something else', '--idempotency-key', 'n1')).json.error.code).toBe('CONFLICT')
    expect((await run(Log, '--kind', 'note')).json.data.events).toHaveLength(1)
    const created = await run(CampaignCreate, 'c1', '--budget-gpu-hours', '2', '--idempotency-key', 'c1')
    const retried = await run(CampaignCreate, 'c1', '--budget-gpu-hours', '2', '--idempotency-key', 'c1')
    expect([created.json.ok, retried.json.ok]).toEqual([true, true])
    expect((await run(CampaignCreate, 'c1', '--budget-gpu-hours', '2')).json.error.code).toBe('CONFLICT')
    const fin = await run(CampaignFinalize, '--summary', 'done', '--idempotency-key', 'f1')
    const finAgain = await run(CampaignFinalize, '--summary', 'done', '--idempotency-key', 'f1')
    expect([fin.json.data.status, finAgain.json.data.status]).toEqual(['finalized', 'finalized'])
    expect((await run(CampaignFinalize, '--summary', 'done')).json.error.code).toBe('CAMPAIGN_FINALIZED')
  })

  it('warns in the status bar and records a budget event once 90% of the budget is spent', async () => {
    await run(CampaignCreate, 'b90', '--budget-gpu-hours', '1')
    const launched = (await run(Launch, '--recipe', 'toy', '--set', 'max_steps=1', '--set', 'step_time_ms=0')).json.data
    await waitFor(async () => (await run(Show, launched.run_id)).json.data.run.status === 'completed', 'completed')
    const before = (await run(Status)).json.status
    expect(before.warnings.join(' ')).not.toContain('GPU budget')
    const db = await openStore(scratch.store)
    db.write(() => db.sqlite.prepare('UPDATE runs SET gpu_seconds = 3300 WHERE run_id = ?').run(launched.run_id))
    db.close()
    const after = (await run(Status)).json.status
    expect(after.budget).toMatchObject({budget_gpu_seconds: 3600, exhausted: false})
    expect(after.warnings.join(' ')).toContain('of the GPU budget spent')
    const events = (await run(Log, '--kind', 'budget')).json.data.events
    expect(events.map((e: {args: {level: number}}) => e.args.level)).toEqual([90])
  })

  it('doctor reports run directories without rows, and is ok otherwise', async () => {
    const launched = (await run(Launch, '--recipe', 'toy', '--set', 'max_steps=3', '--set', 'step_time_ms=0')).json.data
    await waitFor(async () => (await run(Show, launched.run_id)).json.data.run.status === 'completed', 'completed')
    expect((await run(Doctor)).json.data.ok).toBe(true)
    mkdirSync(join(scratch.dir, 'runs', 'r99'), {recursive: true})
    const report = (await run(Doctor)).json.data
    expect(report).toMatchObject({ok: false, dirs_without_rows: [{host: 'local', run_dir: join(scratch.dir, 'runs', 'r99')}]})
  })
})
