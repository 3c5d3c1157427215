// What an agent reads instead of raw curves: trends over a window, samples, runs compared step
// by step, and a child's history with its ancestors' before each fork.
import {type LatestEvalScore, latestEvalScores} from '../evals/queries.js'
import {AutolabError} from '../output/errors.js'
import {getRun, resolveRun} from '../runs/queries.js'
import type {Store} from '../store/open.js'
import {countHistoryPoints, type HistoryOptions, type HistoryPoint, metricHistory, metricSeries} from './history.js'
import {checkMetrics} from './metric-names.js'
import {declaredMetrics, type Goal, goalOf} from './goals.js'
import {curveStats, judgeTrend, type Point, type TrendJudgement, type TrendStats} from './trends.js'
import {type JsonNumber, parseMetricValue, toJsonNumber} from './values.js'

export interface TrendResult extends TrendStats, TrendJudgement {
  run_id: string
  metric: string
  /** The metric's goal as the run's recipe declares it (max, min), or null: the verdict's direction. */
  goal: Goal
  /** observations (the last --window of them) or points (raw, with --steps A:B). */
  computed_over: 'observations' | 'points'
  computed_over_steps: [number, number] | null
  /** Observations asked for (null with --steps); n says how many there were, window_steps how many steps they span. */
  window: number | null
  latest: JsonNumber | null
  /** The run has logged no step yet, or (over observations) no observation of the metric yet: n is 0. */
  no_data_yet: boolean
}

/** The metric's values at the run's latest `window` observations (within the steps, if given), oldest first. */
function observationWindow(store: Store, runId: string, metric: string, window: number, range: {from?: number; to?: number} = {}): Point[] {
  const points: Point[] = []
  const rows = store.prepare('SELECT step, metrics FROM observations WHERE run_id = ? AND step BETWEEN ? AND ? ORDER BY step DESC')
    .iterate(runId, range.from ?? Number.MIN_SAFE_INTEGER, range.to ?? Number.MAX_SAFE_INTEGER) as Iterable<{step: number; metrics: string}>
  for (const row of rows) {
    const value = parseMetricValue((JSON.parse(row.metrics) as Record<string, {value?: unknown}>)[metric]?.value)
    if (value !== undefined) points.push({step: row.step, value})
    if (points.length >= window) break
  }
  return points.reverse()
}

export function trend(store: Store, ref: string, options: {metric: string; window?: number; steps?: [number, number]}): TrendResult {
  const run = resolveRun(store, ref)
  const {noDataYet} = checkMetrics(store, [run.run_id], [options.metric], `Run ${run.run_id}`, {run_id: run.run_id})
  const goal = goalOf(declaredMetrics(run.recipe_spec), options.metric)
  let points: Point[] = []
  if (noDataYet) {
    // Nothing logged yet: an empty answer that says so.
  } else if (options.steps) {
    points = metricSeries(store, run.run_id, [options.metric], {from: options.steps[0], to: options.steps[1]}).get(options.metric)!
  } else {
    points = observationWindow(store, run.run_id, options.metric, options.window ?? run.trend_window)
  }
  // The run has the metric, but not in the steps asked for.
  if (points.length === 0 && options.steps && !noDataYet) {
    throw new AutolabError('INVALID_ARGUMENT', `Run ${run.run_id} has no ${options.metric} points in steps ${options.steps.join(':')}.`, {
      details: {run_id: run.run_id, metric: options.metric, steps: options.steps, latest_step: run.step},
      suggestedAction: 'Pick steps the run has logged (its latest step is in details), or wait for them: `autolab wait --for step --run R --step N`.',
    })
  }
  const judged = judgeTrend(points, goal)
  return {
    run_id: run.run_id, metric: options.metric, goal, ...judged, computed_over: options.steps ? 'points' : 'observations',
    computed_over_steps: judged.first_step === null ? null : [judged.first_step, judged.last_step!],
    window: options.steps ? null : options.window ?? run.trend_window, latest: points.length === 0 ? null : toJsonNumber(points.at(-1)!.value),
    no_data_yet: points.length === 0,
  }
}

export interface SampleView {
  step: number
  prompt: string
  completion: string
  reward: number | null
  /** The sample's other fields (input, prediction, label, …) as the trainer wrote them; {} when none. */
  fields: Record<string, unknown>
}

export function samples(store: Store, ref: string, options: {step?: number; limit: number}): {run_id: string; samples: SampleView[]} {
  const run = resolveRun(store, ref)
  let query = store.db.selectFrom('samples').select(['step', 'prompt', 'completion', 'reward', 'fields']).where('run_id', '=', run.run_id)
  if (options.step !== undefined) query = query.where('step', '=', options.step)
  const rows = store.all(query.orderBy('step', 'desc').orderBy('id', 'desc').limit(options.limit))
  return {run_id: run.run_id, samples: rows.reverse().map((r) => ({...r, fields: r.fields === null ? {} : JSON.parse(r.fields) as Record<string, unknown>}))}
}

/**
 * One run of a comparison, summarised: last and best over the compared steps (best by the
 * metric's goal; null without one), and the trend (mean, std, slope, change, noise, verdict) over
 * the run's latest --window observations within them, as `trend` computes it.
 */
export interface CompareSummary extends Omit<TrendStats, 'first_step' | 'last_step'>, TrendJudgement {
  goal: Goal
  /** Observations asked for; n says how many there were, window_steps how many steps they span. */
  window: number
  /** The steps of the first and last observation of the window. */
  computed_over_steps: [number, number] | null
  /** The run's last value (and its step) within the compared steps. */
  last: JsonNumber | null
  last_step: number | null
  best: JsonNumber | null
  best_step: number | null
}

export interface CompareResult {
  metric: string
  /** no_data_yet: the run has logged no step yet (it has no points). */
  runs: {run_id: string; name: string | null; parent_run_id: string | null; fork_step: number | null; status: string; no_data_yet: boolean; summary: CompareSummary
    /** Per suite, the score of the run's latest completed eval (a held-out check beside the training metric). */
    evals: Record<string, LatestEvalScore>}[]
  /** One row per step that any run logged: {step, <run_id>: value}. */
  points: Record<string, number | string>[]
}

export function compare(store: Store, refs: string[], options: {metric: string; window?: number} & HistoryOptions): CompareResult {
  const runs = refs.map((r) => resolveRun(store, r))
  // Each run that has logged steps must have logged the metric.
  const noDataYet = new Map(runs.map((run) => [run.run_id, checkMetrics(store, [run.run_id], [options.metric], `Run ${run.run_id}`, {run_id: run.run_id}).noDataYet]))
  const byStep = new Map<number, Record<string, number | string>>()
  const summaries = new Map<string, CompareSummary>()
  for (const run of runs) {
    const series = metricSeries(store, run.run_id, [options.metric], options).get(options.metric)!
    for (const p of series) {
      const row = byStep.get(p.step) ?? {step: p.step}
      row[run.run_id] = toJsonNumber(p.value)
      byStep.set(p.step, row)
    }
    const goal = goalOf(declaredMetrics(run.recipe_spec), options.metric)
    const window = options.window ?? run.trend_window
    const {first_step: first, last_step: lastObserved, ...judged} = judgeTrend(observationWindow(store, run.run_id, options.metric, window, options), goal)
    const curve = curveStats(series, goal)
    summaries.set(run.run_id, {
      goal, ...judged, window, computed_over_steps: first === null ? null : [first, lastObserved!],
      last: curve.last === null ? null : toJsonNumber(curve.last), last_step: curve.last_step,
      best: curve.best === null ? null : toJsonNumber(curve.best), best_step: curve.best_step,
    })
  }
  return {
    metric: options.metric,
    runs: runs.map((r) => ({run_id: r.run_id, name: r.name, parent_run_id: r.parent_run_id, fork_step: r.fork_step, status: r.status, no_data_yet: noDataYet.get(r.run_id)!, summary: summaries.get(r.run_id)!, evals: latestEvalScores(store, r.run_id)})),
    points: [...byStep.values()].sort((a, b) => (a.step as number) - (b.step as number)),
  }
}

/** Points `history` returns without --from/--to/--last: the newest of them; `next` pages back. */
export const HISTORY_PAGE_POINTS = 1000
/** Points `history` returns at most even with an explicit range (a bound on one JSON document). */
export const HISTORY_MAX_POINTS = 100_000

export interface HistoryResult {
  run_id: string
  metrics: string[]
  /** With withAncestors, each point also has the run_id it comes from. */
  points: (HistoryPoint | AncestorPoint)[]
  /** The run (with its ancestors, if asked) has logged no step yet. */
  no_data_yet: boolean
  /** Points the range holds; more than returned when truncated. */
  total: number
  /** Only the newest points were returned (at most HISTORY_PAGE_POINTS without a range, HISTORY_MAX_POINTS with one). */
  truncated: boolean
  /** When truncated: the flags that ask for the page before this one (with the same other flags); else null. */
  next: {from?: number; to: number; last: number} | null
}

/**
 * Metric values of a run by step (with its ancestors' before each fork step, if asked). A
 * metric named that the run (or its chain) never logged is METRIC_NOT_FOUND, unless nothing at
 * all was logged yet (no_data_yet). Without --from/--to/--last only the newest
 * HISTORY_PAGE_POINTS points are returned (truncated, with the flags of the page before in next).
 */
export function runHistory(store: Store, ref: string, options: HistoryOptions & {withAncestors?: boolean}): HistoryResult {
  const run = resolveRun(store, ref)
  const chain = options.withAncestors ? ancestry(store, run.run_id).map((r) => r.run_id) : [run.run_id]
  const {noDataYet} = checkMetrics(store, chain, options.metrics ?? [], `Run ${run.run_id}${chain.length > 1 ? ` (with its ancestors ${chain.slice(0, -1).join(', ')})` : ''}`, {run_id: run.run_id})
  const ranged = options.from !== undefined || options.to !== undefined || options.last !== undefined
  const limit = Math.min(options.last ?? Number.MAX_SAFE_INTEGER, ranged ? HISTORY_MAX_POINTS : HISTORY_PAGE_POINTS)
  const page = {...options, last: limit}
  const history = options.withAncestors ? historyWithAncestors(store, run.run_id, page) : metricHistory(store, run.run_id, page)
  // A page with room to spare holds every point of the range; only a full one needs counting.
  const total = history.points.length < limit ? history.points.length
    : options.withAncestors ? historyWithAncestors(store, run.run_id, {...options, last: undefined}).points.length
      : countHistoryPoints(store, run.run_id, options)
  const truncated = total > history.points.length
  const next = truncated ? {...(options.from === undefined ? {} : {from: options.from}), to: history.points[0].step - 1, last: limit} : null
  return {run_id: run.run_id, ...history, no_data_yet: noDataYet, total, truncated, next}
}

/** The run and its ancestors, root first. */
function ancestry(store: Store, runId: string) {
  const chain = [getRun(store, runId)]
  while (chain[0].parent_run_id) chain.unshift(getRun(store, chain[0].parent_run_id))
  return chain
}

/**
 * A run's history prefixed by its ancestors': the root's points up to the first fork step, then
 * each descendant's after its own fork step, down to this run. Each point names its run.
 */
export type AncestorPoint = {step: number; run_id: string; [metric: string]: JsonNumber | string}

export function historyWithAncestors(store: Store, runId: string, options: HistoryOptions): {metrics: string[]; points: AncestorPoint[]} {
  const chain = ancestry(store, runId)
  const metrics = new Set<string>()
  const points: AncestorPoint[] = []
  chain.forEach((run, i) => {
    const after = run.fork_step ?? Number.MIN_SAFE_INTEGER
    const upTo = i + 1 < chain.length ? chain[i + 1].fork_step ?? Number.MAX_SAFE_INTEGER : Number.MAX_SAFE_INTEGER
    const from = Math.max(options.from ?? Number.MIN_SAFE_INTEGER, after + 1)
    const to = Math.min(options.to ?? Number.MAX_SAFE_INTEGER, upTo)
    if (from > to) return
    const segment = metricHistory(store, run.run_id, {metrics: options.metrics, from, to})
    for (const m of segment.metrics) metrics.add(m)
    for (const p of segment.points) points.push({...p, run_id: run.run_id})
  })
  const last = options.last === undefined ? points : points.slice(-options.last)
  return {metrics: [...metrics].sort(), points: last}
}
