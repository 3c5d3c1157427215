// Undoing a journalled operation that did not commit: called by the process that failed, and by
// recovery for operations whose process died. Every undo step is idempotent, and the operation
// is claimed first (UPDATE … WHERE state/pid match) so two processes never undo it at once.
import type {Ctx} from '../context.js'
import {recordEvent} from '../events.js'
import {isHostFault} from '../output/errors.js'
import type {Store} from '../store/open.js'
import {type OperationRow} from '../store/schema.js'
import {undoEval} from '../evals/rollback.js'
import {getOperation, markRolledBack} from './journal.js'
import {updateControl} from './control.js'
import {finishPause} from './pause.js'
import {killAndWait, stopProcess} from './process-control.js'
import {type ControlFile} from './run-files.js'
import {transition} from './state-machine.js'
import {runRows} from './queries.js'

const PAUSE_RECOVERY_TIMEOUT_MS = 10_000

/** Claim an open operation for rollback: only one process wins. */
function claim(store: Store, row: OperationRow): boolean {
  return store.write(() => store.run(store.db.updateTable('operations').set({pid: process.pid})
    .where('op_id', '=', row.op_id).where('state', '=', 'started').where('pid', '=', row.pid)).changes === 1)
}

export async function rollbackOperation(ctx: Ctx, opId: string, cause: unknown): Promise<boolean> {
  const {store} = ctx
  const row = getOperation(store, opId)
  if (row.state !== 'started' || !claim(store, row)) return false
  const reason = cause instanceof Error ? cause.message : String(cause)
  if (row.run_id && (row.kind === 'launch' || row.kind === 'fork')) await undoNewRun(ctx, row.run_id, `${row.kind} rolled back: ${reason}`)
  if (row.run_id && row.kind === 'kill') await finishKill(ctx, row.run_id)
  if (row.run_id && row.kind === 'pause') await finishPause(ctx, row.run_id, PAUSE_RECOVERY_TIMEOUT_MS)
  if (row.run_id && row.kind === 'resume') await undoResume(ctx, row.run_id)
  if (row.run_id && row.kind === 'modify') await undoModify(ctx, row.run_id, row.undo)
  if (row.kind === 'eval') await undoEval(ctx, row.undo, `eval rolled back: ${reason}`)
  store.write(() => {
    markRolledBack(store, opId, reason, ctx.now())
    recordEvent(store, {kind: 'rollback', time: ctx.now(), actor: ctx.actor, runId: row.run_id, args: {op_id: opId, op: row.kind, steps_done: JSON.parse(row.steps_done)}, result: {error: reason}})
  })
  return true
}

/** A run created by an operation that did not commit: no process, no directory, row `failed`. */
async function undoNewRun(ctx: Ctx, runId: string, reason: string): Promise<void> {
  const {store} = ctx
  const run = store.first(runRows(store).where('run_id', '=', runId))
  if (!run) return
  const executor = ctx.executor(run.host_id)
  try {
    // A crash between spawn and saving the pid column leaves only the wrapper's pid file.
    const pid = run.pid ?? await executor.readPid(run.run_dir)
    if (pid !== null) await killAndWait(ctx, run.host_id, pid, run.run_dir)
    // Only a directory this run created (its marker names this store and run): one found in the
    // way belongs to someone else and is left alone.
    const marker = await executor.readRunDirMarker(run.run_dir)
    if (marker?.store_id === store.id && marker.run_id === runId) await executor.removeRunDir(run.run_dir)
  } catch (error) {
    // The host went away half way: the run still ends `failed` here, so nothing waits on a host
    // that may never answer; what is left there (a directory, maybe a process) is what `doctor`
    // reports once the host is back, and `doctor --fix` (or tick) stops such a process.
    if (!isHostFault(error)) throw error
    ctx.warnings.push(`${runId}: host ${run.host_id} could not be cleaned up (${error.code}); \`autolab doctor --fix\` finishes it once the host is back`)
  }
  store.write(() => {
    const current = store.first(store.db.selectFrom('runs').select('status').where('run_id', '=', runId))
    if (current?.status === 'starting' || current?.status === 'running') {
      transition(store, runId, current.status, 'failed', {error: reason, ended_at: ctx.now().toISOString()})
    }
  })
}

/** A kill cannot be undone once signals may have been sent: recovery finishes it instead. */
async function finishKill(ctx: Ctx, runId: string): Promise<void> {
  const {store} = ctx
  const run = store.first(runRows(store).where('run_id', '=', runId))
  if (run?.status !== 'killing') return
  await stopProcess(ctx, runId, 0)
  store.write(() => {
    const current = store.first(store.db.selectFrom('runs').select('status').where('run_id', '=', runId))
    if (current?.status === 'killing') transition(store, runId, 'killing', 'killed', {ended_at: ctx.now().toISOString()})
  })
}

/** A resume that did not commit: no process, back to `paused`. */
async function undoResume(ctx: Ctx, runId: string): Promise<void> {
  const {store} = ctx
  const run = store.first(runRows(store).where('run_id', '=', runId))
  if (run?.status !== 'starting') return
  // The pid column may still hold the pre-pause process if the crash came before it was saved.
  for (const pid of new Set([run.pid, await ctx.executor(run.host_id).readPid(run.run_dir)])) {
    if (pid !== null) await killAndWait(ctx, run.host_id, pid, run.run_dir)
  }
  await updateControl(ctx, runId, () => ({state: 'pause'}))
  store.write(() => transition(store, runId, 'starting', 'paused', {pid: null, ended_at: ctx.now().toISOString()}))
}

export interface ModifyUndo {
  /** The overrides in control.json before the modify. */
  overrides: ControlFile['overrides']
  /** The config version the modify added. */
  config_version: number
}

/**
 * A modify that did not commit: drop its config version and put the previous overrides back in
 * control.json (with a new version, so a trainer that already applied the new values reverts).
 */
async function undoModify(ctx: Ctx, runId: string, undoJson: string | null): Promise<void> {
  if (!undoJson) return
  const undo = JSON.parse(undoJson) as ModifyUndo
  const {store} = ctx
  store.write(() => store.run(store.db.deleteFrom('run_configs').where('run_id', '=', runId).where('version', '=', undo.config_version)))
  await updateControl(ctx, runId, () => ({overrides: undo.overrides}))
}
