// doctor: roll back interrupted operations and report what does not add up between the store
// and the hosts — run directories without rows, rows of live runs without directories, live
// processes of runs the store thinks are over (with --fix, those processes are killed).
import type {Ctx} from './context.js'
import {killAndWait} from './runs/process-control.js'
import {recoverAbandonedOperations} from './runs/recovery.js'
import {LIVE_STATES, isTerminal} from './runs/state-machine.js'

export interface DoctorReport {
  rolled_back_operations: string[]
  open_operations: {op_id: string; kind: string; run_id: string | null; pid: number}[]
  dirs_without_rows: {host: string; run_dir: string}[]
  rows_without_dirs: {run_id: string; status: string; run_dir: string}[]
  live_processes_of_ended_runs: {run_id: string; status: string; pid: number; killed: boolean}[]
  ok: boolean
}

export async function doctor(ctx: Ctx, options: {fix: boolean}): Promise<DoctorReport> {
  const {store} = ctx
  const rolledBack = await recoverAbandonedOperations(ctx)
  const openOps = store.all(store.db.selectFrom('operations').select(['op_id', 'kind', 'run_id', 'pid']).where('state', '=', 'started'))
  const runs = store.all(store.db.selectFrom('runs').selectAll())
  const report: DoctorReport = {
    rolled_back_operations: rolledBack, open_operations: openOps, dirs_without_rows: [], rows_without_dirs: [], live_processes_of_ended_runs: [], ok: true,
  }
  const dirsOnHosts = new Set<string>()
  for (const host of store.all(store.db.selectFrom('hosts').selectAll())) {
    const executor = ctx.executor(host.host_id)
    const known = new Set(runs.filter((r) => r.host_id === host.host_id).map((r) => r.run_dir))
    for (const name of await executor.listRunDirs()) {
      const dir = executor.runDir(name)
      dirsOnHosts.add(dir)
      if (!known.has(dir)) report.dirs_without_rows.push({host: host.host_id, run_dir: dir})
    }
  }
  for (const run of runs) {
    // A run that may still be resumed or is alive needs its directory; ended ones may be cleaned up.
    const needsDir = (LIVE_STATES as readonly string[]).includes(run.status) || run.status === 'paused'
    if (needsDir && !dirsOnHosts.has(run.run_dir)) report.rows_without_dirs.push({run_id: run.run_id, status: run.status, run_dir: run.run_dir})
    if (isTerminal(run.status) && run.pid !== null && await ctx.executor(run.host_id).isAlive(run.pid, run.run_dir)) {
      const killed = options.fix ? await killAndWait(ctx, run.host_id, run.pid, run.run_dir) : false
      report.live_processes_of_ended_runs.push({run_id: run.run_id, status: run.status, pid: run.pid, killed})
    }
  }
  report.ok = report.open_operations.length === 0 && report.dirs_without_rows.length === 0 && report.rows_without_dirs.length === 0 &&
    report.live_processes_of_ended_runs.every((p) => p.killed)
  return report
}
