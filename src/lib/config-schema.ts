// The recipe config schema: what keys a run's config may have and what values they take, so a
// typo or a wrong value is refused before anything starts instead of killing the trainer 3 s in.
// A schema is flat, by dotted key (`task.modulus`); it is declared in the recipe (`schema:`) or
// inferred from the recipe's default config (each leaf's JSON type). Rules:
//  - a key is known when it is declared, or lies under a declared key that is open: `object`
//    without declared sub-keys, or a key without a type (anything goes under it);
//  - a key with declared sub-keys is a closed object (declared or implied by the sub-keys);
//  - a typed key refuses null unless `nullable: true`; an untyped key takes any value;
//  - `hot_params` ranges narrow the key's range (a hot value must be a number).
import {type JsonObject, isPlainObject} from './config-merge.js'
import {AutolabError} from './output/errors.js'

export const SCHEMA_TYPES = ['number', 'integer', 'string', 'boolean', 'object', 'array'] as const
export type SchemaType = (typeof SCHEMA_TYPES)[number]
export type EnumValue = string | number | boolean

export interface KeySchema {
  /** Absent: any value (and any sub-keys). */
  type?: SchemaType
  min?: number
  max?: number
  enum?: EnumValue[]
  /** A typed key takes null only when nullable. */
  nullable?: boolean
  description?: string
}

/** By dotted key. `null` as a recipe's schema means no schema: no key is checked. */
export type ConfigSchema = Record<string, KeySchema>

export interface HotRange {
  min?: number
  max?: number
}

export interface ConfigProblem {
  code: 'UNKNOWN_CONFIG_KEY' | 'INVALID_VALUE'
  /** The dotted key, as written in --set. */
  key: string
  /** What the schema wants (a phrase: "a number in [0, 100]", "a known key"). */
  expected: string
  /** The value given (cut short when its JSON is long). */
  given: unknown
  /** For unknown keys: the nearest known keys, best first. */
  nearest?: string[]
  message: string
}

export interface ValidateOptions {
  hotParams?: Record<string, HotRange>
  /** Accept keys the schema does not know (their values are not checked). */
  allowNewKeys?: boolean
}

const SPEC_FIELDS = new Set(['type', 'min', 'max', 'enum', 'nullable', 'description'])
const KEY_PART = /^[A-Za-z_][A-Za-z0-9_-]*$/
const FORBIDDEN_PARTS = new Set(['__proto__', 'constructor', 'prototype'])

/**
 * Parse a `schema:` declaration. `bad(field, why)` throws the caller's INVALID_CONFIG naming
 * the field (relative to the schema: "learning_rate.min").
 */
export function parseSchemaDeclaration(raw: unknown, bad: (field: string, why: string) => never): ConfigSchema {
  if (!isPlainObject(raw)) bad('', 'must be a mapping of dotted config key to {type, min, max, enum, nullable, description}')
  const schema: ConfigSchema = {}
  for (const [key, value] of Object.entries(raw as JsonObject)) {
    const parts = key.split('.')
    if (parts.some((p) => !KEY_PART.test(p) || FORBIDDEN_PARTS.has(p))) bad(key, 'keys are dotted identifiers such as task.modulus')
    if (!isPlainObject(value)) bad(key, 'must be a mapping such as {type: number, min: 0}')
    const spec = value as JsonObject
    for (const field of Object.keys(spec)) if (!SPEC_FIELDS.has(field)) bad(`${key}.${field}`, `unknown field; known: ${[...SPEC_FIELDS].join(', ')}`)
    const out: KeySchema = {}
    if (spec.type !== undefined) {
      if (!(SCHEMA_TYPES as readonly unknown[]).includes(spec.type)) bad(`${key}.type`, `must be one of ${SCHEMA_TYPES.join(', ')}`)
      out.type = spec.type as SchemaType
    }
    for (const bound of ['min', 'max'] as const) {
      if (spec[bound] === undefined) continue
      if (typeof spec[bound] !== 'number' || !Number.isFinite(spec[bound])) bad(`${key}.${bound}`, 'must be a finite number')
      if (out.type !== 'number' && out.type !== 'integer') bad(`${key}.${bound}`, 'only a number or integer key has a range (give type: number or integer)')
      out[bound] = spec[bound] as number
    }
    if (out.min !== undefined && out.max !== undefined && out.min > out.max) bad(key, 'min is greater than max')
    if (spec.enum !== undefined) {
      if (!Array.isArray(spec.enum) || spec.enum.length === 0) bad(`${key}.enum`, 'must be a non-empty list of values')
      for (const option of spec.enum as unknown[]) {
        if (!['string', 'number', 'boolean'].includes(typeof option)) bad(`${key}.enum`, 'values are strings, numbers or booleans')
        if (out.type !== undefined && typeProblem(out.type, option)) bad(`${key}.enum`, `${JSON.stringify(option)} is not ${typePhrase(out.type)}`)
      }
      out.enum = spec.enum as EnumValue[]
    }
    if (spec.nullable !== undefined) {
      if (typeof spec.nullable !== 'boolean') bad(`${key}.nullable`, 'must be true or false')
      out.nullable = spec.nullable as boolean
    }
    if (spec.description !== undefined) {
      if (typeof spec.description !== 'string') bad(`${key}.description`, 'must be a string')
      out.description = spec.description as string
    }
    schema[key] = out
  }
  // A key under a scalar key could never be set: `lr: {type: number}` with `lr.x`.
  for (const key of Object.keys(schema)) {
    for (const ancestor of ancestors(key)) {
      const type = schema[ancestor]?.type
      if (type !== undefined && type !== 'object') bad(key, `${ancestor} is declared as ${type}, so it has no sub-keys`)
    }
  }
  return schema
}

/** The schema a default config implies: each leaf's JSON type; nested objects are closed. `null` for an empty config (nothing to go by). */
export function inferSchema(config: JsonObject): ConfigSchema | null {
  if (Object.keys(config).length === 0) return null
  const schema: ConfigSchema = {}
  const walk = (node: JsonObject, prefix: string): void => {
    for (const [k, v] of Object.entries(node)) {
      const key = prefix ? `${prefix}.${k}` : k
      if (isPlainObject(v) && Object.keys(v).length > 0) walk(v, key)
      else schema[key] = inferKey(v)
    }
  }
  walk(config, '')
  return schema
}

function inferKey(value: unknown): KeySchema {
  if (value === null) return {} // a null default says nothing about the type
  if (Array.isArray(value)) return {type: 'array'}
  if (isPlainObject(value)) return {type: 'object'}
  return {type: typeof value as 'number' | 'string' | 'boolean'}
}

/**
 * The schema extended with the keys of `config` it does not know (inferred from their values):
 * a fork accepts what its parent's config already holds (keys added with --allow-new-keys).
 */
export function extendSchema(schema: ConfigSchema | null, config: JsonObject): ConfigSchema | null {
  if (schema === null) return null
  const extra = inferSchema(config) ?? {}
  const index = indexSchema(schema)
  const out = {...schema}
  for (const [key, spec] of Object.entries(extra)) {
    if (lookup(index, key).kind === 'unknown') out[key] = spec
  }
  return out
}

/**
 * Hot params a schema does not know yet (an inferred schema: hot keys absent from the default
 * config) become keys: numbers when they have a range.
 */
export function withHotParams(schema: ConfigSchema | null, hotParams: Record<string, HotRange>): ConfigSchema | null {
  if (schema === null) return null
  const index = indexSchema(schema)
  const out = {...schema}
  for (const [key, range] of Object.entries(hotParams)) {
    if (lookup(index, key).kind === 'unknown') out[key] = range.min !== undefined || range.max !== undefined ? {type: 'number'} : {}
  }
  return out
}

interface SchemaIndex {
  schema: ConfigSchema
  /** Keys with declared sub-keys (declared or implied), i.e. closed objects. */
  parents: Set<string>
}

function indexSchema(schema: ConfigSchema): SchemaIndex {
  const parents = new Set<string>()
  for (const key of Object.keys(schema)) for (const a of ancestors(key)) parents.add(a)
  return {schema, parents}
}

/** `a.b.c` → [`a`, `a.b`] */
function ancestors(key: string): string[] {
  const parts = key.split('.')
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('.'))
}

type Lookup = {kind: 'declared'; spec: KeySchema} | {kind: 'parent'} | {kind: 'open'} | {kind: 'unknown'}

/** What the schema says about one dotted key. */
function lookup(index: SchemaIndex, key: string): Lookup {
  const spec = Object.hasOwn(index.schema, key) ? index.schema[key] : undefined
  if (spec && !index.parents.has(key)) return {kind: 'declared', spec}
  if (index.parents.has(key)) return spec ? {kind: 'declared', spec} : {kind: 'parent'}
  for (const a of ancestors(key).reverse()) {
    if (index.parents.has(a)) return {kind: 'unknown'} // a closed object: a sibling of its declared keys
    if (Object.hasOwn(index.schema, a)) return {kind: 'open'}
  }
  return {kind: 'unknown'}
}

/** Whether the schema knows `key` (declared, implied as a parent, or under an open key). */
export function isKnownKey(schema: ConfigSchema | null, key: string): boolean {
  return schema === null || lookup(indexSchema(schema), key).kind !== 'unknown'
}

/** The schema entry of a key, with a hot range folded in (a hot value is a number). */
export function effectiveSpec(schema: ConfigSchema | null, key: string, hot?: HotRange): KeySchema | undefined {
  const declared = schema && Object.hasOwn(schema, key) ? schema[key] : undefined
  if (!hot || (hot.min === undefined && hot.max === undefined)) return declared
  const spec: KeySchema = {...declared, type: declared?.type === 'integer' ? 'integer' : 'number'}
  if (hot.min !== undefined) spec.min = spec.min === undefined ? hot.min : Math.max(spec.min, hot.min)
  if (hot.max !== undefined) spec.max = spec.max === undefined ? hot.max : Math.min(spec.max, hot.max)
  return spec
}

/** Every problem of a merged config against a schema (and the hot params' ranges); [] when it is valid. */
export function validateConfig(config: JsonObject, schema: ConfigSchema | null, options: ValidateOptions = {}): ConfigProblem[] {
  const problems: ConfigProblem[] = []
  const hot = options.hotParams ?? {}
  // Hot ranges apply with or without a schema.
  const index = indexSchema(schema ?? {})
  const walk = (node: JsonObject, prefix: string): void => {
    for (const [k, value] of Object.entries(node)) {
      const key = prefix ? `${prefix}.${k}` : k
      const found = schema === null ? ({kind: 'open'} as const) : lookup(index, key)
      if (found.kind === 'unknown') {
        if (!options.allowNewKeys) problems.push(unknownKey(index, firstLeaf(key, value), value))
        continue
      }
      const spec = effectiveSpec(schema, key, hot[key])
      if (spec) {
        const problem = valueProblem(key, spec, value)
        if (problem) {
          problems.push(problem)
          continue
        }
      }
      if (isPlainObject(value)) {
        if (index.parents.has(key) || hasHotBelow(hot, key)) walk(value, key)
      } else if (index.parents.has(key) && spec?.type === undefined && !(value === null && spec?.nullable)) {
        // A key with declared sub-keys given a scalar (`task=7`): they could not be set.
        problems.push(invalid(key, spec?.nullable ? 'an object or null' : 'an object', value))
      }
    }
  }
  walk(config, '')
  return problems
}

function hasHotBelow(hot: Record<string, HotRange>, key: string): boolean {
  return Object.keys(hot).some((h) => h.startsWith(`${key}.`))
}

/** Throw the first problem as an AutolabError (details: key, expected, given, nearest, and every problem). */
export function assertValidConfig(config: JsonObject, schema: ConfigSchema | null, options: ValidateOptions & {recipe: string}): void {
  const problems = validateConfig(config, schema, options)
  if (problems.length === 0) return
  throw problemError(problems[0], problems, options.recipe)
}

export function problemError(first: ConfigProblem, problems: ConfigProblem[], recipe: string): AutolabError {
  const others = problems.length > 1 ? ` (${problems.length - 1} more problem${problems.length > 2 ? 's' : ''} in details.problems)` : ''
  const details: Record<string, unknown> = {recipe, key: first.key, expected: first.expected, given: first.given}
  if (first.nearest) details.nearest = first.nearest
  if (problems.length > 1) details.problems = problems.slice(0, 20).map(({message: _m, ...p}) => p)
  const suggestedAction = first.code === 'UNKNOWN_CONFIG_KEY'
    ? (first.nearest?.length
      ? `Use ${first.nearest.map((k) => `\`${k}\``).join(' or ')} instead of \`${first.key}\`; every key is in \`autolab recipe show ${recipe} --json\`. If the trainer really takes \`${first.key}\`, add --allow-new-keys.`
      : `See the recipe's keys with \`autolab recipe show ${recipe} --json\`; if the trainer really takes \`${first.key}\`, add --allow-new-keys.`)
    : `Give ${first.key} ${first.expected}; the recipe's keys and ranges are in \`autolab recipe show ${recipe} --json\`.`
  const message = first.code === 'UNKNOWN_CONFIG_KEY'
    ? `Unknown config key \`${first.key}\` for recipe ${recipe}.${first.nearest?.length ? ` Did you mean ${first.nearest.map((k) => `\`${k}\``).join(' or ')}?` : ''}`
    : first.message
  return new AutolabError(first.code, `${message}${others}`, {details, suggestedAction})
}

/** The problem with one value for a key, or null. */
export function valueProblem(key: string, spec: KeySchema, value: unknown): ConfigProblem | null {
  const expected = expectedPhrase(spec)
  if (value === null) return spec.type === undefined || spec.nullable ? null : invalid(key, expected, value)
  if (spec.type !== undefined && typeProblem(spec.type, value)) return invalid(key, expected, value)
  if (spec.enum && !spec.enum.some((option) => option === value)) return invalid(key, expected, value)
  if (typeof value === 'number' && ((spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max))) {
    return invalid(key, expected, value)
  }
  return null
}

function typeProblem(type: SchemaType, value: unknown): boolean {
  switch (type) {
    case 'number': return typeof value !== 'number' || !Number.isFinite(value)
    case 'integer': return typeof value !== 'number' || !Number.isInteger(value)
    case 'string': return typeof value !== 'string'
    case 'boolean': return typeof value !== 'boolean'
    case 'object': return !isPlainObject(value)
    case 'array': return !Array.isArray(value)
  }
}

function typePhrase(type: SchemaType): string {
  return type === 'integer' || type === 'array' || type === 'object' ? `an ${type}` : `a ${type}`
}

/** "a number in [0, 100]", "an integer ≥ 2", "one of \"a\", \"b\"", "a string or null". */
export function expectedPhrase(spec: KeySchema): string {
  let phrase = spec.enum
    ? `one of ${spec.enum.map((o) => JSON.stringify(o)).join(', ')}`
    : spec.type ? typePhrase(spec.type) : 'any value'
  if (spec.min !== undefined && spec.max !== undefined) phrase += ` in [${spec.min}, ${spec.max}]`
  else if (spec.min !== undefined) phrase += ` ≥ ${spec.min}`
  else if (spec.max !== undefined) phrase += ` ≤ ${spec.max}`
  if (spec.nullable && spec.type !== undefined) phrase += ' or null'
  return phrase
}

function invalid(key: string, expected: string, value: unknown): ConfigProblem {
  const given = shortValue(value)
  return {code: 'INVALID_VALUE', key, expected, given, message: `${key}: expected ${expected}, got ${describeValue(given)}.`}
}

function unknownKey(index: SchemaIndex, key: string, value: unknown): ConfigProblem {
  const nearest = nearestIn(index, key)
  const hint = nearest.length > 0 ? ` Did you mean ${nearest.map((k) => `\`${k}\``).join(' or ')}?` : ''
  return {
    code: 'UNKNOWN_CONFIG_KEY', key, expected: 'a key of the recipe\'s schema', given: shortValue(value), nearest,
    message: `Unknown config key \`${key}\`.${hint}`,
  }
}

/** The dotted key of the first leaf of an unknown value (`--set tsak.modulus=7` → `tsak.modulus`). */
function firstLeaf(key: string, value: unknown): string {
  let k = key
  let v = value
  while (isPlainObject(v) && Object.keys(v).length > 0) {
    const first = Object.keys(v)[0]
    k = `${k}.${first}`
    v = v[first]
  }
  return k
}

/** A value as it goes into details: whole when its JSON is short, else the start of its JSON. */
function shortValue(value: unknown, max = 200): unknown {
  const json = JSON.stringify(value) ?? String(value)
  return json.length <= max ? value : `${json.slice(0, max)}… (${json.length} characters of JSON)`
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`
  if (Array.isArray(value)) return `the array ${JSON.stringify(value)}`
  if (isPlainObject(value)) return `the object ${JSON.stringify(value)}`
  return String(value)
}

/**
 * The known keys nearest to `key`, best first (at most 3): those whose last segment is the
 * same (`lr` → `optimizer.lr`, `modulus` → `task.modulus`), then by edit distance over the
 * dotted key (case-insensitive), within a third of the part where they differ (at least 2).
 */
export function nearestKeys(schema: ConfigSchema, key: string): string[] {
  return nearestIn(indexSchema(schema), key)
}

function nearestIn(index: SchemaIndex, key: string): string[] {
  const candidates = new Set([...Object.keys(index.schema), ...index.parents])
  const wanted = key.toLowerCase()
  const last = wanted.split('.').at(-1)!
  const scored: {key: string; score: number}[] = []
  for (const candidate of candidates) {
    if (candidate === key) continue
    const c = candidate.toLowerCase()
    const limit = distanceLimit(wanted, c)
    const distance = editDistance(wanted, c, limit)
    if (c.split('.').at(-1) === last) scored.push({key: candidate, score: -1 + distance / 1000})
    else if (distance <= limit) scored.push({key: candidate, score: distance})
  }
  return scored.sort((a, b) => a.score - b.score || a.key.localeCompare(b.key)).slice(0, 3).map((s) => s.key)
}

/**
 * How different two keys may be and still be a typo of each other: a third of the part where
 * they differ (at least 2), so a long shared prefix (`model.layer` / `model.name`) does not
 * make unrelated last segments look close.
 */
function distanceLimit(a: string, b: string): number {
  let start = 0
  while (start < a.length && start < b.length && a[start] === b[start]) start++
  let end = 0
  while (end < a.length - start && end < b.length - start && a[a.length - 1 - end] === b[b.length - 1 - end]) end++
  return Math.max(2, Math.floor((Math.max(a.length, b.length) - start - end) / 3))
}

/**
 * Edit distance with adjacent transpositions (optimal string alignment: `learnign` is 1 from
 * `learning`), cut off above `limit` (then it returns limit + 1).
 */
export function editDistance(a: string, b: string, limit = Number.POSITIVE_INFINITY): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1
  let before: number[] = []
  let previous = Array.from({length: b.length + 1}, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    let rowMin = i
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) current[j] = Math.min(current[j], before[j - 2] + 1)
      rowMin = Math.min(rowMin, current[j])
    }
    if (rowMin > limit) return limit + 1
    before = previous
    previous = current
  }
  return Math.min(previous[b.length], limit + 1)
}
