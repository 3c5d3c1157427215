// Config versions: look one up by id (or a unique prefix of at least 6 characters), and compare
// the configs of two runs key by key.
import {flatten} from './config-merge.js'
import {AutolabError} from './output/errors.js'
import {getConfigBody, resolveRun} from './runs/queries.js'
import type {Store} from './store/open.js'

export interface ConfigView {
  config_id: string
  config: Record<string, unknown>
  created_at: string
  /** Runs whose config (current or a past version) this is. */
  runs: {run_id: string; version: number; effective_step: number | null}[]
}

export function getConfig(store: Store, ref: string): ConfigView {
  if (!/^[0-9a-f]{6,64}$/.test(ref)) throw new AutolabError('INVALID_ARGUMENT', `"${ref}" is not a config id: give the hex id or at least its first 6 characters.`)
  const rows = store.all(store.db.selectFrom('configs').selectAll().where('config_id', 'like', `${ref}%`).limit(2))
  if (rows.length === 0) throw new AutolabError('CONFIG_NOT_FOUND', `No config ${ref}.`, {details: {config_id: ref}})
  if (rows.length > 1) throw new AutolabError('INVALID_ARGUMENT', `Config prefix ${ref} is ambiguous; give more characters.`)
  const row = rows[0]
  const runs = store.all(store.db.selectFrom('run_configs').select(['run_id', 'version', 'effective_step']).where('config_id', '=', row.config_id).orderBy('run_id').orderBy('version'))
  return {config_id: row.config_id, config: JSON.parse(row.body), created_at: row.created_at, runs}
}

export interface ConfigDiff {
  a: {run_id: string; config_id: string}
  b: {run_id: string; config_id: string}
  /** Dotted keys whose values differ; a missing key is null on that side (with `missing`). */
  differences: {key: string; a: unknown; b: unknown; missing?: 'a' | 'b'}[]
  same: boolean
}

export function diffRuns(store: Store, refA: string, refB: string): ConfigDiff {
  const runA = resolveRun(store, refA)
  const runB = resolveRun(store, refB)
  const a = flatten(getConfigBody(store, runA.config_id))
  const b = flatten(getConfigBody(store, runB.config_id))
  const differences: ConfigDiff['differences'] = []
  for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    if (!(key in a)) differences.push({key, a: null, b: b[key], missing: 'a'})
    else if (!(key in b)) differences.push({key, a: a[key], b: null, missing: 'b'})
    else if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) differences.push({key, a: a[key], b: b[key]})
  }
  return {a: {run_id: runA.run_id, config_id: runA.config_id}, b: {run_id: runB.run_id, config_id: runB.config_id}, differences, same: differences.length === 0}
}
