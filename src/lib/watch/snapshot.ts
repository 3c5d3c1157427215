// What `watch` shows, read from the store in one go: a campaign's runs (its live ones first, then
// the most recently ended, up to what fits), each with its primary metric's recent values and its
// pace; GPUs per host; pending evals; the budget; the newest events; warnings. Reads only, and
// cheap whatever the store holds: a handful of indexed queries plus one or two per run shown.
import {type BudgetView, budgetOf, getCampaign} from '../campaigns.js'
import type {Ctx} from '../context.js'
import {type EventView, listEvents} from '../events.js'
import {listRuns} from '../runs/list.js'
import type {RunView} from '../runs/queries.js'
import {COMPUTING_STATES, RUN_STATES, TERMINAL_STATES} from '../runs/state-machine.js'
import {type ActiveRun, type HostGpus, statusBar, withPrimaryMetric} from '../status.js'
import type {Store} from '../store/open.js'
import {type JsonNumber, toJsonNumber} from '../telemetry/values.js'

/** How many values of the primary metric each run carries for its sparkline. */
export const RECENT_POINTS = 32
/** Steps whose times give a live run's pace. */
const PACE_STEPS = 20

export interface WatchRun extends ActiveRun {
  /** The primary metric's last values, oldest first (at most RECENT_POINTS). */
  primary_recent: JsonNumber[]
  /** Steps per second over its last steps (from the trainer's metric times); null when not computing, or before two steps. */
  steps_per_second: number | null
}

export interface WatchSnapshot {
  /** When the snapshot was read. */
  time: string
  campaign: {campaign_id: string; name: string; status: string; goal: string | null; criterion: string | null}
  /** The campaign's runs by status (only statuses it has, in lifecycle order), and `total`. */
  run_counts: Record<string, number>
  /** Live, queued and paused runs first (oldest first), then the most recently ended (newest first). */
  runs: WatchRun[]
  /** How many of `runs` are not ended (they come first). */
  runs_not_ended: number
  /** Runs of the campaign left out of `runs` (over max_runs). */
  runs_not_shown: number
  /** GPUs per host (the status bar's). */
  hosts: HostGpus[]
  /** The campaign's queued and live evals, oldest first. */
  pending_evals: {eval_id: string; run_id: string; suite: string; status: string; checkpoint_step: number}[]
  /** The campaign's budget (null without a budget or deadline). */
  budget: BudgetView | null
  /** The campaign's newest events, oldest first. */
  recent_events: EventView[]
  /** The status bar's warnings: hosts that could not be synced, the budget, rolled-back operations… */
  warnings: string[]
}

export interface SnapshotOptions {
  /** Campaign id; default the current campaign (CAMPAIGN_NOT_FOUND for an unknown one). */
  campaign?: string
  /** Most runs to include. */
  maxRuns: number
  /** Most events to include. */
  maxEvents: number
}

const NOT_ENDED = Object.keys(RUN_STATES).filter((s) => !(TERMINAL_STATES as readonly string[]).includes(s))

export function watchSnapshot(ctx: Pick<Ctx, 'store' | 'now' | 'warnings'>, options: SnapshotOptions): WatchSnapshot {
  const {store} = ctx
  const now = ctx.now()
  const campaign = getCampaign(store, options.campaign)
  const id = campaign.campaign_id
  const counts = store.prepare('SELECT status, count(*) AS n FROM runs WHERE campaign_id = ? GROUP BY status').all(id) as {status: string; n: number}[]
  // In the order of the lifecycle (running before completed), then the total.
  const order = Object.keys(RUN_STATES)
  counts.sort((a, b) => order.indexOf(a.status) - order.indexOf(b.status))
  const runCounts: Record<string, number> = Object.fromEntries(counts.map(({status, n}) => [status, n]))
  runCounts.total = counts.reduce((sum, c) => sum + c.n, 0)
  const maxRuns = Math.max(0, options.maxRuns)
  const live = maxRuns === 0 ? [] : listRuns(store, {campaign: id, statuses: NOT_ENDED, limit: maxRuns})
  const ended = maxRuns - live.length <= 0 ? [] : listRuns(store, {campaign: id, statuses: [...TERMINAL_STATES], limit: maxRuns - live.length}).reverse()
  const runs = [...live, ...ended].map((run) => watchRun(store, run))
  const bar = statusBar(ctx)
  const pendingEvals = store.prepare(`SELECT eval_id, run_id, suite, status, checkpoint_step FROM evals WHERE campaign_id = ? AND status IN ('queued','starting','running') ORDER BY seq`)
    .all(id) as WatchSnapshot['pending_evals']
  return {
    time: now.toISOString(),
    campaign: {campaign_id: id, name: campaign.name, status: campaign.status, goal: campaign.goal, criterion: campaign.criterion},
    run_counts: runCounts,
    runs,
    runs_not_ended: live.length,
    runs_not_shown: Math.max(0, runCounts.total - runs.length),
    hosts: bar.hosts,
    pending_evals: pendingEvals,
    budget: campaign.budget_gpu_seconds === null && campaign.deadline === null ? null : budgetOf(store, campaign, now),
    recent_events: options.maxEvents > 0 ? listEvents(store, {campaignId: id, limit: options.maxEvents}) : [],
    warnings: bar.warnings,
  }
}

function watchRun(store: Store, run: RunView): WatchRun {
  const {run: active, points} = withPrimaryMetric(store, run, RECENT_POINTS)
  return {...active, primary_recent: points.map((p) => toJsonNumber(p.value)), steps_per_second: stepsPerSecond(store, run)}
}

/**
 * The pace of a computing run over its last steps, from the times the trainer logged them (its own
 * clock, so a remote host's skew does not matter); null before two steps.
 */
function stepsPerSecond(store: Store, run: RunView): number | null {
  if (!(COMPUTING_STATES as readonly string[]).includes(run.status)) return null
  const recent = store.prepare('SELECT step, time FROM metric_steps WHERE run_id = ? ORDER BY step DESC LIMIT ?').all(run.run_id, PACE_STEPS) as {step: number; time: number}[]
  if (recent.length < 2) return null
  const [last, first] = [recent[0], recent.at(-1)!]
  if (last.step <= first.step || last.time <= first.time) return null
  return Math.round(((last.step - first.step) / (last.time - first.time)) * 100) / 100
}
