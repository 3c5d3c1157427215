// Hot-modify and cadence: change a running run without restarting it.
// modify only touches the recipe's hot-modifiable parameters, range-checked; it writes a new
// config version and a new control.json version and returns `pending`. The trainer's
// acknowledgement (events.jsonl control_ack) stamps the version with the step it took effect at
// (sync.ts); `wait` blocks until then.
import {isDeepStrictEqual} from 'node:util'
import {applySets, getDotted, isPlainObject, parseSet} from '../config-merge.js'
import {campaignForMutation} from '../campaigns.js'
import type {Ctx} from '../context.js'
import {recordEvent} from '../events.js'
import {type ConfigSchema, effectiveSpec, expectedPhrase, isKnownKey, nearestKeys, valueProblem} from '../config-schema.js'
import {AutolabError} from '../output/errors.js'
import {CADENCE_BOUNDS, type ParamRange} from '../project.js'
import {shellQuote} from '../shell.js'
import type {Store} from '../store/open.js'
import type {RunRow} from '../store/schema.js'
import {updateControl} from './control.js'
import {argsHash, beginOperation, checkIdempotency, commitOperation, stepDone} from './journal.js'
import {reachHostOf, syncUntil} from './process-control.js'
import {getConfigBody, getRun, resolveRun} from './queries.js'
import {type ModifyUndo, rollbackOperation} from './rollback.js'
import {type ControlFile, parseControl} from './run-files.js'
import {runRecipeSpec, saveConfig} from './start.js'
import {schemaOfRun} from './config-check.js'
import {isTerminal} from './state-machine.js'

export interface ModifyOptions {
  run: string
  sets: string[]
  reason?: string
  idempotencyKey?: string
  /** Block until the trainer acknowledges (bounded by timeoutSeconds). */
  wait?: boolean
  timeoutSeconds?: number
}

export interface ModifyResult {
  run_id: string
  /** pending until the trainer acknowledges; acknowledged once it has. */
  status: 'pending' | 'acknowledged'
  overrides: Record<string, unknown>
  config_id: string
  config_version: number
  control_version: number
  /** The step the change took effect at (once acknowledged). */
  effective_step: number | null
  /** The values were already in effect: nothing was written, and the answer is acknowledged at once. */
  unchanged: boolean
  replayed: boolean
}

/**
 * When every value asked for is already the one in effect — the run's current (acknowledged)
 * config has it and no change is still pending — the answer to the modify, acknowledged as of
 * the step that config took effect at. Otherwise null: a real change.
 */
function valuesInEffect(store: Store, run: RunRow, overrides: Record<string, unknown>, control: ControlFile): ModifyResult | null {
  const pending = store.first(store.db.selectFrom('run_configs').select('version').where('run_id', '=', run.run_id).where('effective_step', 'is', null).limit(1))
  if (pending) return null
  const current = getConfigBody(store, run.config_id)
  if (!Object.entries(overrides).every(([key, value]) => isDeepStrictEqual(getDotted(current, key), value))) return null
  const version = store.first(store.db.selectFrom('run_configs').select(['version', 'effective_step']).where('run_id', '=', run.run_id)
    .where('config_id', '=', run.config_id).orderBy('version', 'desc').limit(1))
  return {
    run_id: run.run_id, status: 'acknowledged', overrides, config_id: run.config_id, config_version: version?.version ?? 1,
    control_version: control.version, effective_step: version?.effective_step ?? null, unchanged: true, replayed: false,
  }
}

const DEFAULT_WAIT_SECONDS = 60

export async function modifyRun(ctx: Ctx, options: ModifyOptions): Promise<ModifyResult> {
  const {store} = ctx
  const target = resolveRun(store, options.run)
  if (options.sets.length === 0) throw new AutolabError('INVALID_ARGUMENT', 'Nothing to modify: give at least one --set key=value.')
  const spec = runRecipeSpec(target.recipe_spec)
  const schema = schemaOfRun(store, target)
  const overrides: Record<string, unknown> = {}
  for (const assignment of options.sets) {
    const {key, value} = parseSet(assignment)
    checkHotValue(target, spec.hot_params, schema, key, value)
    overrides[key] = value
  }
  await reachHostOf(ctx, target)
  const hash = argsHash('modify', {run: target.run_id, overrides})
  const begun = store.write(() => {
    const replay = checkIdempotency<ModifyResult>(store, options.idempotencyKey, 'modify', hash)
    if (replay) return replay
    const run = getRun(store, target.run_id)
    if (run.status !== 'running') {
      throw new AutolabError('INVALID_TRANSITION', `Run ${run.run_id} is ${run.status}; only a running run can be hot-modified.`, {
        details: {run_id: run.run_id, status: run.status},
        suggestedAction: `Fork it with the new values instead: autolab fork ${run.run_id} ${options.sets.map((s) => `--set ${s}`).join(' ')}`,
      })
    }
    campaignForMutation(store, run.campaign_id, {startsCompute: false, now: ctx.now()})
    const control = parseControl(run.control)
    const unchanged = valuesInEffect(store, run, overrides, control)
    if (unchanged) {
      // The values are already what the trainer trains with: nothing to write, nothing for the
      // trainer to acknowledge (the contract needs no ack for a write that changes nothing).
      const op = beginOperation(store, {kind: 'modify', key: options.idempotencyKey, hash, runId: run.run_id, now: ctx.now()})
      commitOperation(store, op, unchanged, ctx.now())
      recordEvent(store, {kind: 'modify', time: ctx.now(), actor: ctx.actor, runId: run.run_id, reason: options.reason ?? null, args: {sets: options.sets}, result: unchanged})
      return {unchanged}
    }
    const config = applySets(getConfigBody(store, run.config_id), options.sets)
    const configId = saveConfig(store, config, ctx.now())
    const version = (store.first(store.db.selectFrom('run_configs').select((eb) => eb.fn.max('version').as('v')).where('run_id', '=', run.run_id))?.v ?? 0) + 1
    const op = beginOperation(store, {kind: 'modify', key: options.idempotencyKey, hash, runId: run.run_id, now: ctx.now()})
    const undo: ModifyUndo = {overrides: control.overrides, config_version: version}
    store.run(store.db.updateTable('operations').set({undo: JSON.stringify(undo)}).where('op_id', '=', op.opId))
    store.run(store.db.insertInto('run_configs').values({run_id: run.run_id, version, config_id: configId, effective_step: null, control_version: control.version + 1, created_at: ctx.now().toISOString()}))
    return {op, version, configId}
  })
  if ('replayed' in begun) return {...begun.result, replayed: true}
  if ('unchanged' in begun) return begun.unchanged as ModifyResult
  const {op, version, configId} = begun
  stepDone(store, op, 'reserve', ctx.now())
  let result: ModifyResult
  try {
    const control = await updateControl(ctx, target.run_id, (c) => ({overrides: {...(isPlainObject(c.overrides) ? c.overrides : {}), ...overrides}}))
    stepDone(store, op, 'control', ctx.now())
    result = store.write(() => {
      // The reserve transaction predicted the control version; correct it if another write came between.
      store.run(store.db.updateTable('run_configs').set({control_version: control.version}).where('run_id', '=', target.run_id).where('version', '=', version))
      const pending: ModifyResult = {run_id: target.run_id, status: 'pending', overrides, config_id: configId, config_version: version, control_version: control.version, effective_step: null, unchanged: false, replayed: false}
      commitOperation(store, op, pending, ctx.now())
      recordEvent(store, {kind: 'modify', time: ctx.now(), actor: ctx.actor, runId: target.run_id, reason: options.reason ?? null, args: {sets: options.sets}, result: pending})
      return pending
    })
  } catch (error) {
    await rollbackOperation(ctx, op.opId, error)
    throw error
  }
  if (options.wait) {
    const timeoutMs = (options.timeoutSeconds ?? DEFAULT_WAIT_SECONDS) * 1000
    await syncUntil(ctx, [target.run_id], () => effectiveStep(ctx, target.run_id, version) !== null || getRun(store, target.run_id).status !== 'running', timeoutMs, `waiting for ${target.run_id} to apply the change`)
    const step = effectiveStep(ctx, target.run_id, version)
    if (step !== null) return {...result, status: 'acknowledged', effective_step: step}
    ctx.warnings.push(`run ${target.run_id} did not acknowledge the change within ${timeoutMs / 1000} s; it is still pending`)
  }
  return result
}

/**
 * A hot value: a key of hot_params (PARAM_NOT_MODIFIABLE), of the schema's type (INVALID_VALUE),
 * within the range of both the schema and hot_params (PARAM_OUT_OF_RANGE).
 */
function checkHotValue(run: RunRow, hotParams: Record<string, ParamRange>, schema: ConfigSchema | null, key: string, value: unknown): void {
  const range = hotParams[key]
  if (range === undefined) throw notModifiable(run, hotParams, schema, key, value)
  const spec = effectiveSpec(schema, key, range) ?? {}
  const expected = expectedPhrase(spec)
  const wrongType = valueProblem(key, {...spec, min: undefined, max: undefined}, value)
  if (wrongType) {
    throw new AutolabError('INVALID_VALUE', wrongType.message, {
      details: {param: key, key, expected, given: wrongType.given},
      suggestedAction: `Give ${key} ${expected}: autolab modify ${run.run_id} --set ${key}=<value>`,
    })
  }
  if (valueProblem(key, spec, value)) {
    const bounds = `[${spec.min ?? '-∞'}, ${spec.max ?? '∞'}]`
    throw new AutolabError('PARAM_OUT_OF_RANGE', `${key}=${JSON.stringify(value)} is outside ${bounds}.`, {
      details: {param: key, value, min: spec.min, max: spec.max},
      // Not a fork: launch and fork hold the config to the same ranges.
      suggestedAction: `Pick a value of ${key} within ${bounds}; the range is the recipe's (hot_params and schema).`,
    })
  }
}

/**
 * PARAM_NOT_MODIFIABLE, with a next step that would itself succeed: the nearest hot key for a
 * typo, a fork for a known key with a valid value, never a command carrying the bad key.
 */
function notModifiable(run: RunRow, hotParams: Record<string, ParamRange>, schema: ConfigSchema | null, key: string, value: unknown): AutolabError {
  const hot = Object.keys(hotParams)
  const known = isKnownKey(schema, key)
  const nearest = known || schema === null ? [] : nearestKeys(schema, key)
  const setting = (k: string) => `--set ${shellQuote(`${k}=${typeof value === 'string' ? value : JSON.stringify(value)}`)}`
  const validFor = (k: string) => valueProblem(k, effectiveSpec(schema, k, hotParams[k]) ?? {}, value) === null
  const expectedOf = (k: string) => expectedPhrase(effectiveSpec(schema, k, hotParams[k]) ?? {})
  let action: string
  if (known) {
    action = validFor(key)
      ? `${key} changes only in a new run: autolab fork ${run.run_id} ${setting(key)}`
      : `${key} changes only in a new run, and needs ${expectedOf(key)}: autolab fork ${run.run_id} --set ${key}=<value>`
  } else if (nearest.length > 0) {
    const best = nearest[0]
    const verb = best in hotParams ? 'modify' : 'fork'
    action = validFor(best)
      ? `\`${key}\` is not a config key of recipe ${run.recipe}; did you mean \`${best}\`? autolab ${verb} ${run.run_id} ${setting(best)}`
      : `\`${key}\` is not a config key of recipe ${run.recipe}; did you mean \`${best}\` (${expectedOf(best)})? autolab ${verb} ${run.run_id} --set ${best}=<value>`
  } else {
    action = `\`${key}\` is not a config key of recipe ${run.recipe} (its keys: \`autolab recipe show ${run.recipe} --json\`; hot: ${hot.join(', ') || 'none'}). If the trainer really takes it: autolab fork ${run.run_id} ${setting(key)} --allow-new-keys`
  }
  return new AutolabError('PARAM_NOT_MODIFIABLE', `${key} is not hot-modifiable in recipe ${run.recipe} (hot: ${hot.join(', ') || 'none'})${known ? '' : `; it is not one of its config keys either${nearest.length ? ` (nearest: ${nearest.join(', ')})` : ''}`}.`, {
    details: {param: key, hot_params: hot, known_key: known, nearest},
    suggestedAction: action,
  })
}

function effectiveStep(ctx: Ctx, runId: string, version: number): number | null {
  return ctx.store.first(ctx.store.db.selectFrom('run_configs').select('effective_step').where('run_id', '=', runId).where('version', '=', version))?.effective_step ?? null
}

export interface CadenceOptions {
  run: string
  observe?: number
  sample?: number
  reason?: string
}

export interface CadenceResult {
  run_id: string
  observation_cadence: number
  sample_cadence: number
  /** The values asked for, where they had to be clamped to the bounds. */
  clamped: {observation_cadence?: number; sample_cadence?: number}
  bounds: typeof CADENCE_BOUNDS
}

const clamp = (value: number, bounds: {min: number; max: number}) => Math.min(bounds.max, Math.max(bounds.min, value))

export async function setCadence(ctx: Ctx, options: CadenceOptions): Promise<CadenceResult> {
  const {store} = ctx
  const run = resolveRun(store, options.run)
  if (options.observe === undefined && options.sample === undefined) {
    throw new AutolabError('INVALID_ARGUMENT', 'Give --observe N and/or --sample M.')
  }
  await reachHostOf(ctx, run)
  const clamped: CadenceResult['clamped'] = {}
  const observation = options.observe === undefined ? run.observation_cadence : clamp(options.observe, CADENCE_BOUNDS.observation)
  const sample = options.sample === undefined ? run.sample_cadence : clamp(options.sample, CADENCE_BOUNDS.sample)
  if (options.observe !== undefined && observation !== options.observe) clamped.observation_cadence = options.observe
  if (options.sample !== undefined && sample !== options.sample) clamped.sample_cadence = options.sample
  store.write(() => store.run(store.db.updateTable('runs').set({observation_cadence: observation, sample_cadence: sample}).where('run_id', '=', run.run_id)))
  // The trainer reads the sample cadence from control.json (a paused run reads it when resumed).
  if (!isTerminal(run.status)) await updateControl(ctx, run.run_id, () => ({observation_cadence: observation, sample_cadence: sample}))
  const result: CadenceResult = {run_id: run.run_id, observation_cadence: observation, sample_cadence: sample, clamped, bounds: CADENCE_BOUNDS}
  store.write(() => recordEvent(store, {kind: 'cadence', time: ctx.now(), actor: ctx.actor, runId: run.run_id, reason: options.reason ?? null, args: {observe: options.observe ?? null, sample: options.sample ?? null}, result}))
  return result
}
