// The --json output contract: exactly one JSON document on stdout.
//   {"ok":true,"data":…,"status":{…}}
//   {"ok":false,"error":{"code","message","retryable","suggested_action"},"status":{…}}
import type {StatusBar} from '../status.js'
import type {AutolabError} from './errors.js'

export interface SuccessEnvelope<T> {
  ok: true
  data: T
  status: StatusBar
}

export interface ErrorBody {
  code: string
  message: string
  retryable: boolean
  suggested_action: string
  details?: Record<string, unknown>
  /** Only with --debug. */
  stack?: string
}

export interface ErrorEnvelope {
  ok: false
  error: ErrorBody
  status: StatusBar
}

export function successEnvelope<T>(data: T, status: StatusBar): SuccessEnvelope<T> {
  return {ok: true, data, status}
}

export function errorEnvelope(error: AutolabError, status: StatusBar, debug = false): ErrorEnvelope {
  const body: ErrorBody = {code: error.code, message: error.message, retryable: error.retryable, suggested_action: error.suggestedAction}
  if (error.details) body.details = error.details
  if (debug) body.stack = stackOf(error)
  return {ok: false, error: body, status}
}

function stackOf(error: Error): string {
  const cause = error.cause instanceof Error ? `\nCaused by: ${error.cause.stack}` : ''
  return `${error.stack ?? error.message}${cause}`
}

/**
 * A value already serialised as JSON (by SQLite's json functions, for long lists): toJson puts
 * the text in place as it is. Only for text that is valid JSON by construction.
 */
export class JsonText {
  constructor(readonly text: string) {}
}

/**
 * JSON.stringify that never prints NaN/Infinity as null silently: they become strings. A JsonText
 * stands in as a placeholder string while stringifying, then its text replaces the placeholder.
 */
export function toJson(value: unknown): string {
  const texts: string[] = []
  // A nonce per call: a string that merely looks like a placeholder (NUL bytes and all) is never taken for one.
  let nonce = ''
  const json = JSON.stringify(value, (_key, v) => {
    if (typeof v === 'number') return Number.isFinite(v) ? v : Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity'
    if (v instanceof JsonText) {
      nonce ||= Math.random().toString(36).slice(2)
      return `\u0000json-text:${nonce}:${texts.push(v.text) - 1}\u0000`
    }
    return v
  })
  if (texts.length === 0) return json
  // The placeholder's NUL bytes come out escaped as \u0000.
  return json.replace(new RegExp(`"\\\\u0000json-text:${nonce}:(\\d+)\\\\u0000"`, 'g'), (_match, index: string) => texts[Number(index)])
}
