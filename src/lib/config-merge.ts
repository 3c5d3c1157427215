// Run configs: deep merge (overrides never replace a whole block), dotted --set keys, and the
// content address (sha256 of canonical JSON) that makes equal configs one row.
import {createHash} from 'node:crypto'
import {AutolabError} from './output/errors.js'

export type JsonObject = {[key: string]: unknown}

export function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Merge `patch` into `base` recursively; arrays and scalars in the patch replace. Pure. */
export function deepMerge(base: JsonObject, patch: JsonObject): JsonObject {
  const out: JsonObject = {...base}
  for (const [key, value] of Object.entries(patch)) {
    out[key] = isPlainObject(value) && isPlainObject(out[key]) ? deepMerge(out[key] as JsonObject, value) : value
  }
  return out
}

/** Parse a `--set` value: JSON when it parses (numbers, booleans, null, arrays, objects), else the string. */
export function parseSetValue(raw: string): unknown {
  try {
    return JSON.parse(raw)
  } catch {
    return raw
  }
}

const KEY_PART = /^[A-Za-z_][A-Za-z0-9_-]*$/

/** Parse `a.b.c=value` into a nested patch object. */
export function parseSet(assignment: string): {key: string; value: unknown; patch: JsonObject} {
  const eq = assignment.indexOf('=')
  if (eq <= 0) {
    throw new AutolabError('INVALID_ARGUMENT', `Bad --set "${assignment}": expected key=value, e.g. --set learning_rate=0.05 or --set task.modulus=11.`)
  }
  const key = assignment.slice(0, eq).trim()
  const parts = key.split('.')
  if (parts.some((p) => !KEY_PART.test(p))) {
    throw new AutolabError('INVALID_ARGUMENT', `Bad --set key "${key}": use dotted identifiers such as optimizer.lr.`)
  }
  const value = parseSetValue(assignment.slice(eq + 1))
  const patch: JsonObject = {}
  let node = patch
  for (const part of parts.slice(0, -1)) {
    node[part] = {}
    node = node[part] as JsonObject
  }
  node[parts.at(-1)!] = value
  return {key, value, patch}
}

export function applySets(base: JsonObject, assignments: readonly string[]): JsonObject {
  return assignments.reduce((config, assignment) => deepMerge(config, parseSet(assignment).patch), base)
}

/** JSON with object keys sorted at every depth: equal configs hash equal. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value))
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (isPlainObject(value)) {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys(value[k])]))
  }
  return value
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

/** The dotted keys whose values differ between two configs (for diff and for warnings). */
export function flatten(value: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (isPlainObject(value) && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out)
  } else if (prefix) {
    out[prefix] = value
  }
  return out
}
