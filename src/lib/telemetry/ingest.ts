// Incremental ingest of a run's JSONL files. The caller hands over the bytes after the stored
// offset; only complete lines are consumed (a trainer may be half way through a write), and the
// new offset is returned so the caller can store it in the same transaction as the rows.
// Observations (cadence-spaced window summaries) and NaN/Inf anomalies are computed here, at
// ingest, so reads never recompute them.
import type {CheckpointCheck} from '../hosts/executor.js'
import type {Store} from '../store/open.js'
import {MAX_LINE_BYTES, parseJsonLine, type Rejections, type Verdict, validateMetricLine, validateSampleLine, validateTrainerEvent} from './validate.js'
import {declaredMetrics, type Goal, goalOf} from './goals.js'
import {parseMetricValue, recordMetrics, toJsonNumber} from './values.js'

export interface IngestRun {
  run_id: string
  run_dir: string
  observation_cadence: number
  trend_window: number
  /** The run's recipe spec: the metrics' goals decide which way a spike is an anomaly (none: no spikes). */
  recipe_spec?: string | null
}

/**
 * hard: the run is in trouble whatever it was meant to do (NaN/Inf, a crash, a stall); soft: a
 * metric moved sharply against its goal. `wait --for anomaly:hard` wakes on the first only.
 */
export type AnomalySeverity = 'hard' | 'soft'

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
  /** The consumed bytes end inside an overlong line: pass it as `midLine` with the next data. */
  midLine: boolean
}

const NEWLINE = 0x0a

/** One complete line of a JSONL file; `offset` is its start in bytes from the start of the data. */
export interface Line {
  text: string
  offset: number
  /** Longer than MAX_LINE_BYTES: `text` holds only its beginning, and it is rejected unparsed. */
  tooLong: boolean
}

/**
 * Split off complete lines; `consumed` is the byte count up to and including the last newline.
 * A trainer may be half way through writing the last line, so it waits for the next sync —
 * unless it is already longer than any acceptable line: then it is consumed (and rejected) now
 * rather than blocking the file, and `midLine` says the next data starts inside that line, whose
 * rest (up to its newline) is skipped without being counted again.
 */
export function completeLines(data: Buffer, midLine = false): {lines: Line[]; consumed: number; midLine: boolean} {
  const lines: Line[] = []
  let start = 0
  if (midLine) {
    const end = data.indexOf(NEWLINE)
    if (end < 0) return {lines, consumed: data.length, midLine: true}
    start = end + 1
  }
  const first = start
  for (;;) {
    const end = data.indexOf(NEWLINE, start)
    if (end < 0) break
    pushLine(lines, data, start, end)
    start = end + 1
  }
  if (start === first && data.length - start >= MAX_LINE_BYTES) {
    pushLine(lines, data, start, data.length, true)
    return {lines, consumed: data.length, midLine: true}
  }
  return {lines, consumed: start, midLine: false}
}

function pushLine(lines: Line[], data: Buffer, start: number, end: number, unfinished = false): void {
  const tooLong = unfinished || end - start > MAX_LINE_BYTES
  const text = data.toString('utf8', start, tooLong ? start + 256 : end)
  if (!tooLong && text.trim() === '') return
  lines.push({text, offset: start, tooLong})
}

/** Where the bytes came from, for reporting rejected lines: the file, the byte offset of the data, the tally. */
export interface IngestSource {
  file: string
  offset: number
  rejections: Rejections
  /** The data starts inside an overlong line already rejected (see completeLines). */
  midLine?: boolean
}

/** Parse and validate each line; a bad one is counted in `source.rejections` and skipped. */
function* validLines<T>(lines: Line[], source: IngestSource, validate: (record: unknown) => Verdict<T>): Generator<{value: T; text: string; offset: number}> {
  for (const line of lines) {
    const at = source.offset + line.offset
    if (line.tooLong) {
      source.rejections.add(source.file, at, line.text, `line longer than ${MAX_LINE_BYTES} bytes`)
      continue
    }
    const parsed = parseJsonLine(line.text)
    if (!parsed.ok) {
      source.rejections.add(source.file, at, line.text, parsed.reason)
      continue
    }
    const checked = validate(parsed.value.record)
    if (!checked.ok) {
      source.rejections.add(source.file, at, line.text, checked.reason)
      continue
    }
    yield {value: checked.value, text: parsed.value.text, offset: at}
  }
}

/** A value further than this many standard deviations from its window's mean is a spike. */
export const SPIKE_STDS = 6
/**
 * The spread a spike is measured against is at least this fraction of the window's |mean|: a
 * metric that barely moves (a bounded one settling: accuracy 0.98 → 0.99 → 1.0 with a std of
 * 1e-4) has a tiny std, and a step of a percent of its level would be "100 standard deviations".
 * So a spike is always more than SPIKE_STDS × 1% = 6% of the level away from the mean.
 */
export const SPIKE_FLOOR_RELATIVE = 0.01
/** Spikes are only judged once the window holds this many finite points. */
const SPIKE_MIN_POINTS = 10

function medianOfSorted(values: number[]): number {
  if (values.length === 0) return Number.NaN
  const mid = values.length >> 1
  return values.length % 2 === 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2
}

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

  /** Does any point but the newest satisfy `test`? */
  anyBeforeLast(test: (value: number) => boolean): boolean {
    for (let i = 0; i < this.length - 1; i++) if (test(this.values[this.index(i)])) return true
    return false
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

  /**
   * Is `value` a spike against the points before it? (Compared squared: no sqrt per point.) A
   * window without any spread (a constant) judges nothing; otherwise the spread has a floor of
   * SPIKE_FLOOR_RELATIVE × |mean|.
   */
  /** The mean of the window's values (NaN when empty). */
  mean(): number {
    return this.sum / this.n
  }

  isSpike(value: number): boolean {
    if (this.n < SPIKE_MIN_POINTS || !Number.isFinite(value)) return false
    const mean = this.sum / this.n
    const variance = this.sumSq / this.n - mean * mean
    if (!(variance > 0)) return false
    const floor = SPIKE_FLOOR_RELATIVE * mean
    const d = value - mean
    // The cheap test first (running sums): most points are not candidates.
    if (!(d * d > SPIKE_STDS * SPIKE_STDS * Math.max(variance, floor * floor))) return false
    // Then the robust one: the distance from the median, against the median absolute deviation
    // (× 1.4826, a standard deviation for normal noise) with the same floor. One earlier outlier
    // inflates the std and hides the next excursion; it does not move the median or the MAD.
    return this.robustDistance(value) > SPIKE_STDS * Math.max(this.robustSpread(), Math.abs(SPIKE_FLOOR_RELATIVE * this.median()))
  }

  private finiteValues(): number[] {
    const values: number[] = []
    for (let i = 0; i < this.length; i++) {
      const v = this.values[this.index(i)]
      if (Number.isFinite(v)) values.push(v)
    }
    return values.sort((a, b) => a - b)
  }

  private median(): number {
    return medianOfSorted(this.finiteValues())
  }

  private robustSpread(): number {
    const values = this.finiteValues()
    const med = medianOfSorted(values)
    return 1.4826 * medianOfSorted(values.map((v) => Math.abs(v - med)).sort((a, b) => a - b))
  }

  private robustDistance(value: number): number {
    return Math.abs(value - this.median())
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
        if (value !== undefined) this.push(key, row.step, value, null) // seeding only: no verdict wanted
      }
    }
  }

  /** The value before the last pushed point (undefined: none); set by push, to spare an allocation per point. */
  previous: number | undefined

  /** Add a point; returns whether it is a spike against the metric's goal (and sets `previous`). */
  push(key: string, step: number, value: number, goal: Goal): boolean {
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
    // A spike is an anomaly only against the metric's goal: a reward jumping up or a loss
    // dropping is what training is for, and a metric without a goal raises no soft anomaly at
    // all (learning_rate jumping at a modify, KL moving). One event per excursion.
    const mean = window.mean()
    let spike = goal !== null && window.isSpike(value) && (goal === 'max' ? value < mean : value > mean)
    if (spike) {
      if (previousStep !== undefined && window.lastSpikeStep === previousStep) spike = false
      window.lastSpikeStep = step
    }
    window.add(step, value)
    this.previous = previous
    return spike
  }

  get(key: string): Window | undefined {
    return this.windows.get(key)
  }

  entries(): IterableIterator<[string, Window]> {
    return this.windows.entries()
  }
}

/**
 * The agent's own changes are not anomalies: while a modify waits for its acknowledgement, and
 * for a window of steps after the step it took effect at, soft anomalies are not raised (the
 * metrics it drives move because it was asked for; hard ones always are). A modify left
 * unacknowledged for more than PENDING_MODIFY_SECONDS (a trainer that ignores control.json)
 * stops counting, so it cannot silence a run for good.
 */
const PENDING_MODIFY_SECONDS = 600

function modifySettling(store: Store, runId: string): (step: number, window: number) => boolean {
  const since = new Date(Date.now() - PENDING_MODIFY_SECONDS * 1000).toISOString()
  const row = store.prepare(`SELECT max(CASE WHEN effective_step IS NULL AND created_at >= ? THEN 1 ELSE 0 END) AS pending, max(effective_step) AS last
    FROM run_configs WHERE run_id = ? AND version > 1`).get(since, runId) as {pending: number | null; last: number | null}
  return (step, window) => row.pending === 1 || (row.last !== null && step >= row.last && step - row.last <= window)
}

function outside(bounds: {min?: number; max?: number}, value: number): boolean {
  return Number.isFinite(value) && ((bounds.max !== undefined && value > bounds.max) || (bounds.min !== undefined && value < bounds.min))
}

export function ingestMetrics(store: Store, run: IngestRun, data: Buffer, lastObservedStep: number | null, source: IngestSource): IngestResult {
  const {lines, consumed, midLine} = completeLines(data, source.midLine)
  const upsertStep = store.prepare(`INSERT INTO metric_steps (run_id, step, time, record) VALUES (?, ?, ?, ?)
    ON CONFLICT (run_id, step) DO UPDATE SET time = excluded.time, record = json_patch(record, excluded.record)`)
  const insertObservation = store.prepare('INSERT OR REPLACE INTO observations (run_id, step, time, metrics) VALUES (?, ?, ?, ?)')
  // The batch's latest value of each metric, written once per metric at the end (latest_metrics).
  const latest = new Map<string, {step: number; value: number}>()
  const windows = new MetricWindows(store, run)
  const declared = declaredMetrics(run.recipe_spec)
  const settling = modifySettling(store, run.run_id)
  const {guards} = declared
  const events: IngestEvent[] = []
  let points = 0
  let lastStep: number | null = null
  let observed = lastObservedStep
  for (const {value: record, text} of validLines(lines, source, validateMetricLine)) {
    const {step, metrics} = record
    const time = record.time ?? Date.now() / 1000
    for (const [key, value] of metrics) {
      points++
      if ((latest.get(key)?.step ?? -Infinity) <= step) latest.set(key, {step, value})
      const goal = goalOf(declared, key)
      const spike = windows.push(key, step, value, goal)
      const previous = windows.previous
      if (!Number.isFinite(value) && (previous === undefined || Number.isFinite(previous))) {
        events.push({kind: 'anomaly', step, data: {type: Number.isNaN(value) ? 'nan' : 'inf', severity: 'hard', metric: key, step, value: toJsonNumber(value), rule: 'not_finite'}})
      } else if (spike && !settling(step, run.trend_window)) {
        events.push({kind: 'anomaly', step, data: {type: 'spike', severity: 'soft', metric: key, step, value, previous: previous ?? null, goal, rule: 'spike', threshold: {stds: SPIKE_STDS, floor_relative: SPIKE_FLOOR_RELATIVE}}})
      } else if (Object.hasOwn(guards, key) && outside(guards[key], value) && !windows.get(key)!.anyBeforeLast((v) => outside(guards[key], v)) && !settling(step, run.trend_window)) {
        // A guard crossed (KL blowing up, entropy collapsing): once per excursion past the bound,
        // an excursion lasting until a whole window of points is back inside (noise at the
        // bound is one excursion, not one per wobble).
        events.push({kind: 'anomaly', step, data: {type: 'guard', severity: 'soft', metric: key, step, value, previous: previous ?? null, rule: 'guard', threshold: guards[key]}})
      }
    }
    // The line is stored as written (validated): lossless, and re-serialising the numbers would cost more than the insert.
    upsertStep.run(run.run_id, step, time, text)
    lastStep = lastStep === null ? step : Math.max(lastStep, step)
    // An observation each time the step crosses a multiple of the cadence (robust to skipped steps).
    const cadence = run.observation_cadence
    if (observed === null || Math.floor(step / cadence) > Math.floor(observed / cadence)) {
      insertObservation.run(run.run_id, step, time, JSON.stringify(observationAt(windows, step)))
      observed = step
    }
  }
  if (latest.size > 0) {
    const upsertLatest = store.prepare(`INSERT INTO latest_metrics (run_id, key, step, value) VALUES (?, ?, ?, ?)
      ON CONFLICT (run_id, key) DO UPDATE SET step = excluded.step, value = excluded.value WHERE excluded.step >= latest_metrics.step`)
    for (const [key, {step, value}] of latest) upsertLatest.run(run.run_id, key, step, JSON.stringify(toJsonNumber(value)))
  }
  return {consumed, lastStep, points, events, midLine}
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

export function ingestSamples(store: Store, run: IngestRun, data: Buffer, source: IngestSource): IngestResult {
  const {lines, consumed, midLine} = completeLines(data, source.midLine)
  const insert = store.prepare('INSERT INTO samples (run_id, step, prompt, completion, reward, fields) VALUES (?, ?, ?, ?, ?, ?)')
  for (const {value: s} of validLines(lines, source, validateSampleLine)) {
    insert.run(run.run_id, s.step, s.prompt, s.completion, s.reward, s.fields === null ? null : JSON.stringify(s.fields))
  }
  return {consumed, lastStep: null, points: 0, events: [], midLine}
}


/**
 * events.jsonl: checkpoints become rows (immutable once announced), acknowledgements events.
 * A checkpoint is only accepted as its host saw it (`checkpoints`, looked up by the announced
 * path): inside the run directory, present, with no link leading out of it.
 */
export function ingestTrainerEvents(store: Store, run: IngestRun, data: Buffer, checkpoints: ReadonlyMap<string, CheckpointCheck>, now: Date, source: IngestSource): IngestResult {
  const {lines, consumed, midLine} = completeLines(data, source.midLine)
  const insertCheckpoint = store.prepare('INSERT OR IGNORE INTO checkpoints (run_id, step, path, bytes, created_at) VALUES (?, ?, ?, ?, ?)')
  const events: IngestEvent[] = []
  for (const {value: e, text, offset} of validLines(lines, source, validateTrainerEvent)) {
    if (e.type === 'checkpoint') {
      const check = checkpoints.get(e.path) ?? {ok: false, reason: 'not inspected'}
      if (!check.ok) {
        source.rejections.add(source.file, offset, text, `checkpoint ${JSON.stringify(e.path)}: ${check.reason}`)
        continue
      }
      const bytes = e.bytes ?? check.bytes
      const added = insertCheckpoint.run(run.run_id, e.step, check.path, bytes, now.toISOString()).changes === 1
      if (added) events.push({kind: 'checkpoint', step: e.step, data: {step: e.step, path: check.path, bytes}})
    } else if (e.type === 'control_ack') {
      events.push({kind: 'modify_ack', step: e.step, data: {version: e.version, step: e.step, applied: e.applied, ...(e.rejected ? {rejected: e.rejected} : {})}})
    } else if (e.type === 'paused') {
      events.push({kind: 'trainer_event', step: e.step, data: {type: 'paused', step: e.step}})
    } else {
      events.push({kind: 'trainer_event', step: e.step, data: e.data})
    }
  }
  return {consumed, lastStep: null, points: 0, events, midLine}
}

/** The checkpoint paths announced in a piece of events.jsonl (for the host to inspect before ingest). */
export function announcedCheckpoints(data: Buffer, midLine = false): string[] {
  const paths: string[] = []
  for (const line of completeLines(data, midLine).lines) {
    if (line.tooLong) continue
    const parsed = parseJsonLine(line.text)
    if (!parsed.ok) continue
    const checked = validateTrainerEvent(parsed.value.record)
    if (checked.ok && checked.value.type === 'checkpoint') paths.push(checked.value.path)
  }
  return paths
}
