// List-valued filters take repeats and commas alike, and a value that does not exist is
// INVALID_ARGUMENT listing the valid ones — never an empty answer. `log --kind fork,modify`
// used to be the one kind "fork,modify", which matched nothing, while `wait --for a,b` split.
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import CampaignCreate from '../../src/commands/campaign/create.js'
import Log from '../../src/commands/log.js'
import Message from '../../src/commands/message.js'
import Note from '../../src/commands/note.js'
import Runs from '../../src/commands/runs.js'
import Sync from '../../src/commands/sync.js'
import Wait from '../../src/commands/wait.js'
import {EVENT_KIND_NAMES, EVENT_KINDS} from '../../src/lib/events.js'
import {RUN_STATES} from '../../src/lib/runs/state-machine.js'
import {runInProcess} from '../helpers/in-process.js'
import {createStore, removeDir, runCommand, tempDir} from './run-command.js'

describe('list-valued filters', () => {
  let dir: string
  let store: string
  beforeEach(async () => {
    dir = tempDir()
    store = await createStore(dir)
  })
  afterEach(() => removeDir(dir))

  const ok = async (command: Parameters<typeof runCommand>[0], ...args: string[]) => {
    const out = await runCommand(command, [...args, '--store', store])
    expect(out.json.ok, out.stdout).toBe(true)
    return out.json.data
  }
  const invalid = async (command: Parameters<typeof runCommand>[0], ...args: string[]) => {
    const out = await runCommand(command, [...args, '--store', store])
    expect(out.json.ok, out.stdout).toBe(false)
    expect(out.json.error.code).toBe('INVALID_ARGUMENT')
    expect(out.exitCode).toBe(2)
    return out.json.error
  }
  const kinds = (events: {kind: string}[]) => events.map((e) => e.kind)

  it('log --kind a,b equals --kind a --kind b, and holds both kinds', async () => {
    await ok(Note, 'first thought')
    await ok(CampaignCreate, 'sweep', '--reason', 'new idea')
    await ok(Message, 'try beta')
    await ok(Note, 'second thought')
    const commas = (await ok(Log, '--kind', 'note,message')).events
    const repeats = (await ok(Log, '--kind', 'note', '--kind', 'message')).events
    expect(kinds(commas)).toEqual(['note', 'message', 'note'])
    expect(commas).toEqual(repeats)
    // Mixed, with spaces after the commas, as a shell user types them.
    expect(kinds((await ok(Log, '--kind', 'note, campaign_create', '--kind', 'message')).events)).toEqual(['note', 'campaign_create', 'message', 'note'])
  })

  it('log --kind with an unknown or empty value is INVALID_ARGUMENT listing every kind', async () => {
    await ok(Note, 'something')
    const error = await invalid(Log, '--kind', 'nonsense')
    expect(error.message).toContain('nonsense')
    expect(error.details).toEqual({flag: 'kind', value: 'nonsense', valid: EVENT_KIND_NAMES})
    for (const kind of ['fork', 'modify', 'run_exited', 'stray_process_stopped', 'campaign_finalize']) expect(error.message).toContain(kind)
    // One bad value among good ones is enough to refuse.
    expect((await invalid(Log, '--kind', 'note,forks')).details.value).toBe('forks')
    expect((await invalid(Log, '--kind', 'note,,message')).message).toContain('empty value')
  })

  it('runs --status takes commas and refuses an unknown status; wait --for and sync --run take commas too', async () => {
    expect((await ok(Runs, '--status', 'running,paused')).runs).toEqual([])
    const error = await invalid(Runs, '--status', 'running,finished')
    expect(error.details).toEqual({flag: 'status', value: 'finished', valid: Object.keys(RUN_STATES)})
    const wait = await invalid(Wait, '--for', 'anomaly,exits', '--timeout', '0')
    expect(wait.details.valid).toEqual(expect.arrayContaining(['anomaly', 'exit', 'message', 'step']))
    expect((await ok(Wait, '--for', 'anomaly,exit', '--for', 'message', '--timeout', '0')).woken_by).toBe('timer')
    // Each run of the list is resolved: the second one does not exist.
    const out = await runCommand(Sync, ['--run', 'r1,r2', '--store', store])
    expect(out.json.error).toMatchObject({code: 'RUN_NOT_FOUND', details: {run: 'r1'}})
  })
})

describe('every event kind is documented', () => {
  it('in log --help and in guide --json', async () => {
    const help = await runInProcess(['log', '--help'])
    expect(help.exitCode).toBe(0)
    const text = help.stdout.replace(/\s+/g, ' ')
    for (const kind of EVENT_KIND_NAMES) expect(text, kind).toContain(`${kind}${EVENT_KINDS[kind].decision ? '*' : ''}: ${EVENT_KINDS[kind].description}`)
    const guide = await runInProcess(['guide', '--json'])
    expect(guide.json.data.event_kinds).toEqual(EVENT_KIND_NAMES.map((kind) => ({kind, ...EVENT_KINDS[kind]})))
    const log = guide.json.data.commands.find((c: {command: string}) => c.command === 'log')
    expect(log.flags.find((f: {name: string}) => f.name === '--kind').options).toEqual(EVENT_KIND_NAMES)
  })
})
