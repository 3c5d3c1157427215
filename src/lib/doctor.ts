// doctor: roll back interrupted operations and report what does not add up between the store
// and the hosts — run directories without rows or of another (or a lost) store, rows of live
// runs without directories, live processes of runs the store thinks are over, and trainer
// processes that belong to no live run of this store (with --fix, those processes are stopped).
import {basename, dirname} from 'node:path'
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
      await checkHostDirs(ctx, host.host_id, runs, report, dirsOnHosts)
      await checkHostProcesses(ctx, host.host_id, report, options.fix)
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
  }
  report.ok = report.open_operations.length === 0 && report.dirs_without_rows.length === 0 && report.dirs_of_other_stores.length === 0 && report.unreachable_hosts.length === 0 &&
    report.rows_without_dirs.length === 0 && report.live_processes_of_ended_runs.every((p) => p.killed) && report.stray_processes.every((p) => p.stopped)
  return report
}

/**
 * What tick reconciles every minute, at a cost that follows the processes running, not the
 * store's size: interrupted operations rolled back, and on every host the trainer processes of
 * runs that are over killed and strays stopped. (doctor also audits every run directory against
 * every row; that reads the whole store and each host's directories, and stays doctor's.)
 */
export async function reconcileProcesses(ctx: Ctx): Promise<Pick<DoctorReport, 'rolled_back_operations' | 'live_processes_of_ended_runs' | 'stray_processes' | 'unreachable_hosts'>> {
  const report: Pick<DoctorReport, 'rolled_back_operations' | 'live_processes_of_ended_runs' | 'stray_processes' | 'unreachable_hosts'> = {
    rolled_back_operations: await recoverAbandonedOperations(ctx), live_processes_of_ended_runs: [], stray_processes: [], unreachable_hosts: [],
  }
  for (const host of ctx.store.all(ctx.store.db.selectFrom('hosts').select('host_id'))) {
    try {
      await checkHostProcesses(ctx, host.host_id, report, true)
    } catch (error) {
      if (!isHostFault(error)) throw error
      report.unreachable_hosts.push({host: host.host_id, code: error.code, message: error.message})
    }
  }
  return report
}

/** One host's run directories (orphans, other stores' dirs), into the report. */
async function checkHostDirs(ctx: Ctx, hostId: string, runs: RunRow[], report: DoctorReport, dirsOnHosts: Set<string>): Promise<void> {
  const {store} = ctx
  const executor = ctx.executor(hostId)
  const known = new Set(runs.filter((r) => r.host_id === hostId).map((r) => r.run_dir))
  for (const name of await executor.listRunDirs()) {
    const dir = executor.runDir(name)
    dirsOnHosts.add(dir)
    const marker = await executor.readRunDirMarker(dir)
    if (marker && marker.store_id !== store.id) report.dirs_of_other_stores.push({host: hostId, run_dir: dir, store_id: marker.store_id, run_id: marker.run_id})
    else if (!known.has(dir)) report.dirs_without_rows.push({host: hostId, run_dir: dir})
  }
}

/** The live run or eval of this store whose directory a trainer process runs in, found by the id its directory is named after. */
interface DirOwner {
  run_id: string
  run_dir: string
  status: string
  pid: number | null
}

/**
 * The owner of a process's directory: a run dir is <root>/runs/<run id>, an eval's
 * <run dir>/evals/<eval id> (an eval counts only while live: an ended eval's process is a stray).
 * Looked up by id, so the cost follows the processes, not the runs in the store.
 */
function ownerOf(ctx: Ctx, hostId: string, runDir: string): DirOwner | null {
  const {store} = ctx
  const id = basename(runDir)
  if (basename(dirname(runDir)) === 'evals') {
    const row = store.first(store.db.selectFrom('evals').select(['eval_id as run_id', 'dir as run_dir', 'status', 'pid'])
      .where('eval_id', '=', id).where('host_id', '=', hostId).where('status', 'in', ['starting', 'running']))
    if (row && row.run_dir === runDir) return row
  }
  const run = store.first(store.db.selectFrom('runs').select(['run_id', 'run_dir', 'status', 'pid']).where('run_id', '=', id).where('host_id', '=', hostId))
  return run && run.run_dir === runDir ? run : null
}

/**
 * One host's trainer processes (one listing per host) that the store does not expect: those of
 * runs that are over (killed with fix), and strays — their environment names another store, no
 * run or live eval of this store has their directory, or the run there has another process
 * group (stopped with fix). Runs still starting are left to their operation.
 */
async function checkHostProcesses(ctx: Ctx, hostId: string, report: Pick<DoctorReport, 'live_processes_of_ended_runs' | 'stray_processes'>, fix: boolean): Promise<void> {
  const {store} = ctx
  const groups = new Map<number, StrayProcess>()
  const ended = new Map<string, {owner: DirOwner; pgid: number; run_dir: string}>()
  for (const p of await ctx.executor(hostId).listTrainerProcesses()) {
    const owner = p.store_id !== null && p.store_id !== store.id ? null : ownerOf(ctx, hostId, p.run_dir)
    let why: string | null = null
    if (p.store_id !== null && p.store_id !== store.id) why = 'its environment names another store (a lost or different one)'
    else if (!owner) why = 'no run of this store has its directory'
    else if (isTerminal(owner.status)) {
      if (!ended.has(owner.run_id)) ended.set(owner.run_id, {owner, pgid: p.pgid, run_dir: p.run_dir})
      continue
    } else if (owner.status === 'starting') why = null
    else if (owner.pid !== p.pgid) why = `run ${owner.run_id} (${owner.status}) has another process group`
    if (!why) continue
    const group = groups.get(p.pgid)
    if (group) group.pids.push(p.pid)
    else groups.set(p.pgid, {host: hostId, run_dir: p.run_dir, pgid: p.pgid, pids: [p.pid], store_id: p.store_id, run_id: owner?.run_id ?? null, status: owner?.status ?? null, why, stopped: false})
  }
  for (const {owner, pgid, run_dir} of ended.values()) {
    const killed = fix ? await killAndWait(ctx, hostId, pgid, run_dir) : false
    report.live_processes_of_ended_runs.push({run_id: owner.run_id, status: owner.status, pid: owner.pid ?? pgid, killed})
  }
  const strays = [...groups.values()]
  if (fix) {
    for (const stray of strays) {
      stray.stopped = await killAndWait(ctx, hostId, stray.pgid, stray.run_dir)
      store.write(() => recordEvent(store, {kind: 'stray_process_stopped', time: ctx.now(), actor: ctx.actor, runId: null, args: {...stray}}))
    }
  }
  report.stray_processes.push(...strays)
}
