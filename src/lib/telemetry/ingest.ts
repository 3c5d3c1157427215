// Incremental ingest of a run's JSONL files. The caller hands over the bytes after the stored
// offset; only complete lines are consumed (a trainer may be half way through a write), and the
// new offset is returned so the caller can store it in the same transaction as the rows.
// Observations (cadence-spaced window summaries) and NaN/Inf anomalies are computed here, at
// ingest, so reads never recompute them.
import {join} from 'node:path'
import type {Store} from '../store/open.js'
import {parseMetricValue, recordMetrics, toJsonNumber} from './values.js'

export interface IngestRun {
  run_id: string
  run_dir: string
  observation_cadence: number
  trend_window: number
}

/** Something ingest noticed that becomes a decision-log event. */
export interface IngestEvent {
  kind: 'anomaly' | 'checkpoint' | 'modify_ack' | 'trainer_event'
  step: number | null
  data: Record<string, unknown>
}

export interface IngestResult {
  consumed: number
  lastStep: number | null
  points: number
  events: IngestEvent[]
  badLines: number
}

const NEWLINE = 0x0a

/** Split off complete lines; `consumed` is the byte count up to and including the last newline. */
export function completeLines(data: Buffer): {lines: string[]; consumed: number} {
  const end = data.lastIndexOf(NEWLINE)
  if (end < 0) return {lines: [], consumed: 0}
  const lines = data.subarray(0, end).toString('utf8').split('\n').filter((l) => l.trim() !== '')
  return {lines, consumed: end + 1}
}

/** A value further than this many standard deviations from its window's mean is a spike. */
export const SPIKE_STDS = 6
/** Spikes are only judged once the window holds this many finite points. */
const SPIKE_MIN_POINTS = 10

/**
 * One metric's recent points in a ring buffer, with running sums of the finite ones: O(1) per
 * point, no allocation — ingest handles every point a trainer logs.
 */
class Window {
  private readonly steps: Float64Array
  private readonly values: Float64Array
  private start = 0
  length = 0
  private n = 0
  private sum = 0
  private sumSq = 0
  lastSpikeStep = Number.NEGATIVE_INFINITY

  constructor(private readonly capacity: number) {
    this.steps = new Float64Array(capacity)
    this.values = new Float64Array(capacity)
  }

  private index(i: number): number {
    const j = this.start + i
    return j >= this.capacity ? j - this.capacity : j
  }

  lastStep(): number | undefined {
    return this.length === 0 ? undefined : this.steps[this.index(this.length - 1)]
  }

  lastValue(): number | undefined {
    return this.length === 0 ? undefined : this.values[this.index(this.length - 1)]
  }

  add(step: number, value: number): void {
    if (this.length === this.capacity) {
      this.count(this.values[this.start], -1)
      this.start = this.start + 1 === this.capacity ? 0 : this.start + 1
      this.length--
    }
    const i = this.index(this.length)
    this.steps[i] = step
    this.values[i] = value
    this.length++
    this.count(value, 1)
  }

  removeLast(): void {
    this.length--
    this.count(this.values[this.index(this.length)], -1)
  }

  private count(value: number, sign: 1 | -1): void {
    if (!Number.isFinite(value)) return
    this.n += sign
    this.sum += sign * value
    this.sumSq += sign * value * value
  }

  /** Is `value` a spike against the points before it? (Compared squared: no sqrt per point.) */
  isSpike(value: number): boolean {
    if (this.n < SPIKE_MIN_POINTS || !Number.isFinite(value)) return false
    const mean = this.sum / this.n
    const variance = this.sumSq / this.n - mean * mean
    const d = value - mean
    return variance > 0 && d * d > SPIKE_STDS * SPIKE_STDS * variance
  }

  /** The window's statistics (same definitions as trendStats, without building points). */
  stats(): {n: number; mean: number | null; std: number | null; slope: number | null} {
    let n = 0
    let sumX = 0
    let sumY = 0
    for (let i = 0; i < this.length; i++) {
      const j = this.index(i)
      if (!Number.isFinite(this.values[j])) continue
      n++
      sumX += this.steps[j]
      sumY += this.values[j]
    }
    if (n === 0) return {n, mean: null, std: null, slope: null}
    const meanX = sumX / n
    const meanY = sumY / n
    let sxx = 0
    let sxy = 0
    let syy = 0
    for (let i = 0; i < this.length; i++) {
      const j = this.index(i)
      if (!Number.isFinite(this.values[j])) continue
      const dx = this.steps[j] - meanX
      const dy = this.values[j] - meanY
      sxx += dx * dx
      sxy += dx * dy
      syy += dy * dy
    }
    return {n, mean: meanY, std: Math.sqrt(syy / n), slope: sxx === 0 ? 0 : sxy / sxx}
  }
}

/** Rolling windows of the recent points of each metric, seeded from the store on first use. */
class MetricWindows {
  private readonly windows = new Map<string, Window>()
  private seeded = false

  constructor(private readonly store: Store, private readonly run: IngestRun) {}

  private seed(): void {
    this.seeded = true
    const rows = this.store.prepare('SELECT step, record FROM metric_steps WHERE run_id = ? ORDER BY step DESC LIMIT ?')
      .all(this.run.run_id, this.run.trend_window) as {step: number; record: string}[]
    for (const row of rows.reverse()) {
      for (const [key, raw] of Object.entries(recordMetrics(row.record))) {
        const value = parseMetricValue(raw)
        if (value !== undefined) this.push(key, row.step, value)
      }
    }
  }

  /** The value before the last pushed point (undefined: none); set by push, to spare an allocation per point. */
  previous: number | undefined

  /** Add a point; returns whether it is a spike (and sets `previous`). */
  push(key: string, step: number, value: number): boolean {
    if (!this.seeded) this.seed()
    let window = this.windows.get(key)
    if (!window) {
      window = new Window(this.run.trend_window)
      this.windows.set(key, window)
    }
    // A step logged again (after a resume) replaces the later part of the window.
    while (window.length > 0 && window.lastStep()! >= step) window.removeLast()
    const previous = window.lastValue()
    const previousStep = window.lastStep()
    // One spike event per excursion: not again while the spikes follow one another.
    let spike = window.isSpike(value)
    if (spike) {
      if (previousStep !== undefined && window.lastSpikeStep === previousStep) spike = false
      window.lastSpikeStep = step
    }
    window.add(step, value)
    this.previous = previous
    return spike
  }

  entries(): IterableIterator<[string, Window]> {
    return this.windows.entries()
  }
}

export function ingestMetrics(store: Store, run: IngestRun, data: Buffer, lastObservedStep: number | null): IngestResult {
  const {lines, consumed} = completeLines(data)
  const upsertStep = store.prepare(`INSERT INTO metric_steps (run_id, step, time, record) VALUES (?, ?, ?, ?)
    ON CONFLICT (run_id, step) DO UPDATE SET time = excluded.time, record = json_patch(record, excluded.record)`)
  const insertObservation = store.prepare('INSERT OR REPLACE INTO observations (run_id, step, time, metrics) VALUES (?, ?, ?, ?)')
  const windows = new MetricWindows(store, run)
  const events: IngestEvent[] = []
  let points = 0
  let badLines = 0
  let lastStep: number | null = null
  let observed = lastObservedStep
  for (let line of lines) {
    let record: {step?: unknown; time?: unknown; metrics?: unknown}
    try {
      record = JSON.parse(line)
    } catch {
      // Python's json writes bare NaN/Infinity (not JSON); accept them by quoting, as the SDKs do.
      const repaired = line.replace(/(?<=[:,[]\s*)(-?Infinity|NaN)(?=\s*[,}\]])/g, '"$1"')
      try {
        record = JSON.parse(repaired)
        line = repaired
      } catch {
        badLines++
        continue
      }
    }
    const step = record.step
    if (typeof step !== 'number' || !Number.isInteger(step) || typeof record.metrics !== 'object' || record.metrics === null) {
      badLines++
      continue
    }
    const time = typeof record.time === 'number' ? record.time : Date.now() / 1000
    const metrics = record.metrics as Record<string, unknown>
    for (const key in metrics) {
      const raw = metrics[key]
      const value = typeof raw === 'number' ? raw : parseMetricValue(raw)
      if (value === undefined) continue
      points++
      const spike = windows.push(key, step, value)
      const previous = windows.previous
      if (!Number.isFinite(value) && (previous === undefined || Number.isFinite(previous))) {
        events.push({kind: 'anomaly', step, data: {type: Number.isNaN(value) ? 'nan' : 'inf', metric: key, step, value: toJsonNumber(value)}})
      } else if (spike) {
        events.push({kind: 'anomaly', step, data: {type: 'spike', metric: key, step, value, previous: previous ?? null}})
      }
    }
    // The line is stored as written: lossless, and re-serialising the numbers would cost more than the insert.
    upsertStep.run(run.run_id, step, time, line)
    lastStep = lastStep === null ? step : Math.max(lastStep, step)
    // An observation each time the step crosses a multiple of the cadence (robust to skipped steps).
    const cadence = run.observation_cadence
    if (observed === null || Math.floor(step / cadence) > Math.floor(observed / cadence)) {
      insertObservation.run(run.run_id, step, time, JSON.stringify(observationAt(windows, step)))
      observed = step
    }
  }
  return {consumed, lastStep, points, events, badLines}
}

function observationAt(windows: MetricWindows, step: number): Record<string, unknown> {
  const metrics: Record<string, unknown> = {}
  for (const [key, window] of windows.entries()) {
    if (window.lastStep() !== step) continue
    const stats = window.stats()
    metrics[key] = {value: toJsonNumber(window.lastValue()!), mean: stats.mean, std: stats.std, slope: stats.slope, window: stats.n}
  }
  return metrics
}

export function ingestSamples(store: Store, run: IngestRun, data: Buffer): IngestResult {
  const {lines, consumed} = completeLines(data)
  const insert = store.prepare('INSERT INTO samples (run_id, step, prompt, completion, reward) VALUES (?, ?, ?, ?, ?)')
  let badLines = 0
  for (const line of lines) {
    try {
      const s = JSON.parse(line) as {step?: unknown; prompt?: unknown; completion?: unknown; reward?: unknown}
      if (typeof s.step !== 'number') throw new Error('no step')
      const reward = parseMetricValue(s.reward)
      insert.run(run.run_id, s.step, String(s.prompt ?? ''), String(s.completion ?? ''), reward === undefined || Number.isNaN(reward) ? null : reward)
    } catch {
      badLines++
    }
  }
  return {consumed, lastStep: null, points: 0, events: [], badLines}
}

/** events.jsonl: checkpoints become rows (immutable once announced), acknowledgements events. */
export function ingestTrainerEvents(store: Store, run: IngestRun, data: Buffer, checkpointBytes: (path: string) => number, now: Date): IngestResult {
  const {lines, consumed} = completeLines(data)
  const insertCheckpoint = store.prepare('INSERT OR IGNORE INTO checkpoints (run_id, step, path, bytes, created_at) VALUES (?, ?, ?, ?, ?)')
  const events: IngestEvent[] = []
  let badLines = 0
  for (const line of lines) {
    let e: {type?: unknown; step?: unknown; path?: unknown; bytes?: unknown; version?: unknown; applied?: unknown}
    try {
      e = JSON.parse(line)
    } catch {
      badLines++
      continue
    }
    const step = typeof e.step === 'number' ? e.step : null
    if (e.type === 'checkpoint' && step !== null && typeof e.path === 'string') {
      const path = e.path.startsWith('/') ? e.path : join(run.run_dir, e.path)
      const bytes = typeof e.bytes === 'number' ? e.bytes : checkpointBytes(path)
      const added = insertCheckpoint.run(run.run_id, step, path, bytes, now.toISOString()).changes === 1
      if (added) events.push({kind: 'checkpoint', step, data: {step, path, bytes}})
    } else if (e.type === 'control_ack' && step !== null) {
      events.push({kind: 'modify_ack', step, data: {version: e.version ?? null, step, applied: e.applied ?? {}}})
    } else if (typeof e.type === 'string') {
      events.push({kind: 'trainer_event', step, data: e as Record<string, unknown>})
    } else {
      badLines++
    }
  }
  return {consumed, lastStep: null, points: 0, events, badLines}
}
