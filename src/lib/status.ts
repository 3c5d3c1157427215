// The status bar carried by every response: what is running, what capacity is left, what the
// agent should know (warnings) and how old the data it is reading is.
import {BUDGET_WARNING_FRACTION, type BudgetView, budgetOf, getCampaign} from './campaigns.js'
import type {Ctx} from './context.js'
import {listRuns} from './runs/list.js'
import type {RunView} from './runs/queries.js'
import {LIVE_STATES} from './runs/state-machine.js'
import {locateStore} from './store/locate.js'
import {peekStore} from './store/open.js'
import {DEFAULT_CAMPAIGN} from './store/seed.js'
import type {Store} from './store/open.js'
import {metricSeries, runDeclaredMetrics} from './telemetry/history.js'
import type {Point} from './telemetry/trends.js'
import {type JsonNumber, toJsonNumber} from './telemetry/values.js'

export interface StatusBar {
  runs: {running: number; starting: number; queued: number; paused: number; pausing: number; killing: number}
  /** GPUs over every host: free and total (per host in `hosts`). */
  gpus: {free: number; total: number}
  /** GPUs per host, by host name. */
  hosts: HostGpus[]
  /** The current campaign (the one new runs join) and its status. */
  campaign: string
  campaign_status: string
  /** The current campaign's budget: GPU-seconds budgeted, spent and left, deadline. */
  budget: BudgetView | null
  /** Evals starting or running: {eval_id, run_id, suite, status}. */
  pending_evals: {eval_id: string; run_id: string; suite: string; status: string}[]
  warnings: string[]
  /** Per host: seconds since the oldest last sync among its live runs (null: nothing live). */
  staleness: Record<string, number | null>
}

/** One host's GPUs in the status bar: declared, free, held by live runs; and when its runs were last synced (null: never). */
export interface HostGpus {
  host: string
  kind: string
  gpus_total: number
  gpus_free: number
  gpus_used: number
  synced_at: string | null
}

export function emptyStatusBar(warnings: string[] = []): StatusBar {
  return {
    runs: {running: 0, starting: 0, queued: 0, paused: 0, pausing: 0, killing: 0}, gpus: {free: 0, total: 0}, hosts: [],
    campaign: DEFAULT_CAMPAIGN, campaign_status: 'active', budget: null, pending_evals: [], warnings, staleness: {},
  }
}

/**
 * The status bar of an error raised before the command opened its store (a parse error, an
 * unknown command): the real one, read from the store that --store (given raw: parsing may be
 * what failed), AUTOLAB_STORE or the search would find, opened read-only. Nothing is created,
 * migrated or synced; with no readable store the bar is empty and a warning says why.
 */
export function statusBarBeforeOpen(storeFlag: string | undefined, now: () => Date = () => new Date()): StatusBar {
  let location
  try {
    location = locateStore({flag: storeFlag})
  } catch {
    return emptyStatusBar(['no store could be located: this status bar is empty'])
  }
  if (!location.exists) return emptyStatusBar([`no store at ${location.path}: this status bar is empty`])
  const store = peekStore(location.path)
  if (!store) return emptyStatusBar([`the store ${location.path} could not be read: this status bar is empty`])
  try {
    return statusBar({store, now, warnings: []})
  } catch {
    return emptyStatusBar([`the store ${location.path} could not be read: this status bar is empty`])
  } finally {
    store.close()
  }
}

export function statusBar(ctx: Pick<Ctx, 'store' | 'now' | 'warnings'>): StatusBar {
  const {store} = ctx
  const bar = emptyStatusBar([...ctx.warnings])
  const counts = store.prepare("SELECT status, count(*) AS n FROM runs WHERE status IN ('running','starting','queued','paused','pausing','killing') GROUP BY status").all() as {status: keyof StatusBar['runs']; n: number}[]
  for (const {status, n} of counts) bar.runs[status] = n
  const hosts = hostRows(store)
  const live = store.prepare("SELECT host_id, gpus, synced_at, started_at FROM runs WHERE status IN ('running','starting','pausing','killing')").all() as {host_id: string; gpus: string; synced_at: string | null; started_at: string | null}[]
  const liveEvals = pendingEvals(store)
  bar.pending_evals = liveEvals.map(({eval_id, run_id, suite, status}) => ({eval_id, run_id, suite, status}))
  const now = ctx.now().getTime()
  for (const host of hosts) {
    const declared = JSON.parse(host.gpus) as string[]
    const hostRuns = live.filter((r) => r.host_id === host.host_id)
    const used = new Set([...hostRuns, ...liveEvals.filter((e) => e.host_id === host.host_id)].flatMap((r) => JSON.parse(r.gpus) as string[]))
    const free = declared.filter((g) => !used.has(g)).length
    bar.gpus.total += declared.length
    bar.gpus.free += free
    bar.hosts.push({host: host.host_id, kind: host.kind, gpus_total: declared.length, gpus_free: free, gpus_used: declared.length - free, synced_at: host.synced_at})
    const syncTimes = hostRuns.map((r) => Date.parse(r.synced_at ?? r.started_at ?? '') || now)
    bar.staleness[host.host_id] = syncTimes.length === 0 ? null : Math.max(0, Math.round((now - Math.min(...syncTimes)) / 100) / 10)
  }
  const campaign = getCampaign(store)
  bar.campaign = campaign.name
  bar.campaign_status = campaign.status
  if (campaign.budget_gpu_seconds !== null || campaign.deadline !== null) {
    bar.budget = budgetOf(store, campaign, ctx.now())
    const {budget_gpu_seconds: total, spent_gpu_seconds: spent} = bar.budget
    if (bar.budget.exhausted) bar.warnings.push(`campaign ${campaign.name}: budget exhausted${bar.budget.deadline_passed ? ' (deadline passed)' : ''}; launch, fork and resume are refused`)
    else if (total !== null && spent >= BUDGET_WARNING_FRACTION * total) bar.warnings.push(`campaign ${campaign.name}: ${Math.round((spent / total) * 100)}% of the GPU budget spent`)
    const {projected_need_gpu_seconds: need, left_gpu_seconds: left} = bar.budget
    if (!bar.budget.exhausted && need !== null && left !== null && need > left) {
      bar.warnings.push(`campaign ${campaign.name}: at their recent pace the live runs need ~${Math.round(need)} GPU-seconds to reach their max_steps, but ${Math.round(left)} are left: the budget runs out first`)
    }
  }
  return bar
}

/** Evals queued or live, oldest first (a queued one holds no GPU: its gpus are []); none in a store from before evals (read unmigrated, statusBarBeforeOpen). */
function pendingEvals(store: Store): {eval_id: string; run_id: string; suite: string; status: string; host_id: string; gpus: string}[] {
  try {
    return store.prepare("SELECT eval_id, run_id, suite, status, host_id, gpus FROM evals WHERE status IN ('queued','starting','running') ORDER BY seq").all() as {eval_id: string; run_id: string; suite: string; status: string; host_id: string; gpus: string}[]
  } catch {
    return []
  }
}

/** The hosts, by name; a store from before hosts.synced_at (read unmigrated, statusBarBeforeOpen) has null there. */
function hostRows(store: Store): {host_id: string; kind: string; gpus: string; synced_at: string | null}[] {
  try {
    return store.prepare('SELECT host_id, kind, gpus, synced_at FROM hosts ORDER BY host_id').all() as {host_id: string; kind: string; gpus: string; synced_at: string | null}[]
  } catch {
    return (store.prepare('SELECT host_id, kind, gpus FROM hosts ORDER BY host_id').all() as {host_id: string; kind: string; gpus: string}[]).map((h) => ({...h, synced_at: null}))
  }
}

/** A run of the `status` command: the run, and the latest value of its recipe's primary metric. */
export interface ActiveRun extends RunView {
  /** The primary metric its recipe declares (null: none). */
  primary_metric: string | null
  /** Its latest logged value and the step of it (null: none logged yet, or no primary metric). */
  primary_value: JsonNumber | null
  primary_step: number | null
}

/** Runs that are live, queued or paused, each with its primary metric's latest value (one indexed read per run). */
export function activeRuns(store: Store): ActiveRun[] {
  return listRuns(store, {statuses: [...LIVE_STATES, 'queued', 'paused']}).map((run) => withPrimaryMetric(store, run).run)
}

/**
 * A run with the latest value of its recipe's primary metric, and that metric's last `last`
 * points (`points`, oldest first; empty without a primary metric): one indexed read.
 */
export function withPrimaryMetric(store: Store, run: RunView, last = 1): {run: ActiveRun; points: Point[]} {
  const primary = runDeclaredMetrics(store, run.run_id).primary
  const points = primary === null ? [] : metricSeries(store, run.run_id, [primary], {last}).get(primary)!
  const latest = points.at(-1)
  return {run: {...run, primary_metric: primary, primary_value: latest === undefined ? null : toJsonNumber(latest.value), primary_step: latest?.step ?? null}, points}
}
