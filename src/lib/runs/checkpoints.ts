// Choosing a checkpoint to fork or resume from.
import {AutolabError} from '../output/errors.js'
import type {Store} from '../store/open.js'
import type {CheckpointRow} from '../store/schema.js'

export function checkpointsOf(store: Store, runId: string): CheckpointRow[] {
  return store.all(store.db.selectFrom('checkpoints').selectAll().where('run_id', '=', runId).orderBy('step'))
}

export function latestCheckpoint(store: Store, runId: string): CheckpointRow | undefined {
  return store.first(store.db.selectFrom('checkpoints').selectAll().where('run_id', '=', runId).orderBy('step', 'desc').limit(1))
}

/** The checkpoint at exactly `step`, or with `nearest` the latest at or before it. */
export function checkpointAt(store: Store, runId: string, step: number, nearest: boolean): CheckpointRow {
  const query = store.db.selectFrom('checkpoints').selectAll().where('run_id', '=', runId)
  const found = nearest
    ? store.first(query.where('step', '<=', step).orderBy('step', 'desc').limit(1))
    : store.first(query.where('step', '=', step))
  if (found) return found
  throw noCheckpoint(store, runId, nearest ? `Run ${runId} has no checkpoint at or before step ${step}.` : `Run ${runId} has no checkpoint at step ${step}.`)
}

export function noCheckpoint(store: Store, runId: string, message: string): AutolabError {
  const available = checkpointsOf(store, runId).map((c) => c.step)
  return new AutolabError('NO_CHECKPOINT', message, {
    details: {run_id: runId, available_steps: available},
    suggestedAction: available.length > 0
      ? `Pick one of the available steps (${available.slice(-10).join(', ')}), or pass --nearest.`
      : 'Fork a run that has saved checkpoints, or omit --step to ask a running run for one.',
  })
}
