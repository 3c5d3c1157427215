// Many autolab processes at once on one store: 16 concurrent forks of one parent, and the same
// fork retried concurrently under one idempotency key.
import {beforeEach, describe, expect, it} from 'vitest'
import {waitFor} from '../commands/run-command.js'
import {cli, cliAsync, useScratchStore} from './cli.js'

describe('concurrent forks', () => {
  const scratch = useScratchStore('autolab-conc-')
  let parent: {run_id: string}
  beforeEach(async () => {
    // A finished parent with checkpoints; children resume at step 10 and stop soon after.
    parent = cli(['launch', '--recipe', 'toy', '--set', 'max_steps=12', '--set', 'save_every=10', '--set', 'step_time_ms=0', '--store', scratch.store]).json.data
    await waitFor(() => cli(['show', parent.run_id, '--store', scratch.store]).json.data.run.status === 'completed', 'the parent to complete')
  })

  it('16 concurrent fork processes: 16 distinct children, no SQLITE_BUSY, no error', async () => {
    const results = await Promise.all(Array.from({length: 16}, (_, i) =>
      cliAsync(['fork', parent.run_id, '--step', '10', '--set', `seed=${i}`, '--reason', `fork ${i}`, '--store', scratch.store])))
    for (const r of results) {
      expect(r.json?.ok, `${r.stderr} ${JSON.stringify(r.json?.error)}`).toBe(true)
      expect(r.status).toBe(0)
      expect(r.stderr).not.toMatch(/SQLITE_BUSY|database is locked/)
    }
    const children = results.map((r) => r.json.data.run_id)
    expect(new Set(children).size).toBe(16)
    const runs = cli(['runs', '--store', scratch.store]).json.data.runs
    expect(runs.filter((r: {parent_run_id: string}) => r.parent_run_id === parent.run_id)).toHaveLength(16)
    const forks = cli(['log', '--kind', 'fork', '--store', scratch.store]).json.data.events
    expect(forks).toHaveLength(16)
  })

  it('the same fork retried concurrently under one idempotency key makes one child', async () => {
    const attempt = () => cliAsync(['fork', parent.run_id, '--step', '10', '--set', 'learning_rate=0.1', '--idempotency-key', 'fork-once', '--store', scratch.store])
    const first = await Promise.all(Array.from({length: 8}, attempt))
    // Each attempt either got the child or was told the twin is in flight (retryable).
    for (const r of first) {
      if (!r.json.ok) {
        expect(r.json.error).toMatchObject({code: 'OPERATION_IN_PROGRESS', retryable: true})
        expect(r.status).toBe(5)
      }
    }
    const retried = await Promise.all(first.map((r) => (r.json.ok ? r : attempt())))
    const ids = new Set(retried.map((r) => r.json.data.run_id))
    expect(ids.size).toBe(1)
    const children = cli(['runs', '--store', scratch.store]).json.data.runs.filter((r: {parent_run_id: string}) => r.parent_run_id === parent.run_id)
    expect(children).toHaveLength(1)
    const other = cli(['fork', parent.run_id, '--step', '10', '--set', 'learning_rate=0.2', '--idempotency-key', 'fork-once', '--store', scratch.store])
    expect([other.status, other.json.error.code]).toEqual([4, 'CONFLICT'])
  })
})
