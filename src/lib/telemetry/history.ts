// Reading telemetry back: metric history pivoted by step, latest observation, curve statistics.
import type {Store} from '../store/open.js'
import {curveStats, type CurveStats, lowerIsBetter, type Point} from './trends.js'
import {fromStored, type JsonNumber, toJsonNumber} from './values.js'

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

export function metricKeys(store: Store, runId: string): string[] {
  const rows = store.prepare('SELECT DISTINCT key FROM metric_points WHERE run_id = ? ORDER BY key').all(runId) as {key: string}[]
  return rows.map((r) => r.key)
}

export function metricHistory(store: Store, runId: string, options: HistoryOptions = {}): {metrics: string[]; points: HistoryPoint[]} {
  const metrics = options.metrics?.length ? options.metrics : metricKeys(store, runId)
  const from = options.from ?? Number.MIN_SAFE_INTEGER
  const to = options.to ?? Number.MAX_SAFE_INTEGER
  const byStep = new Map<number, HistoryPoint>()
  for (const key of metrics) {
    const rows = options.last === undefined
      ? store.prepare('SELECT step, value FROM metric_points WHERE run_id = ? AND key = ? AND step BETWEEN ? AND ? ORDER BY step').all(runId, key, from, to)
      : store.prepare('SELECT step, value FROM (SELECT step, value FROM metric_points WHERE run_id = ? AND key = ? AND step BETWEEN ? AND ? ORDER BY step DESC LIMIT ?) ORDER BY step').all(runId, key, from, to, options.last)
    for (const row of rows as {step: number; value: number | null}[]) {
      let point = byStep.get(row.step)
      if (!point) {
        point = {step: row.step} as HistoryPoint
        byStep.set(row.step, point)
      }
      point[key] = toJsonNumber(fromStored(row.value))
    }
  }
  let points = [...byStep.values()].sort((a, b) => a.step - b.step)
  if (options.last !== undefined) points = points.slice(-options.last)
  return {metrics, points}
}

export function metricPoints(store: Store, runId: string, key: string): Point[] {
  const rows = store.prepare('SELECT step, value FROM metric_points WHERE run_id = ? AND key = ? ORDER BY step').all(runId, key) as {step: number; value: number | null}[]
  return rows.map((r) => ({step: r.step, value: fromStored(r.value)}))
}

export type MetricStats = Omit<CurveStats, 'best' | 'last'> & {best: JsonNumber | null; last: JsonNumber | null; higher_is_better: boolean}

export function runStats(store: Store, runId: string): Record<string, MetricStats> {
  const stats: Record<string, MetricStats> = {}
  for (const key of metricKeys(store, runId)) {
    const higher = !lowerIsBetter(key)
    const s = curveStats(metricPoints(store, runId, key), higher)
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
