// Run configs: deep merge (overrides never replace a whole block), dotted --set keys, and the
// content address (sha256 of canonical JSON) that makes equal configs one row.
import {nodeCrypto} from './lazy-modules.js'
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

/**
 * Bounds on a config value from outside (a `--set` value, a `--patch` or `--config` file):
 * merging, hashing and rendering configs recurse, so a value nested thousands deep would
 * overflow the stack, and a huge one would be held, hashed and stored whole.
 */
export const CONFIG_VALUE_LIMITS = {maxDepth: 64, maxBytes: 1024 * 1024} as const

/**
 * Keys that reach an object's prototype when assigned (`out[key] = …`, as deepMerge does):
 * `__proto__` would be dropped or swap the prototype, `constructor.prototype` would be stored
 * as a key of the config and poison every consumer that walks it.
 */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

/** Reject text over the size bound, before it is parsed. `what` names it for the message. */
export function checkConfigSize(bytes: number, what: string): void {
  if (bytes > CONFIG_VALUE_LIMITS.maxBytes) {
    throw new AutolabError('INVALID_VALUE', `${what} is too large: ${bytes} bytes, at most ${CONFIG_VALUE_LIMITS.maxBytes}.`, {
      details: {what, bytes, max_bytes: CONFIG_VALUE_LIMITS.maxBytes},
    })
  }
}

/**
 * Check a parsed config value from outside: nested at most `maxDepth` levels (counting
 * `startDepth` levels above it, e.g. the parts of a dotted --set key), no key that reaches a
 * prototype, no non-finite number (JSON's 1e400 parses to Infinity, which JSON cannot store).
 * Iterative, so the check itself cannot overflow on the values it exists to refuse.
 */
export function checkConfigValue(value: unknown, what: string, startDepth = 0): void {
  const stack: {value: unknown; path: string; depth: number}[] = [{value, path: '', depth: startDepth}]
  while (stack.length > 0) {
    const {value: node, path, depth} = stack.pop()!
    if (typeof node === 'number' && !Number.isFinite(node)) {
      throw new AutolabError('INVALID_VALUE', `${what}${path ? ` at ${path}` : ''}: ${node} is not a finite number.`, {details: {what, path}})
    }
    if (typeof node !== 'object' || node === null) continue
    if (depth >= CONFIG_VALUE_LIMITS.maxDepth) throw tooDeepError(what)
    // Own keys, as JSON.parse and YAML create them: "__proto__" is an own key there.
    for (const key of Object.keys(node)) {
      const keyPath = Array.isArray(node) ? `${path}[${key}]` : path ? `${path}.${key}` : key
      if (!Array.isArray(node) && FORBIDDEN_KEYS.has(key)) throw forbiddenKey(what, keyPath)
      stack.push({value: (node as JsonObject)[key], path: keyPath, depth: depth + 1})
    }
  }
}

/** The error for a value nested past CONFIG_VALUE_LIMITS.maxDepth (also when a parser overflowed on it). */
export function tooDeepError(what: string): AutolabError {
  return new AutolabError('INVALID_VALUE', `${what} is nested too deeply: at most ${CONFIG_VALUE_LIMITS.maxDepth} levels.`, {
    details: {what, max_depth: CONFIG_VALUE_LIMITS.maxDepth},
  })
}

function forbiddenKey(what: string, key: string): AutolabError {
  return new AutolabError('INVALID_ARGUMENT', `${what}: the key "${key}" is not allowed (__proto__, constructor and prototype would reach the object's prototype).`, {
    details: {what, key},
  })
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

/** Parse `a.b.c=value` into a nested patch object: the one parser of `--set`, with its bounds. */
export function parseSet(assignment: string): {key: string; value: unknown; patch: JsonObject} {
  checkConfigSize(Buffer.byteLength(assignment), '--set')
  const eq = assignment.indexOf('=')
  if (eq <= 0) {
    throw new AutolabError('INVALID_ARGUMENT', `Bad --set "${shorten(assignment)}": expected key=value, e.g. --set learning_rate=0.05 or --set task.modulus=11.`)
  }
  const key = assignment.slice(0, eq).trim()
  const parts = key.split('.')
  if (parts.some((p) => !KEY_PART.test(p))) {
    throw new AutolabError('INVALID_ARGUMENT', `Bad --set key "${shorten(key)}": use dotted identifiers such as optimizer.lr.`)
  }
  if (parts.some((p) => FORBIDDEN_KEYS.has(p))) throw forbiddenKey(`--set ${shorten(key)}`, key)
  if (parts.length > CONFIG_VALUE_LIMITS.maxDepth) throw tooDeepError(`--set ${shorten(key)}`)
  const value = parseSetValue(assignment.slice(eq + 1))
  // The key's parts are levels of the config too: a.b.c=[1] is three objects and an array deep.
  checkConfigValue(value, `--set ${shorten(key)}`, parts.length - 1)
  const patch: JsonObject = {}
  let node = patch
  for (const part of parts.slice(0, -1)) {
    node[part] = {}
    node = node[part] as JsonObject
  }
  node[parts.at(-1)!] = value
  return {key, value, patch}
}

/** Long input quoted in a message is cut: the message is for reading, details keep nothing huge. */
function shorten(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text
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
  return nodeCrypto().createHash('sha256').update(text).digest('hex')
}

/** The value at a dotted key (`task.modulus`), own properties only; undefined when absent. */
export function getDotted(config: unknown, key: string): unknown {
  let node = config
  for (const part of key.split('.')) {
    if (!isPlainObject(node) || !Object.hasOwn(node, part)) return undefined
    node = node[part]
  }
  return node
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
