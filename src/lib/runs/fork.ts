// fork: a new run from a run's checkpoint, as one atomic, journalled operation.
//   checkpoint  (exact step, nearest, the latest, or a fresh one requested from a running run)
//   reserve     (one write transaction: child row `starting` with parent and fork step, config, journal)
//   create-dir  (the child's run dir, created exclusively, with its marker)
//   materialize (the checkpoint hard-linked into the child's run dir, read-only; streamed from
//               the parent's host when the child goes to another one)
//   spawn       (the child resumes from its own copy)
//   commit      (child `running`, journal `committed`, decision-log event)
// Any failure undoes the done steps in reverse (rollback.ts); a crash is undone by the next process.
import {campaignForMutation} from '../campaigns.js'
import {type JsonObject, applySets, deepMerge} from '../config-merge.js'
import type {Ctx} from '../context.js'
import {recordEvent} from '../events.js'
import {AutolabError} from '../output/errors.js'
import {readConfigFile} from '../project.js'
import {safeName} from '../shell.js'
import type {CheckpointRow, RunRow} from '../store/schema.js'
import {checkpointAt, latestCheckpoint, noCheckpoint} from './checkpoints.js'
import {checkForkConfig} from './config-check.js'
import {updateControl} from './control.js'
import {argsHash, beginOperation, checkIdempotency, commitOperation, stepDone} from './journal.js'
import {type PauseResult, pauseRun} from './pause.js'
import {syncUntil} from './process-control.js'
import {configInEffectAt, getConfigBody, getRun, resolveRun} from './queries.js'
import {placeRun} from './placement.js'
import {rollbackOperation} from './rollback.js'
import {streamCheckpoint} from './transfer.js'
import {requireHost} from '../hosts/registry.js'
import {createRunDir, insertRun, liveTwin, recipeOfRun, runRecipeSpec, startRunProcess, twinWarning} from './start.js'
import {transition} from './state-machine.js'

export interface ForkOptions {
  run: string
  step?: number
  nearest?: boolean
  sets?: string[]
  patchFile?: string
  name?: string
  host?: string
  /** GPUs the child needs (0..64). [default: the parent's count] */
  gpus?: number
  pauseParent?: boolean
  copy?: boolean
  reason?: string
  idempotencyKey?: string
  /** The child's campaign (name or id). [default: the parent's] */
  campaign?: string
  /** How long to wait for a running parent's fresh checkpoint. */
  timeoutSeconds?: number
  /** Accept config keys the parent's schema does not know. */
  allowNewKeys?: boolean
}

export interface ForkResult {
  run_id: string
  parent_run_id: string
  fork_step: number
  /** The parent's config version the child's config is based on: the one in effect at fork_step + 1. */
  base_config_version: number
  config_id: string
  config: JsonObject
  /** The child's own copy of the checkpoint (what AUTOLAB_RESUME_FROM points at). */
  checkpoint: string
  /** The parent's checkpoint it came from. */
  source_checkpoint: string
  /** hardlink or copy on the parent's host; stream when the child is on another host (fork --host). */
  materialized: 'hardlink' | 'copy' | 'stream'
  checkpoint_bytes: number
  status: string
  pid: number | null
  host: string
  parent_status: string
  /** The campaign the child belongs to (the parent's unless --campaign). */
  campaign_id: string
  /** An earlier run still live forked from the same parent, step and config (see the status bar's warning), or null. */
  duplicate_of: string | null
  replayed: boolean
}

const DEFAULT_TIMEOUT_SECONDS = 60

export async function forkRun(ctx: Ctx, options: ForkOptions): Promise<ForkResult> {
  const {store} = ctx
  const parent = resolveRun(store, options.run)
  if (options.name !== undefined) safeName('run name', options.name)
  const hostId = options.host ?? parent.host_id
  // Another host gets the checkpoint streamed over (transfer.ts); it must exist before anything starts.
  if (hostId !== parent.host_id) requireHost(ctx, hostId)
  const patch = options.patchFile ? readConfigFile(options.patchFile) : {}
  const config = applySets(deepMerge(getConfigBody(store, parent.config_id), patch), options.sets ?? [])
  checkForkConfig(store, parent, config, {allowNewKeys: options.allowNewKeys})
  // The request, not the config it resolves to: the parent's config may change between retries.
  const hash = argsHash('fork', {
    parent: parent.run_id, step: options.step ?? null, nearest: options.nearest ?? false, sets: options.sets ?? [], patch, name: options.name ?? null,
    host: hostId, gpus: options.gpus ?? null, pause_parent: options.pauseParent ?? false, copy: options.copy ?? false, campaign: options.campaign ?? null, allow_new_keys: options.allowNewKeys ?? false,
  })
  // A retry must not ask the parent for another checkpoint: look the key up first.
  const early = store.write(() => checkIdempotency<ForkResult>(store, options.idempotencyKey, 'fork', hash))
  if (early) return {...early.result, replayed: true}

  const source = await chooseCheckpoint(ctx, parent, options)
  // The child continues from the checkpoint, so its base is the config the parent trained the
  // next step with — the version in effect at fork step + 1 — not the parent's latest (a modify
  // acknowledged after the fork step must not leak into the child). `config` above, from the
  // latest version, served to check the overrides before anything started.
  const base = configInEffectAt(store, parent.run_id, source.step + 1)
  const childConfig = applySets(deepMerge(base.config, patch), options.sets ?? [])
  const parentRecipe = recipeOfRun(parent)
  const recipe = options.gpus === undefined ? parentRecipe : {...parentRecipe, gpus: options.gpus}
  const parentSpec = runRecipeSpec(parent.recipe_spec)
  const executor = ctx.executor(hostId)
  const existingRunDirs = await executor.listRunDirs()
  const now = ctx.now()

  const reserved = store.write(() => {
    const replay = checkIdempotency<ForkResult>(store, options.idempotencyKey, 'fork', hash)
    if (replay) return replay
    const campaign = campaignForMutation(store, options.campaign ?? parent.campaign_id, {startsCompute: true, now, forkOf: options.campaign === undefined ? parent.run_id : undefined})
    const placement = placeRun(store, {hosts: [hostId], gpus: recipe.gpus, queueable: false})
    const {runId} = insertRun(store, {
      recipe, projectDir: recipe.projectDir, config: childConfig, placement, placementKind: 'pinned', runDir: (id) => executor.runDir(id), campaignId: campaign.campaign_id,
      name: options.name, parentRunId: parent.run_id, forkStep: source.step, existingRunDirs, trainerEnv: parentSpec.env,
      metrics: parentSpec.metrics ? {declared: parentSpec.metrics, primary: parentSpec.primary_metric ?? null} : undefined,
    }, now)
    const op = beginOperation(store, {kind: 'fork', key: options.idempotencyKey, hash, runId, now})
    return {op, runId}
  })
  if ('replayed' in reserved) return {...reserved.result, replayed: true}
  const {op, runId} = reserved
  stepDone(store, op, 'reserve', now)

  let result: ForkResult
  try {
    await createRunDir(ctx, runId)
    stepDone(store, op, 'create-dir', now)
    const child = getRun(store, runId)
    const checkpoint = `${child.run_dir}/checkpoints/step-${source.step}`
    const materialized = hostId === parent.host_id
      ? await executor.materializeCheckpoint(source.path, checkpoint, {copy: options.copy ?? false, sourceRunDir: parent.run_dir})
      : await streamCheckpoint(ctx, ctx.executor(parent.host_id), executor, {source: source.path, sourceRunDir: parent.run_dir, target: checkpoint})
    // The child owns its copy: it can be forked at the fork step too.
    store.write(() => store.run(store.db.insertInto('checkpoints').values({run_id: runId, step: source.step, path: checkpoint, bytes: materialized.bytes, created_at: ctx.now().toISOString()})))
    stepDone(store, op, 'materialize', now)

    const pid = await startRunProcess(ctx, runId, {config: childConfig, resumeFrom: checkpoint})
    stepDone(store, op, 'spawn', now)

    result = store.write(() => {
      transition(store, runId, 'starting', 'running', {started_at: ctx.now().toISOString()})
      const row = getRun(store, runId)
      const forked: ForkResult = {
        run_id: runId, parent_run_id: parent.run_id, fork_step: source.step, base_config_version: base.version, config_id: row.config_id, config: childConfig, checkpoint,
        source_checkpoint: source.path, materialized: materialized.method, checkpoint_bytes: materialized.bytes,
        status: row.status, pid, host: hostId, parent_status: getRun(store, parent.run_id).status, campaign_id: row.campaign_id, duplicate_of: liveTwin(store, row), replayed: false,
      }
      commitOperation(store, op, forked, ctx.now())
      recordEvent(store, {
        kind: 'fork', time: ctx.now(), actor: ctx.actor, runId, reason: options.reason ?? null,
        args: {parent_run_id: parent.run_id, campaign: options.campaign ?? null, step: options.step ?? null, nearest: options.nearest ?? false, sets: options.sets ?? [], patch_file: options.patchFile ?? null, name: options.name ?? null, copy: options.copy ?? false, allow_new_keys: options.allowNewKeys ?? false},
        result: {run_id: runId, fork_step: source.step, base_config_version: base.version, config_id: row.config_id, materialized: materialized.method, pid},
      })
      return forked
    })
  } catch (error) {
    await rollbackOperation(ctx, op.opId, error)
    throw error
  }
  if (result.duplicate_of) ctx.warnings.push(twinWarning(result.run_id, result.duplicate_of))
  if (options.pauseParent) {
    const paused: PauseResult = await pauseRun(ctx, {run: parent.run_id, reason: options.reason ? `fork ${runId}: ${options.reason}` : `forked into ${runId}`})
    result = {...result, parent_status: paused.status}
  }
  return result
}

async function chooseCheckpoint(ctx: Ctx, parent: RunRow, options: ForkOptions): Promise<CheckpointRow> {
  const {store} = ctx
  if (options.step !== undefined) return checkpointAt(store, parent.run_id, options.step, options.nearest ?? false)
  if (parent.status !== 'running') {
    const latest = latestCheckpoint(store, parent.run_id)
    if (!latest) throw noCheckpoint(store, parent.run_id, `Run ${parent.run_id} (${parent.status}) has no checkpoint to fork from.`)
    return latest
  }
  // A running parent is asked for a checkpoint after its next step (control.json save_now).
  const since = parent.step ?? 0
  await updateControl(ctx, parent.run_id, (c) => ({save_now: (c.save_now ?? 0) + 1}))
  const timeoutMs = (options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000
  let found: CheckpointRow | undefined
  const ok = await syncUntil(ctx, [parent.run_id], () => {
    const latest = latestCheckpoint(store, parent.run_id)
    if (latest && latest.step >= since) found = latest
    return found !== undefined || getRun(store, parent.run_id).status !== 'running'
  }, timeoutMs, `waiting for ${parent.run_id} to save a checkpoint to fork from`)
  if (found) return found
  if (!ok) {
    throw new AutolabError('TIMEOUT', `Run ${parent.run_id} did not save a checkpoint within ${timeoutMs / 1000} s.`, {
      details: {run_id: parent.run_id, since_step: since},
      suggestedAction: 'Fork from an existing checkpoint with --step (see `autolab show`), or raise --timeout; the trainer may ignore control.json save_now.',
    })
  }
  const latest = latestCheckpoint(store, parent.run_id)
  if (!latest) throw noCheckpoint(store, parent.run_id, `Run ${parent.run_id} stopped before saving a checkpoint.`)
  return latest
}
