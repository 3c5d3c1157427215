// What a campaign's report shows, read from the store: the campaign (goal, criterion, budget,
// winner, summary), its experiment tree, its runs, a chart per metric of interest with every
// run's curve (at most REPORT_POINTS points per run per chart) and the fork points, its evals,
// and its decision log with the reasons. page.ts turns this into HTML.
import {type CampaignView, campaignView} from '../campaigns.js'
import {DECISION_KINDS, type EventView, listEvents} from '../events.js'
import {type EvalView, evalView} from '../evals/queries.js'
import {readSeries, type RunSeries} from '../plots/series.js'
import {buildTree, type Tree} from '../runs/tree.js'
import {runRows} from '../runs/queries.js'
import type {Store} from '../store/open.js'
import type {RunRow} from '../store/schema.js'
import {declaredMetrics, type Goal} from '../telemetry/goals.js'
import {hasLoggedMetric, loggedMetricNames} from '../telemetry/metric-names.js'

/** Points per run per chart at most: a longer run is drawn from bucket means (with a min–max band). */
export const REPORT_POINTS = 1000
/** Charts at most: the primary metrics first, then the other metrics with a goal. */
export const REPORT_MAX_CHARTS = 8
/** Decisions listed at most (the newest). */
export const REPORT_MAX_DECISIONS = 5000
/** Metrics charted when the runs declare none with a goal (those of them the runs logged). */
const FALLBACK_METRICS = ['reward', 'loss']

export interface ReportRun {
  run_id: string
  name: string | null
  status: string
  parent_run_id: string | null
  fork_step: number | null
  step: number | null
  recipe: string
  host: string
  created_at: string
  ended_at: string | null
  gpu_seconds: number
}

export interface ReportChart {
  metric: string
  /** The goal the runs' recipes declare for it (the first run that declares one), else null. */
  goal: Goal
  bucket_steps: number | null
  /** Every run of the campaign, in run order (a run without the metric has no points). */
  series: RunSeries[]
  fork_points: {run_id: string; parent_run_id: string; step: number}[]
}

export interface ReportModel {
  generated_at: string
  campaign: CampaignView
  tree: Tree
  runs: ReportRun[]
  charts: ReportChart[]
  /** Metrics of interest that no run has logged yet: named, not charted. */
  metrics_without_data: string[]
  evals: EvalView[]
  decisions: EventView[]
  /** More decisions than REPORT_MAX_DECISIONS: only the newest are listed. */
  decisions_truncated: boolean
}

/**
 * The metrics worth a chart: each run's primary metric, then the metrics its recipe declares with
 * a goal (in declaration order), across the campaign's runs; without any, reward and loss; without
 * those either, the first metrics the runs logged.
 */
export function metricsOfInterest(store: Store, runs: readonly Pick<RunRow, 'run_id' | 'recipe_spec'>[]): {metrics: string[]; goals: Map<string, Goal>} {
  const goals = new Map<string, Goal>()
  const primaries: string[] = []
  const others: string[] = []
  for (const run of runs) {
    const declared = declaredMetrics(run.recipe_spec)
    if (declared.primary !== null && !primaries.includes(declared.primary)) primaries.push(declared.primary)
    for (const [name, goal] of Object.entries(declared.goals)) {
      if (goal !== null && !goals.has(name)) goals.set(name, goal)
      if (goal !== null && !others.includes(name)) others.push(name)
    }
  }
  let metrics = [...primaries, ...others.filter((m) => !primaries.includes(m))]
  if (metrics.length === 0) metrics = FALLBACK_METRICS.filter((m) => hasLoggedMetric(store, runs.map((r) => r.run_id), m))
  if (metrics.length === 0) metrics = loggedMetricNames(store, runs.map((r) => r.run_id)).slice(0, 4)
  return {metrics: metrics.slice(0, REPORT_MAX_CHARTS), goals}
}

export function buildReport(store: Store, campaignName: string | undefined, now: Date): ReportModel {
  const campaign = campaignView(store, campaignName, now)
  const rows = store.all(runRows(store).where('campaign_id', '=', campaign.campaign_id).orderBy('seq'))
  const ids = rows.map((r) => r.run_id)
  const {metrics, goals} = metricsOfInterest(store, rows)
  const forks = rows.filter((r) => r.parent_run_id !== null && r.fork_step !== null)
    .map((r) => ({run_id: r.run_id, parent_run_id: r.parent_run_id!, step: r.fork_step!}))
  const charted = metrics.filter((m) => hasLoggedMetric(store, ids, m))
  // One pass over each run's rows for all the charts.
  const read = readSeries(store, ids, charted, {maxPoints: REPORT_POINTS})
  const charts = charted.map((metric): ReportChart => {
    const series = read.get(metric)!
    return {metric, goal: goals.get(metric) ?? null, bucket_steps: series.bucket_steps, series: series.runs, fork_points: forks}
  })
  const withoutData = metrics.filter((m) => !charted.includes(m))
  const decisions = listEvents(store, {campaignId: campaign.campaign_id, kinds: DECISION_KINDS, limit: REPORT_MAX_DECISIONS + 1})
  const evals = store.all(store.db.selectFrom('evals').selectAll().where('campaign_id', '=', campaign.campaign_id).orderBy('seq')).map(evalView)
  return {
    generated_at: now.toISOString(),
    campaign,
    tree: buildTree(store, {campaign: campaign.campaign_id, metric: metrics[0]}),
    runs: rows.map((r) => ({
      run_id: r.run_id, name: r.name, status: r.status, parent_run_id: r.parent_run_id, fork_step: r.fork_step, step: r.step, recipe: r.recipe,
      host: r.host_id, created_at: r.created_at, ended_at: r.ended_at, gpu_seconds: r.gpu_seconds,
    })),
    charts,
    metrics_without_data: withoutData,
    evals,
    decisions: decisions.slice(-REPORT_MAX_DECISIONS),
    decisions_truncated: decisions.length > REPORT_MAX_DECISIONS,
  }
}
