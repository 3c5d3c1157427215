// Metrics of several runs, read for drawing: every point as logged while a run has at most
// `maxPoints` steps in the range, else one point per bucket of steps. A run's rows are streamed
// once (one parse of each trainer line, as history parses it, whatever the number of metrics)
// and folded into buckets as they come: memory holds the buckets, never the 100,000 points.
// Downsampled runs share one bucket grid, so their buckets line up step for step. No validation
// here: plot.ts and the report decide which runs and metrics are asked for.
import type {Store} from '../store/open.js'
import {type JsonNumber, parseMetricValue, recordMetrics, toJsonNumber} from '../telemetry/values.js'

export interface SeriesPoint {
  step: number
  /** The value logged at `step`; for a bucket, the mean of its finite values (a non-finite string when it has none). */
  value: JsonNumber
}

/** A bucket of a downsampled run: the steps [step, step + bucket_steps) that logged the metric. */
export interface BucketPoint extends SeriesPoint {
  /** The bucket's smallest and largest finite values (null when it has none). */
  min: number | null
  max: number | null
  /** How many logged points the bucket holds. */
  n: number
}

export interface RunSeries {
  run_id: string
  /** Points of the metric in the range, as logged (before downsampling). */
  total: number
  /** Of those, how many are NaN or ±Infinity (a chart cannot draw them), and the first one's step. */
  non_finite: number
  first_non_finite_step: number | null
  downsampled: boolean
  points: (SeriesPoint | BucketPoint)[]
}

export interface SeriesOptions {
  from?: number
  to?: number
  /** A run with more steps than this in the range is downsampled. */
  maxPoints: number
}

export interface SeriesSet {
  /** The width of the shared buckets of downsampled runs; null when no run needed it. */
  bucket_steps: number | null
  runs: RunSeries[]
}

const FINITE = "j.type IN ('integer', 'real')"

/** Per metric, `metric` read for each run (ids, in the order given): one pass over each run's rows, whatever the number of metrics. */
export function readSeries(store: Store, runIds: readonly string[], metrics: readonly string[], options: SeriesOptions): Map<string, SeriesSet> {
  const range = {from: options.from ?? Number.MIN_SAFE_INTEGER, to: options.to ?? Number.MAX_SAFE_INTEGER}
  // Steps per run in the range: an index range scan, no JSON read. It bounds the points.
  const extent = store.prepare('SELECT count(*) AS n, min(step) AS lo, max(step) AS hi FROM metric_steps WHERE run_id = ? AND step BETWEEN ? AND ?')
  const extents = runIds.map((id) => extent.get(id, range.from, range.to) as {n: number; lo: number | null; hi: number | null})
  const big = extents.filter((e) => e.n > options.maxPoints)
  let grid: Grid | null = null
  if (big.length > 0) {
    const origin = Math.min(...big.map((e) => e.lo!))
    const span = Math.max(...big.map((e) => e.hi!)) - origin + 1
    grid = {origin, width: Math.ceil(span / options.maxPoints)}
  }
  const sets = new Map(metrics.map((m): [string, SeriesSet] => [m, {bucket_steps: grid?.width ?? null, runs: []}]))
  const rows = store.prepare('SELECT step, record FROM metric_steps WHERE run_id = ? AND step BETWEEN ? AND ? ORDER BY step')
  runIds.forEach((id, i) => {
    const readers = metrics.map((m) => new SeriesReader(id, grid !== null && extents[i].n > options.maxPoints ? grid : null))
    // Streamed: one row (one parse of the trainer's line) at a time, feeding every metric.
    for (const row of rows.iterate(id, range.from, range.to) as Iterable<{step: number; record: string}>) {
      const values = recordMetrics(row.record)
      metrics.forEach((m, k) => {
        const value = parseMetricValue(values[m])
        if (value !== undefined) readers[k].add(row.step, value)
      })
    }
    metrics.forEach((m, k) => sets.get(m)!.runs.push(readers[k].finish()))
  })
  return sets
}

interface Grid {
  origin: number
  width: number
}

/** One run's points of one metric, as they come in step order: kept as logged, or folded into the grid's buckets. */
class SeriesReader {
  private readonly points: (SeriesPoint | BucketPoint)[] = []
  private total = 0
  private nonFinite = 0
  private firstNonFinite: number | null = null
  private bucket: {index: number; n: number; finite: number; sum: number; min: number; max: number; other: number | null} | null = null

  constructor(private readonly runId: string, private readonly grid: Grid | null) {}

  add(step: number, value: number): void {
    this.total++
    const finite = Number.isFinite(value)
    if (!finite) {
      this.nonFinite++
      this.firstNonFinite ??= step
    }
    if (this.grid === null) {
      this.points.push({step, value: toJsonNumber(value)})
      return
    }
    const index = Math.floor((step - this.grid.origin) / this.grid.width)
    if (this.bucket?.index !== index) {
      this.flush()
      this.bucket = {index, n: 0, finite: 0, sum: 0, min: Number.POSITIVE_INFINITY, max: Number.NEGATIVE_INFINITY, other: null}
    }
    const b = this.bucket!
    b.n++
    if (finite) {
      b.finite++
      b.sum += value
      b.min = Math.min(b.min, value)
      b.max = Math.max(b.max, value)
    } else b.other ??= value
  }

  private flush(): void {
    const b = this.bucket
    if (b === null || this.grid === null) return
    const value = b.finite > 0 ? b.sum / b.finite : b.other!
    this.points.push({step: this.grid.origin + b.index * this.grid.width, value: toJsonNumber(value), min: b.finite ? b.min : null, max: b.finite ? b.max : null, n: b.n})
  }

  finish(): RunSeries {
    this.flush()
    this.bucket = null
    return {run_id: this.runId, total: this.total, non_finite: this.nonFinite, first_non_finite_step: this.firstNonFinite, downsampled: this.grid !== null, points: this.points}
  }
}

/** The first step in the range at which the run logged a finite value ≤ 0 (what a log axis cannot show), or null. */
export function firstNonPositive(store: Store, runId: string, metric: string, options: {from?: number; to?: number}): {step: number; value: number} | null {
  const row = store.prepare(`SELECT m.step AS step, j.value AS value FROM metric_steps m, json_each(m.record, '$.metrics') j
    WHERE m.run_id = @run AND m.step BETWEEN @from AND @to AND j.key = @metric AND ${FINITE} AND j.value <= 0 ORDER BY m.step LIMIT 1`)
    .get({run: runId, metric, from: options.from ?? Number.MIN_SAFE_INTEGER, to: options.to ?? Number.MAX_SAFE_INTEGER}) as {step: number; value: number} | undefined
  return row ?? null
}
