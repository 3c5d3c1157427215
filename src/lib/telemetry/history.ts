// Reading telemetry back: metric history by step, latest observation, curve statistics.
// Metrics are stored one row per step, the trainer's line as written (see migrations:
// metric_steps); reads parse the rows in range and pick the requested keys.
import type {Store} from '../store/open.js'
import {type DeclaredMetrics, declaredMetrics, type Goal, goalOf, higherIsBetter} from './goals.js'
import {curveStats, type CurveStats, type Point} from './trends.js'
import {type JsonNumber, parseMetricValue, recordMetrics, toJsonNumber} from './values.js'

export interface HistoryOptions {
  metrics?: string[]
  from?: number
  to?: number
  /** Only the last N steps that logged the metrics asked for (after from/to). */
  last?: number
}

export interface HistoryPoint {
  step: number
  [metric: string]: JsonNumber
}

interface StepRow {
  step: number
  record: string
}

/** The rows of the steps from..to; with `last`, the last N of them that logged any of `keys` (any metric, when none are named). */
function stepRows(store: Store, runId: string, options: HistoryOptions, keys?: readonly string[]): StepRow[] {
  const from = options.from ?? Number.MIN_SAFE_INTEGER
  const to = options.to ?? Number.MAX_SAFE_INTEGER
  if (options.last === undefined) {
    return store.prepare('SELECT step, record FROM metric_steps WHERE run_id = ? AND step BETWEEN ? AND ? ORDER BY step').all(runId, from, to) as StepRow[]
  }
  // A metric logged every k steps still gives N points, not N/k.
  const named = keys?.length ? keys : null
  const having = ` AND EXISTS (SELECT 1 FROM json_each(record, '$.metrics') j${named ? ` WHERE j.key IN (${named.map(() => '?').join(', ')})` : ''})`
  const rows = store.prepare(`SELECT step, record FROM metric_steps WHERE run_id = ? AND step BETWEEN ? AND ?${having} ORDER BY step DESC LIMIT ?`)
    .all(runId, from, to, ...(named ?? []), options.last) as StepRow[]
  return rows.reverse()
}

/** Points of the requested metrics (all metrics present when none are named), by step. */
export function metricHistory(store: Store, runId: string, options: HistoryOptions = {}): {metrics: string[]; points: HistoryPoint[]} {
  const named = options.metrics?.length ? options.metrics : null
  const seen = new Set<string>()
  const points: HistoryPoint[] = []
  for (const row of stepRows(store, runId, options, named ?? undefined)) {
    const values = recordMetrics(row.record)
    const point = {step: row.step} as HistoryPoint
    let any = false
    for (const key of named ?? Object.keys(values)) {
      const value = parseMetricValue(values[key])
      if (value === undefined) continue
      point[key] = toJsonNumber(value)
      seen.add(key)
      any = true
    }
    if (any) points.push(point)
  }
  return {metrics: named ?? [...seen].sort(), points}
}

/**
 * How many points metricHistory would return for the steps from..to (ignoring `last`): the steps
 * that logged any of the metrics (any metric, when none are named). Counted in SQLite, without
 * building the points.
 */
export function countHistoryPoints(store: Store, runId: string, options: Omit<HistoryOptions, 'last'> = {}): number {
  const named = options.metrics?.length ? options.metrics : null
  const having = named ? ` AND j.key IN (${named.map(() => '?').join(', ')})` : ''
  const row = store.prepare(`SELECT count(*) AS n FROM metric_steps m WHERE m.run_id = ? AND m.step BETWEEN ? AND ?
    AND EXISTS (SELECT 1 FROM json_each(m.record, '$.metrics') j WHERE 1${having})`)
    .get(runId, options.from ?? Number.MIN_SAFE_INTEGER, options.to ?? Number.MAX_SAFE_INTEGER, ...(named ?? [])) as {n: number}
  return row.n
}

/** Points of the given metrics (all present when none are given), as numbers (NaN/Infinity restored). */
export function metricSeries(store: Store, runId: string, keys?: readonly string[], options: HistoryOptions = {}): Map<string, Point[]> {
  const series = new Map<string, Point[]>((keys ?? []).map((k) => [k, []]))
  for (const row of stepRows(store, runId, options, keys)) {
    const values = recordMetrics(row.record)
    for (const key of keys ?? Object.keys(values)) {
      const value = parseMetricValue(values[key])
      if (value === undefined) continue
      let points = series.get(key)
      if (!points) series.set(key, (points = []))
      points.push({step: row.step, value})
    }
  }
  return series
}

export function metricPoints(store: Store, runId: string, key: string): Point[] {
  return metricSeries(store, runId, [key]).get(key)!
}

export type MetricStats = Omit<CurveStats, 'best' | 'last'> & {
  best: JsonNumber | null
  last: JsonNumber | null
  /** The recipe's declared goal (max, min) or null (undeclared, or declared without one): then best and best_step are null. */
  goal: Goal
  /** true for goal max, false for min, null without a goal (kept for callers of before goals). */
  higher_is_better: boolean | null
}

/** The declared metrics of a run, from its stored recipe (none for a run recorded before they existed). */
export function runDeclaredMetrics(store: Store, runId: string): DeclaredMetrics {
  const row = store.prepare('SELECT body AS recipe_spec FROM runs JOIN recipe_specs USING (spec_id) WHERE run_id = ?').get(runId) as {recipe_spec: string} | undefined
  return declaredMetrics(row?.recipe_spec)
}

export function runStats(store: Store, runId: string, declared: DeclaredMetrics = runDeclaredMetrics(store, runId)): Record<string, MetricStats> {
  const stats: Record<string, MetricStats> = {}
  const series = metricSeries(store, runId)
  for (const key of [...series.keys()].sort()) {
    const goal = goalOf(declared, key)
    const s = curveStats(series.get(key)!, goal)
    stats[key] = {...s, best: s.best === null ? null : toJsonNumber(s.best), last: s.last === null ? null : toJsonNumber(s.last), goal, higher_is_better: higherIsBetter(goal)}
  }
  return stats
}

export interface ObservationView {
  step: number
  time: number
  metrics: Record<string, {value: JsonNumber; mean: number | null; std: number | null; slope: number | null; window: number}>
}

export function latestObservation(store: Store, runId: string): ObservationView | null {
  const row = store.prepare('SELECT step, time, metrics FROM observations WHERE run_id = ? ORDER BY step DESC LIMIT 1').get(runId) as {step: number; time: number; metrics: string} | undefined
  return row ? {step: row.step, time: row.time, metrics: JSON.parse(row.metrics)} : null
}
