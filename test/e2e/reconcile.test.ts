// A trainer still running for a run the store says is over (a crash between recording the kill and
// signalling it, a store restored from a copy): doctor reports it, and tick — every minute under
// cron — kills it, finding it from the host's process list, not by checking every run ever made.
import Database from 'better-sqlite3'
import {describe, expect, it} from 'vitest'
import {waitFor} from '../helpers/cli.js'
import {useSandboxes} from '../helpers/sandbox.js'

const sandbox = useSandboxes()

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('processes of runs that are over', () => {
  it('doctor reports the live trainer of a killed run, and tick kills it', async () => {
    const sb = sandbox()
    const run = await sb.launch({max_steps: 100_000, step_time_ms: 20, save_every: 0})
    await sb.waitForSteps(run.run_id, 2)
    const db = new Database(sb.store)
    db.prepare("UPDATE runs SET status = 'killed', ended_at = ? WHERE run_id = ?").run(new Date().toISOString(), run.run_id)
    db.close()
    const report = await sb.ok(['doctor'])
    expect(report.live_processes_of_ended_runs).toEqual([{run_id: run.run_id, status: 'killed', pid: run.pid, killed: false}])
    expect(report.stray_processes).toEqual([])
    expect(alive(run.pid)).toBe(true)
    const ticked = await sb.ok(['tick'])
    expect(ticked.killed_orphans).toEqual([run.run_id])
    await waitFor(() => !alive(run.pid), {message: `the trainer group ${run.pid} to be gone`})
    // Nothing left to find.
    expect((await sb.ok(['doctor'])).live_processes_of_ended_runs).toEqual([])
  })

  it('tick stops a trainer no run of this store owns, and leaves a live run alone', async () => {
    const sb = sandbox()
    const kept = await sb.launch({max_steps: 100_000, step_time_ms: 20, save_every: 0})
    const orphan = await sb.launch({max_steps: 100_000, step_time_ms: 20, save_every: 0})
    await sb.waitForSteps(orphan.run_id, 2)
    // The orphan's row is gone (a store restored from an older copy): its directory and process are not.
    const db = new Database(sb.store)
    db.pragma('foreign_keys = OFF')
    for (const table of ['run_configs', 'metric_steps', 'latest_metrics', 'observations', 'ingest_offsets', 'checkpoints', 'events', 'operations']) db.prepare(`DELETE FROM ${table} WHERE run_id = ?`).run(orphan.run_id)
    db.prepare('DELETE FROM runs WHERE run_id = ?').run(orphan.run_id)
    db.close()
    const ticked = await sb.ok(['tick'])
    expect(ticked.killed_orphans).toEqual([])
    await waitFor(() => !alive(orphan.pid), {message: 'the orphan trainer to be stopped'})
    expect(alive(kept.pid)).toBe(true)
    expect((await sb.ok(['log', '--kind', 'stray_process_stopped'])).events).toHaveLength(1)
  })
})
