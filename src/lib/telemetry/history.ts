// Reading telemetry back: metric history by step, latest observation, curve statistics.
// Metrics are stored one row per step, the trainer's line as written (see migrations:
// metric_steps); reads parse the rows in range and pick the requested keys.
import type {Store} from '../store/open.js'
import {curveStats, type CurveStats, lowerIsBetter, type Point} from './trends.js'
import {type JsonNumber, parseMetricValue, recordMetrics, toJsonNumber} from './values.js'

export interface HistoryOptions {
  metrics?: string[]
  from?: number
  to?: number
  /** Only the last N steps (after from/to). */
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

function stepRows(store: Store, runId: string, options: HistoryOptions): StepRow[] {
  const from = options.from ?? Number.MIN_SAFE_INTEGER
  const to = options.to ?? Number.MAX_SAFE_INTEGER
  if (options.last === undefined) {
    return store.prepare('SELECT step, record FROM metric_steps WHERE run_id = ? AND step BETWEEN ? AND ? ORDER BY step').all(runId, from, to) as StepRow[]
  }
  const rows = store.prepare('SELECT step, record FROM metric_steps WHERE run_id = ? AND step BETWEEN ? AND ? ORDER BY step DESC LIMIT ?').all(runId, from, to, options.last) as StepRow[]
  return rows.reverse()
}

/** Points of the requested metrics (all metrics present when none are named), by step. */
export function metricHistory(store: Store, runId: string, options: HistoryOptions = {}): {metrics: string[]; points: HistoryPoint[]} {
  const named = options.metrics?.length ? options.metrics : null
  const seen = new Set<string>()
  const points: HistoryPoint[] = []
  for (const row of stepRows(store, runId, options)) {
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

/** Points of the given metrics (all present when none are given), as numbers (NaN/Infinity restored). */
export function metricSeries(store: Store, runId: string, keys?: readonly string[], options: HistoryOptions = {}): Map<string, Point[]> {
  const series = new Map<string, Point[]>((keys ?? []).map((k) => [k, []]))
  for (const row of stepRows(store, runId, options)) {
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

export type MetricStats = Omit<CurveStats, 'best' | 'last'> & {best: JsonNumber | null; last: JsonNumber | null; higher_is_better: boolean}

export function runStats(store: Store, runId: string): Record<string, MetricStats> {
  const stats: Record<string, MetricStats> = {}
  const series = metricSeries(store, runId)
  for (const key of [...series.keys()].sort()) {
    const higher = !lowerIsBetter(key)
    const s = curveStats(series.get(key)!, higher)
    stats[key] = {...s, best: s.best === null ? null : toJsonNumber(s.best), last: s.last === null ? null : toJsonNumber(s.last), higher_is_better: higher}
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
