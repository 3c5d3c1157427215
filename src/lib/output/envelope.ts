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

/** JSON.stringify that never prints NaN/Infinity as null silently: they become strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (typeof v === 'number' && !Number.isFinite(v) ? (Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity') : v))
}
