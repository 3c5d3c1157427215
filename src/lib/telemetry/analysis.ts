// What an agent reads instead of raw curves: trends over a window, samples, runs compared step
// by step, and a child's history with its ancestors' before each fork.
import {AutolabError} from '../output/errors.js'
import {getRun, resolveRun} from '../runs/queries.js'
import type {Store} from '../store/open.js'
import {type HistoryOptions, type HistoryPoint, metricHistory, metricSeries} from './history.js'
import {checkMetrics} from './metric-names.js'
import {type TrendStats, trendStats} from './trends.js'
import {type JsonNumber, parseMetricValue, toJsonNumber} from './values.js'

export interface TrendResult extends TrendStats {
  run_id: string
  metric: string
  /** observations (the last --window of them) or points (raw, with --steps A:B). */
  computed_over: 'observations' | 'points'
  computed_over_steps: [number, number] | null
  window: number | null
  latest: JsonNumber | null
  /** The run has logged no step yet, or (over observations) no observation of the metric yet: n is 0. */
  no_data_yet: boolean
}

export function trend(store: Store, ref: string, options: {metric: string; window?: number; steps?: [number, number]}): TrendResult {
  const run = resolveRun(store, ref)
  const {noDataYet} = checkMetrics(store, [run.run_id], [options.metric], `Run ${run.run_id}`, {run_id: run.run_id})
  let points: {step: number; value: number}[] = []
  if (noDataYet) {
    // Nothing logged yet: an empty answer that says so.
  } else if (options.steps) {
    points = metricSeries(store, run.run_id, [options.metric], {from: options.steps[0], to: options.steps[1]}).get(options.metric)!
  } else {
    const window = options.window ?? run.trend_window
    const rows = store.prepare('SELECT step, metrics FROM observations WHERE run_id = ? ORDER BY step DESC').iterate(run.run_id) as Iterable<{step: number; metrics: string}>
    for (const row of rows) {
      const value = parseMetricValue((JSON.parse(row.metrics) as Record<string, {value?: unknown}>)[options.metric]?.value)
      if (value !== undefined) points.push({step: row.step, value})
      if (points.length >= window) break
    }
    points.reverse()
  }
  // The run has the metric, but not in the steps asked for.
  if (points.length === 0 && options.steps && !noDataYet) {
    throw new AutolabError('INVALID_ARGUMENT', `Run ${run.run_id} has no ${options.metric} points in steps ${options.steps.join(':')}.`, {
      details: {run_id: run.run_id, metric: options.metric, steps: options.steps, latest_step: run.step},
      suggestedAction: 'Pick steps the run has logged (its latest step is in details), or wait for them: `autolab wait --for step --run R --step N`.',
    })
  }
  const stats = trendStats(points)
  return {
    run_id: run.run_id, metric: options.metric, ...stats, computed_over: options.steps ? 'points' : 'observations',
    computed_over_steps: stats.first_step === null ? null : [stats.first_step, stats.last_step!],
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

export interface CompareResult {
  metric: string
  /** no_data_yet: the run has logged no step yet (it has no points). */
  runs: {run_id: string; name: string | null; parent_run_id: string | null; fork_step: number | null; status: string; no_data_yet: boolean}[]
  /** One row per step that any run logged: {step, <run_id>: value}. */
  points: Record<string, number | string>[]
}

export function compare(store: Store, refs: string[], options: {metric: string} & HistoryOptions): CompareResult {
  const runs = refs.map((r) => resolveRun(store, r))
  // Each run that has logged steps must have logged the metric.
  const noDataYet = new Map(runs.map((run) => [run.run_id, checkMetrics(store, [run.run_id], [options.metric], `Run ${run.run_id}`, {run_id: run.run_id}).noDataYet]))
  const byStep = new Map<number, Record<string, number | string>>()
  for (const run of runs) {
    for (const p of metricSeries(store, run.run_id, [options.metric], options).get(options.metric)!) {
      const row = byStep.get(p.step) ?? {step: p.step}
      row[run.run_id] = toJsonNumber(p.value)
      byStep.set(p.step, row)
    }
  }
  return {
    metric: options.metric,
    runs: runs.map((r) => ({run_id: r.run_id, name: r.name, parent_run_id: r.parent_run_id, fork_step: r.fork_step, status: r.status, no_data_yet: noDataYet.get(r.run_id)!})),
    points: [...byStep.values()].sort((a, b) => (a.step as number) - (b.step as number)),
  }
}

export interface HistoryResult {
  run_id: string
  metrics: string[]
  /** With withAncestors, each point also has the run_id it comes from. */
  points: (HistoryPoint | AncestorPoint)[]
  /** The run (with its ancestors, if asked) has logged no step yet. */
  no_data_yet: boolean
}

/**
 * Metric values of a run by step (with its ancestors' before each fork step, if asked). A
 * metric named that the run (or its chain) never logged is METRIC_NOT_FOUND, unless nothing at
 * all was logged yet (no_data_yet).
 */
export function runHistory(store: Store, ref: string, options: HistoryOptions & {withAncestors?: boolean}): HistoryResult {
  const run = resolveRun(store, ref)
  const chain = options.withAncestors ? ancestry(store, run.run_id).map((r) => r.run_id) : [run.run_id]
  const {noDataYet} = checkMetrics(store, chain, options.metrics ?? [], `Run ${run.run_id}${chain.length > 1 ? ` (with its ancestors ${chain.slice(0, -1).join(', ')})` : ''}`, {run_id: run.run_id})
  const history = options.withAncestors ? historyWithAncestors(store, run.run_id, options) : metricHistory(store, run.run_id, options)
  return {run_id: run.run_id, ...history, no_data_yet: noDataYet}
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
