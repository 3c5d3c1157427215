// What an eval command leaves in its directory, validated where it enters: result.json
// ({score, metrics, breakdown}) and examples.jsonl (one {prompt, output, expected, correct, …}
// per line). Pure functions: a bad file is a verdict, never a throw.
import {isPlainObject} from '../config-merge.js'

/** The files of an eval dir that the eval command writes ({out}, {examples_out}). */
export const RESULT_FILE = 'result.json'
export const EXAMPLES_FILE = 'examples.jsonl'

/** result.json larger than this is refused (the eval fails, saying so). */
export const MAX_RESULT_BYTES = 1 << 20
/** At most this much of examples.jsonl is read, and at most MAX_EXAMPLES lines of it stored. */
export const MAX_EXAMPLES_BYTES = 16 << 20
export const MAX_EXAMPLES = 10_000
/** Each text field of an example is cut to this many characters. */
const MAX_EXAMPLE_TEXT = 16_384
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

export interface EvalResult {
  score: number | null
  metrics: Record<string, number>
  breakdown: Record<string, unknown>
}

/** result.json's content, or why it is refused. `data` null: the file does not exist. */
export function parseEvalResult(data: Buffer | null): {ok: true; result: EvalResult} | {ok: false; error: string} {
  if (data === null) return {ok: false, error: 'the eval wrote no result.json'}
  if (data.length > MAX_RESULT_BYTES) return {ok: false, error: `result.json is larger than ${MAX_RESULT_BYTES} bytes`}
  let doc: unknown
  try {
    doc = JSON.parse(data.toString('utf8'))
  } catch (error) {
    return {ok: false, error: `result.json is not valid JSON: ${(error as Error).message}`}
  }
  if (!isPlainObject(doc)) return {ok: false, error: 'result.json must hold one object {score, metrics, breakdown}'}
  const {score = null, metrics = {}, breakdown = {}} = doc as {score?: unknown; metrics?: unknown; breakdown?: unknown}
  if (score !== null && (typeof score !== 'number' || !Number.isFinite(score))) return {ok: false, error: 'result.json: score must be a finite number or null'}
  if (!isPlainObject(metrics)) return {ok: false, error: 'result.json: metrics must be an object of numbers'}
  for (const [key, value] of Object.entries(metrics)) {
    if (FORBIDDEN_KEYS.has(key) || key.length > 200) return {ok: false, error: `result.json: metrics key ${JSON.stringify(key.slice(0, 40))} is not allowed`}
    if (typeof value !== 'number' || !Number.isFinite(value)) return {ok: false, error: `result.json: metrics.${key} must be a finite number`}
  }
  if (!isPlainObject(breakdown)) return {ok: false, error: 'result.json: breakdown must be an object'}
  if (Object.keys(breakdown).some((k) => FORBIDDEN_KEYS.has(k))) return {ok: false, error: 'result.json: breakdown has a forbidden key'}
  return {ok: true, result: {score: score as number | null, metrics: metrics as Record<string, number>, breakdown: breakdown as Record<string, unknown>}}
}

export interface EvalExample {
  prompt: string | null
  output: string | null
  expected: string | null
  correct: boolean | null
  /** The line's other keys, or null when it has none. */
  fields: Record<string, unknown> | null
}

export interface ParsedExamples {
  examples: EvalExample[]
  /** Lines refused (not a JSON object, a wrong type); skipped. */
  rejected: number
  /** Lines not read: past MAX_EXAMPLES, or past MAX_EXAMPLES_BYTES (the file was longer). */
  dropped: number
  truncated: boolean
}

/** examples.jsonl, at most its first MAX_EXAMPLES_BYTES (+1 byte: tells a longer file), line by line. */
export function parseEvalExamples(data: Buffer | null): ParsedExamples {
  const parsed: ParsedExamples = {examples: [], rejected: 0, dropped: 0, truncated: false}
  if (data === null) return parsed
  let text = data.subarray(0, MAX_EXAMPLES_BYTES).toString('utf8')
  if (data.length > MAX_EXAMPLES_BYTES) {
    parsed.truncated = true
    // The last line was cut by the bound: not a line.
    text = text.slice(0, text.lastIndexOf('\n') + 1)
  }
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    if (parsed.examples.length >= MAX_EXAMPLES) {
      parsed.dropped++
      continue
    }
    const example = parseExampleLine(line)
    if (example) parsed.examples.push(example)
    else parsed.rejected++
  }
  return parsed
}

function parseExampleLine(line: string): EvalExample | null {
  let doc: unknown
  try {
    doc = JSON.parse(line)
  } catch {
    return null
  }
  if (!isPlainObject(doc)) return null
  const {prompt, output, expected, correct, ...rest} = doc as Record<string, unknown>
  if (correct !== undefined && correct !== null && typeof correct !== 'boolean') return null
  if (Object.keys(rest).some((k) => FORBIDDEN_KEYS.has(k))) return null
  return {prompt: text(prompt), output: text(output), expected: text(expected), correct: typeof correct === 'boolean' ? correct : null, fields: Object.keys(rest).length > 0 ? rest : null}
}

/** A field as text: strings as they are, anything else as its JSON; cut to MAX_EXAMPLE_TEXT. */
function text(value: unknown): string | null {
  if (value === undefined || value === null) return null
  const s = typeof value === 'string' ? value : JSON.stringify(value)
  return s.length > MAX_EXAMPLE_TEXT ? `${s.slice(0, MAX_EXAMPLE_TEXT)}…` : s
}
