// The boundary between a trainer's files and the store: one validator per JSONL kind
// (metrics.jsonl, samples.jsonl, events.jsonl). A trainer is outside autolab's control — a bug,
// a crash half way through a write, or a hostile process can put anything in these files — so
// every line is checked against the contract (docs/trainer-contract.md) before it reaches the
// store. A bad line is never thrown: it becomes a rejection with a reason, which ingest counts
// and reports (one `telemetry_rejected` event per run and sync), and every good line is kept.
import {isPlainObject} from '../config-merge.js'
import {parseMetricValue} from './values.js'

/** A longer line is rejected unparsed: no contract record comes close, and parsing it would cost. */
export const MAX_LINE_BYTES = 1 << 20
const MAX_METRICS_PER_LINE = 1000
const MAX_KEY_LENGTH = 200
const MAX_EVENT_TYPE_LENGTH = 100
const MAX_PATH_LENGTH = 4096
/** Keys that would reach an object's prototype when copied by assignment. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

export type Verdict<T> = {ok: true; value: T} | {ok: false; reason: string}

const reject = (reason: string): {ok: false; reason: string} => ({ok: false, reason})

/**
 * Parse one line. Python's json module writes bare NaN/Infinity (not JSON); they are accepted
 * by quoting them, as the SDKs write them. `text` is the line as it should be stored.
 */
export function parseJsonLine(line: string): Verdict<{record: unknown; text: string}> {
  try {
    return {ok: true, value: {record: JSON.parse(line), text: line}}
  } catch {
    const repaired = line.replace(/(?<=[:,[]\s*)(-?Infinity|NaN)(?=\s*[,}\]])/g, '"$1"')
    if (repaired !== line) {
      try {
        return {ok: true, value: {record: JSON.parse(repaired), text: repaired}}
      } catch {
        // fall through
      }
    }
    return reject('not valid JSON')
  }
}

/** A step is the number of completed training steps: a non-negative safe integer. */
export function isStep(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

function checkStep(value: unknown): string | null {
  if (value === undefined) return 'no "step"'
  return isStep(value) ? null : `"step" must be a non-negative integer (got ${short(value)})`
}

function checkKey(key: string): string | null {
  if (key === '' || key.length > MAX_KEY_LENGTH) return `key of ${key.length} characters (1-${MAX_KEY_LENGTH} allowed)`
  if (FORBIDDEN_KEYS.has(key)) return `forbidden key "${key}"`
  return null
}

export interface MetricLine {
  step: number
  /** Unix seconds, or null when the trainer did not say (ingest uses the time it read the line). */
  time: number | null
  /** Every value as a number (NaN/±Infinity for the contract's string spellings). */
  metrics: Map<string, number>
}

/** `{"step":N,"time":t,"metrics":{"loss":…}}`: metrics a flat object of numbers or NaN/Inf spellings. */
export function validateMetricLine(record: unknown): Verdict<MetricLine> {
  if (!isPlainObject(record)) return reject(`a metrics line must be an object, not ${kindOf(record)}`)
  const stepProblem = checkStep(record.step)
  if (stepProblem) return reject(stepProblem)
  let time: number | null = null
  if (record.time !== undefined) {
    if (typeof record.time !== 'number' || !Number.isFinite(record.time) || record.time < 0) return reject(`"time" must be unix seconds (got ${short(record.time)})`)
    time = record.time
  }
  if (!isPlainObject(record.metrics)) return reject(`"metrics" must be an object of numbers (got ${kindOf(record.metrics)})`)
  const metrics = new Map<string, number>()
  for (const key in record.metrics) {
    if (metrics.size === MAX_METRICS_PER_LINE) return reject(`more than ${MAX_METRICS_PER_LINE} metrics in one line`)
    const keyProblem = checkKey(key)
    if (keyProblem) return reject(`metrics: ${keyProblem}`)
    const value = parseMetricValue(record.metrics[key])
    if (value === undefined) return reject(`metrics.${key} must be a number or "NaN"/"Infinity"/"-Infinity" (got ${short(record.metrics[key])})`)
    metrics.set(key, value)
  }
  return {ok: true, value: {step: record.step as number, time, metrics}}
}

export interface SampleLine {
  step: number
  prompt: string
  completion: string
  /** null when absent or NaN. */
  reward: number | null
  /** Every other field (input, prediction, label, …) as given, or null when there are none. */
  fields: Record<string, unknown> | null
}

const SAMPLE_CONVENTION = new Set(['step', 'prompt', 'completion', 'reward'])
const MAX_SAMPLE_FIELDS = 100

/** `{"step":N,"prompt":…,"completion":…,"reward":…}`; a non-string prompt or completion is kept as JSON. */
export function validateSampleLine(record: unknown): Verdict<SampleLine> {
  if (!isPlainObject(record)) return reject(`a sample must be an object, not ${kindOf(record)}`)
  const stepProblem = checkStep(record.step)
  if (stepProblem) return reject(stepProblem)
  let reward: number | null = null
  if (record.reward !== undefined) {
    const value = parseMetricValue(record.reward)
    if (value === undefined) return reject(`"reward" must be a number (got ${short(record.reward)})`)
    reward = Number.isNaN(value) ? null : value
  }
  let fields: Record<string, unknown> | null = null
  for (const key of Object.keys(record)) {
    if (SAMPLE_CONVENTION.has(key)) continue
    const keyProblem = checkKey(key)
    if (keyProblem) return reject(`sample field: ${keyProblem}`)
    fields ??= {}
    if (Object.keys(fields).length === MAX_SAMPLE_FIELDS) return reject(`more than ${MAX_SAMPLE_FIELDS} fields in one sample`)
    fields[key] = record[key]
  }
  const text = (value: unknown): string => (value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value))
  return {ok: true, value: {step: record.step as number, prompt: text(record.prompt), completion: text(record.completion), reward, fields}}
}

export type TrainerEventLine =
  | {type: 'checkpoint'; step: number; path: string; bytes: number | null}
  | {type: 'control_ack'; step: number; version: number; applied: Record<string, unknown>; rejected: Record<string, unknown> | null}
  | {type: 'paused'; step: number}
  /** Any other type: the contract lets trainers add their own; kept as a trainer_event. */
  | {type: 'other'; step: number | null; data: Record<string, unknown>}

/** events.jsonl: the contract's types with their fields; other types are kept as they are. */
export function validateTrainerEvent(record: unknown): Verdict<TrainerEventLine> {
  if (!isPlainObject(record)) return reject(`an event must be an object, not ${kindOf(record)}`)
  const {type} = record
  if (typeof type !== 'string' || type === '' || type.length > MAX_EVENT_TYPE_LENGTH) return reject(`"type" must be a non-empty string (got ${short(type)})`)
  if (type === 'checkpoint' || type === 'control_ack' || type === 'paused' || record.step !== undefined) {
    const stepProblem = checkStep(record.step)
    if (stepProblem) return reject(`${type}: ${stepProblem}`)
  }
  const step = record.step as number
  switch (type) {
    case 'checkpoint': {
      const {path, bytes} = record
      if (typeof path !== 'string' || path === '' || path.length > MAX_PATH_LENGTH || path.includes('\0')) return reject(`checkpoint: "path" must be a path inside the run directory (got ${short(path)})`)
      if (bytes !== undefined && !(typeof bytes === 'number' && Number.isSafeInteger(bytes) && bytes >= 0)) return reject(`checkpoint: "bytes" must be a non-negative integer (got ${short(bytes)})`)
      return {ok: true, value: {type, step, path, bytes: (bytes as number | undefined) ?? null}}
    }
    case 'control_ack': {
      const {version, applied, rejected} = record
      if (!(typeof version === 'number' && Number.isSafeInteger(version) && version >= 0)) return reject(`control_ack: "version" must be a non-negative integer (got ${short(version)})`)
      if (applied !== undefined && !isPlainObject(applied)) return reject(`control_ack: "applied" must be an object (got ${kindOf(applied)})`)
      if (rejected !== undefined && !isPlainObject(rejected)) return reject(`control_ack: "rejected" must be an object (got ${kindOf(rejected)})`)
      return {ok: true, value: {type, step, version, applied: (applied as Record<string, unknown>) ?? {}, rejected: (rejected as Record<string, unknown>) ?? null}}
    }
    case 'paused':
      return {ok: true, value: {type, step}}
    default:
      return {ok: true, value: {type: 'other', step: record.step === undefined ? null : step, data: record}}
  }
}

/** A rejected line, as reported: where it was and why (the line itself truncated). */
export interface RejectedLine {
  file: string
  /** Byte offset of the line's start in the file. */
  offset: number
  reason: string
  line: string
}

const REPORTED_LINE_CHARS = 200

/** The rejections of one sync of one run: the count per file and the first offending line. */
export class Rejections {
  count = 0
  readonly byFile: Record<string, number> = {}
  first: RejectedLine | null = null

  add(file: string, offset: number, line: string, reason: string): void {
    this.count++
    this.byFile[file] = (this.byFile[file] ?? 0) + 1
    this.first ??= {file, offset, reason, line: line.length > REPORTED_LINE_CHARS ? `${line.slice(0, REPORTED_LINE_CHARS)}…` : line}
  }
}

function kindOf(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}

function short(value: unknown): string {
  if (value === undefined) return 'nothing'
  const text = typeof value === 'string' ? JSON.stringify(value) : typeof value === 'object' && value !== null ? kindOf(value) : String(value)
  return text.length > 40 ? `${text.slice(0, 40)}…` : text
}
