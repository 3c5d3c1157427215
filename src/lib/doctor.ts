// doctor: roll back interrupted operations and report what does not add up between the store
// and the hosts — run directories without rows or of another (or a lost) store, rows of live
// runs without directories, live processes of runs the store thinks are over, and trainer
// processes that belong to no live run of this store (with --fix, those processes are stopped).
import type {Ctx} from './context.js'
import {isHostFault} from './output/errors.js'
import type {RunRow} from './store/schema.js'
import {recordEvent} from './events.js'
import {killAndWait} from './runs/process-control.js'
import {recoverAbandonedOperations} from './runs/recovery.js'
import {LIVE_STATES, isTerminal} from './runs/state-machine.js'
import {runRows} from './runs/queries.js'

export interface StrayProcess {
  host: string
  run_dir: string
  /** The process group (what --fix signals) and its members seen. */
  pgid: number
  pids: number[]
  /** The store its environment names (null: launched before autolab recorded it). */
  store_id: string | null
  /** This store's run of that directory, if any, and its status. */
  run_id: string | null
  status: string | null
  why: string
  stopped: boolean
}

export interface DoctorReport {
  store_id: string
  rolled_back_operations: string[]
  open_operations: {op_id: string; kind: string; run_id: string | null; pid: number}[]
  dirs_without_rows: {host: string; run_dir: string}[]
  /** Run dirs whose marker names another store: a lost store's, or another store sharing the root. */
  dirs_of_other_stores: {host: string; run_dir: string; store_id: string; run_id: string}[]
  rows_without_dirs: {run_id: string; status: string; run_dir: string}[]
  live_processes_of_ended_runs: {run_id: string; status: string; pid: number; killed: boolean}[]
  stray_processes: StrayProcess[]
  /** Hosts that could not be checked (unreachable, or their key refused): their findings are unknown. */
  unreachable_hosts: {host: string; code: string; message: string}[]
  ok: boolean
}

export async function doctor(ctx: Ctx, options: {fix: boolean}): Promise<DoctorReport> {
  const {store} = ctx
  const rolledBack = await recoverAbandonedOperations(ctx)
  const openOps = store.all(store.db.selectFrom('operations').select(['op_id', 'kind', 'run_id', 'pid']).where('state', '=', 'started'))
  const runs = store.all(runRows(store))
  const report: DoctorReport = {
    store_id: store.id, rolled_back_operations: rolledBack, open_operations: openOps, dirs_without_rows: [], dirs_of_other_stores: [],
    rows_without_dirs: [], live_processes_of_ended_runs: [], stray_processes: [], unreachable_hosts: [], ok: true,
  }
  const dirsOnHosts = new Set<string>()
  const unreachable = new Set<string>()
  for (const host of store.all(store.db.selectFrom('hosts').selectAll())) {
    try {
      await checkHostDirs(ctx, host.host_id, runs, report, dirsOnHosts, options.fix)
    } catch (error) {
      if (!isHostFault(error)) throw error
      unreachable.add(host.host_id)
      report.unreachable_hosts.push({host: host.host_id, code: error.code, message: error.message})
    }
  }
  for (const run of runs) {
    if (unreachable.has(run.host_id)) continue
    // A run that may still be resumed or is alive needs its directory; ended ones may be cleaned up.
    const needsDir = (LIVE_STATES as readonly string[]).includes(run.status) || run.status === 'paused'
    if (needsDir && !dirsOnHosts.has(run.run_dir)) report.rows_without_dirs.push({run_id: run.run_id, status: run.status, run_dir: run.run_dir})
    if (isTerminal(run.status) && run.pid !== null && await ctx.executor(run.host_id).isAlive(run.pid, run.run_dir)) {
      const killed = options.fix ? await killAndWait(ctx, run.host_id, run.pid, run.run_dir) : false
      report.live_processes_of_ended_runs.push({run_id: run.run_id, status: run.status, pid: run.pid, killed})
    }
  }
  report.ok = report.open_operations.length === 0 && report.dirs_without_rows.length === 0 && report.dirs_of_other_stores.length === 0 && report.unreachable_hosts.length === 0 &&
    report.rows_without_dirs.length === 0 && report.live_processes_of_ended_runs.every((p) => p.killed) && report.stray_processes.every((p) => p.stopped)
  return report
}

/** One host's run directories (orphans, other stores' dirs) and stray trainer processes, into the report. */
async function checkHostDirs(ctx: Ctx, hostId: string, runs: RunRow[], report: DoctorReport, dirsOnHosts: Set<string>, fix: boolean): Promise<void> {
  const {store} = ctx
  const executor = ctx.executor(hostId)
  const hostRuns = runs.filter((r) => r.host_id === hostId)
  const known = new Set(hostRuns.map((r) => r.run_dir))
  for (const name of await executor.listRunDirs()) {
    const dir = executor.runDir(name)
    dirsOnHosts.add(dir)
    const marker = await executor.readRunDirMarker(dir)
    if (marker && marker.store_id !== store.id) report.dirs_of_other_stores.push({host: hostId, run_dir: dir, store_id: marker.store_id, run_id: marker.run_id})
    else if (!known.has(dir)) report.dirs_without_rows.push({host: hostId, run_dir: dir})
  }
  // An eval's process is its eval dir's (AUTOLAB_RUN_DIR): a live eval's group is not a stray.
  const evals = store.all(store.db.selectFrom('evals').select(['eval_id as run_id', 'dir as run_dir', 'status', 'pid']).where('host_id', '=', hostId).where('status', 'in', ['starting', 'running']))
  report.stray_processes.push(...await strayProcesses(ctx, hostId, [...hostRuns, ...evals], fix))
}

/**
 * Trainer processes under the host's root that are not a live run of this store: their
 * environment names another store (a lost one), or no run of this store has their directory,
 * or the run there has another process group. Runs still starting are left to their operation;
 * ended runs with a live process are reported by the caller (live_processes_of_ended_runs).
 */
async function strayProcesses(ctx: Ctx, hostId: string, hostRuns: {run_id: string; run_dir: string; status: string; pid: number | null}[], fix: boolean): Promise<StrayProcess[]> {
  const {store} = ctx
  const groups = new Map<number, StrayProcess>()
  for (const p of await ctx.executor(hostId).listTrainerProcesses()) {
    const run = hostRuns.find((r) => r.run_dir === p.run_dir)
    let why: string | null = null
    if (p.store_id !== null && p.store_id !== store.id) why = 'its environment names another store (a lost or different one)'
    else if (!run) why = 'no run of this store has its directory'
    else if (run.status === 'starting' || isTerminal(run.status)) why = null
    else if (run.pid !== p.pgid) why = `run ${run.run_id} (${run.status}) has another process group`
    if (!why) continue
    const group = groups.get(p.pgid)
    if (group) group.pids.push(p.pid)
    else groups.set(p.pgid, {host: hostId, run_dir: p.run_dir, pgid: p.pgid, pids: [p.pid], store_id: p.store_id, run_id: run?.run_id ?? null, status: run?.status ?? null, why, stopped: false})
  }
  const strays = [...groups.values()]
  if (fix) {
    for (const stray of strays) {
      stray.stopped = await killAndWait(ctx, hostId, stray.pgid, stray.run_dir)
      store.write(() => recordEvent(store, {kind: 'stray_process_stopped', time: ctx.now(), actor: ctx.actor, runId: null, args: {...stray}}))
    }
  }
  return strays
}
