// Undoing an eval that did not commit (rollback.ts calls this for the `eval` operation kind):
// its process killed, its directory removed, the row `failed`. Every step is idempotent.
import type {Ctx} from '../context.js'
import {isHostFault} from '../output/errors.js'
import {killAndWait} from '../runs/process-control.js'
import {isLiveEval, transitionEval, type EvalStatus} from './state.js'

/** `undo`: the operation's undo column, {eval_id}. */
export async function undoEval(ctx: Ctx, undoJson: string | null, reason: string): Promise<void> {
  if (!undoJson) return
  const {eval_id: evalId} = JSON.parse(undoJson) as {eval_id: string}
  const {store} = ctx
  const row = store.first(store.db.selectFrom('evals').selectAll().where('eval_id', '=', evalId))
  if (!row || !isLiveEval(row.status)) return
  const executor = ctx.executor(row.host_id)
  try {
    // A crash between spawn and saving the pid column leaves only the wrapper's pid file.
    const pid = row.pid ?? await executor.readPid(row.dir)
    if (pid !== null) await killAndWait(ctx, row.host_id, pid, row.dir)
    await executor.removeRunDir(row.dir)
  } catch (error) {
    // The host went away: the eval still ends `failed`, and what is left there is doctor's.
    if (!isHostFault(error)) throw error
    ctx.warnings.push(`${evalId}: host ${row.host_id} could not be cleaned up (${error.code}); \`autolab doctor --fix\` finishes it once the host is back`)
  }
  store.write(() => {
    const current = store.first(store.db.selectFrom('evals').select('status').where('eval_id', '=', evalId))
    if (current && isLiveEval(current.status)) transitionEval(store, evalId, current.status as EvalStatus, 'failed', {error: reason, ended_at: ctx.now().toISOString()})
  })
}
