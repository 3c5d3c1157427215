// Crash recovery: the CLI is killed (SIGKILL, no cleanup) after each step of each journalled
// operation. Whatever command runs next must leave no child process, no child directory, no run
// stuck in a transitional state, and the parent as it was.
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {waitFor} from '../commands/run-command.js'
import {cli, processesOf, useScratchStore} from './cli.js'

const TRANSITIONAL = ['starting', 'pausing', 'killing']

interface Scenario {
  op: string
  steps: string[]
  /** Prepare runs and return the arguments of the command to crash. */
  setup: (store: string) => Promise<{args: string[]; parent: any}>
  /** What must hold after recovery, beyond the common checks. */
  check: (after: any[], parent: any, store: string) => void
}

const launchToy = (store: string, ...sets: string[]) => {
  const out = cli(['launch', '--recipe', 'toy', '--set', 'step_time_ms=20', '--set', 'save_every=5', '--set', 'max_steps=100000', ...sets.flatMap((s) => ['--set', s]), '--store', store])
  expect(out.json?.ok, out.stderr).toBe(true)
  return out.json.data
}
const runsOf = (store: string) => cli(['runs', '--store', store]).json.data.runs as any[]
const byId = (runs: any[], id: string) => runs.find((r) => r.run_id === id)

const SCENARIOS: Scenario[] = [
  {
    op: 'launch', steps: ['reserve', 'create-dir', 'spawn'],
    setup: async (store) => ({args: ['launch', '--recipe', 'toy', '--set', 'step_time_ms=20', '--store', store], parent: null}),
    check: (after) => {
      expect(after).toEqual([expect.objectContaining({run_id: 'r1', status: 'failed'})])
      expect(after[0].error).toContain('rolled back')
      expect(existsSync(after[0].run_dir)).toBe(false)
    },
  },
  {
    op: 'fork', steps: ['reserve', 'create-dir', 'materialize', 'spawn'],
    setup: async (store) => {
      const parent = launchToy(store)
      await waitFor(() => {
        const show = cli(['show', parent.run_id, '--store', store]).json.data.run
        return show.checkpoints.length > 0
      }, 'a parent checkpoint')
      return {args: ['fork', parent.run_id, '--step', '5', '--set', 'learning_rate=0.1', '--store', store], parent}
    },
    check: (after, parent) => {
      const child = after.find((r) => r.parent_run_id === parent.run_id)
      expect(child.status).toBe('failed')
      expect(existsSync(child.run_dir)).toBe(false)
      const p = byId(after, parent.run_id)
      expect(p).toMatchObject({status: 'running', pid: parent.pid, config_id: parent.config_id})
      expect(processesOf(parent.run_dir).length).toBeGreaterThan(0)
    },
  },
  {
    op: 'kill', steps: ['mark-killing', 'stopped'],
    setup: async (store) => {
      const run = launchToy(store)
      return {args: ['kill', run.run_id, '--grace', '2', '--store', store], parent: run}
    },
    check: (after, run) => expect(byId(after, run.run_id).status).toBe('killed'),
  },
  {
    op: 'pause', steps: ['mark-pausing', 'signal'],
    setup: async (store) => {
      const run = launchToy(store)
      return {args: ['pause', run.run_id, '--store', store], parent: run}
    },
    check: (after, run) => expect(byId(after, run.run_id).status).toBe('paused'),
  },
  {
    op: 'resume', steps: ['reserve', 'spawn'],
    setup: async (store) => {
      const run = launchToy(store)
      await waitFor(() => cli(['show', run.run_id, '--store', store]).json.data.run.checkpoints.length > 0, 'a checkpoint')
      expect(cli(['pause', run.run_id, '--store', store]).json.data.status).toBe('paused')
      return {args: ['resume', run.run_id, '--store', store], parent: run}
    },
    check: (after, run) => expect(byId(after, run.run_id).status).toBe('paused'),
  },
  {
    op: 'modify', steps: ['reserve', 'control'],
    setup: async (store) => {
      const run = launchToy(store, 'learning_rate=0.01')
      return {args: ['modify', run.run_id, '--set', 'learning_rate=0.5', '--store', store], parent: run}
    },
    check: (after, run, store) => {
      expect(byId(after, run.run_id)).toMatchObject({status: 'running', config_id: run.config_id})
      const detail = cli(['show', run.run_id, '--store', store]).json.data.run
      expect(detail.config_versions.map((v: {version: number}) => v.version)).toEqual([1])
      const control = JSON.parse(readFileSync(join(run.run_dir, 'control.json'), 'utf8'))
      expect(control.overrides.learning_rate ?? 0.01).toBe(0.01)
    },
  },
]

describe('fault injection at every step of every operation', () => {
  const scratch = useScratchStore('autolab-fault-')

  const cases = SCENARIOS.flatMap((s) => s.steps.map((step) => [`${s.op}:${step}`, s, step] as const))
  it.each(cases)('%s', async (_name, scenario, step) => {
    const {args, parent} = await scenario.setup(scratch.store)
    const crashed = cli(args, {AUTOLAB_FAULT: `${scenario.op}:${step}`})
    expect(crashed.signal).toBe('SIGKILL')
    expect(crashed.json).toBeNull()
    // Any command: recovery runs first.
    const after = runsOf(scratch.store)
    for (const run of after) expect(TRANSITIONAL, `${run.run_id} is ${run.status}`).not.toContain(run.status)
    for (const run of after.filter((r) => r.status !== 'running')) {
      await waitFor(() => processesOf(run.run_dir).length === 0, `no process of ${run.run_id} (${run.status})`)
    }
    scenario.check(after, parent, scratch.store)
    const doctor = cli(['doctor', '--store', scratch.store]).json.data
    expect(doctor).toMatchObject({ok: true, open_operations: [], dirs_without_rows: [], rows_without_dirs: []})
  })
})
