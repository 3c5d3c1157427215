// The operations journal: every multi-step action (launch now; fork, kill, pause, resume and
// modify later) writes an intent row first, records each step as it completes, and commits.
// A failure rolls the done steps back in reverse; a row left `started` by a process that died
// is rolled back by the next autolab process that opens the store (see recovery.ts).
// Idempotency: a key names one operation; a retry with the same key and the same arguments
// gets the first result, with different arguments CONFLICT.
import {nodeCrypto} from '../lazy-modules.js'
import {canonicalJson, sha256} from '../config-merge.js'
import {AutolabError} from '../output/errors.js'
import type {Store} from '../store/open.js'
import type {OperationRow} from '../store/schema.js'

export type OperationKind = 'launch' | 'fork' | 'kill' | 'pause' | 'resume' | 'modify'
  | 'note' | 'message' | 'cadence' | 'campaign_create' | 'campaign_finalize' | 'eval' | 'eval_kill'

export interface Operation {
  opId: string
  kind: OperationKind
  runId: string | null
}

/** Replay of a committed operation for a retried idempotency key. */
export interface Replay<T> {
  replayed: true
  result: T
}

export function argsHash(kind: string, args: unknown): string {
  return sha256(canonicalJson({kind, args}))
}

/**
 * Look up an idempotency key inside a write transaction. Returns the first result for a
 * committed twin, throws CONFLICT for a different use of the key and OPERATION_IN_PROGRESS
 * (retryable) for a twin still in flight, and returns undefined when the key is free (a
 * rolled-back twin frees its key).
 */
export function checkIdempotency<T>(store: Store, key: string | undefined, kind: OperationKind, hash: string): Replay<T> | undefined {
  if (!key) return undefined
  const row = store.first(store.db.selectFrom('operations').selectAll().where('idempotency_key', '=', key))
  if (!row) return undefined
  if (row.kind !== kind || row.args_hash !== hash) {
    throw new AutolabError('CONFLICT', `Idempotency key "${key}" was already used for a different ${row.kind} operation.`, {
      details: {idempotency_key: key, op_id: row.op_id, kind: row.kind},
      suggestedAction: 'Use a new idempotency key for a different operation.',
    })
  }
  if (row.state === 'committed') return {replayed: true, result: JSON.parse(row.result ?? 'null') as T}
  if (row.state === 'rolled_back') {
    // The first attempt left no trace; free the key for this attempt.
    store.run(store.db.updateTable('operations').set({idempotency_key: null}).where('op_id', '=', row.op_id))
    return undefined
  }
  throw new AutolabError('OPERATION_IN_PROGRESS', `Operation with idempotency key "${key}" is still in progress (pid ${row.pid}).`, {
    details: {idempotency_key: key, op_id: row.op_id},
  })
}

/** Insert the intent row. Call inside the write transaction that reserves the operation's rows. */
export function beginOperation(store: Store, options: {kind: OperationKind; key?: string; hash: string; runId: string | null; now: Date}): Operation {
  const opId = nodeCrypto().randomUUID()
  const time = options.now.toISOString()
  store.run(store.db.insertInto('operations').values({
    op_id: opId, kind: options.kind, idempotency_key: options.key ?? null, args_hash: options.hash, state: 'started',
    steps_done: '[]', run_id: options.runId, result: null, error: null, pid: process.pid, created_at: time, updated_at: time,
  }))
  return {opId, kind: options.kind, runId: options.runId}
}

/**
 * Record that a step finished, then honour AUTOLAB_FAULT=<kind>:<step>: the process dies on the
 * spot (SIGKILL, no cleanup), as a crash would, so tests can check recovery from every step.
 */
export function stepDone(store: Store, op: Operation, step: string, now: Date): void {
  store.write(() => {
    const row = getOperation(store, op.opId)
    const steps = JSON.parse(row.steps_done) as string[]
    steps.push(step)
    store.run(store.db.updateTable('operations').set({steps_done: JSON.stringify(steps), updated_at: now.toISOString()}).where('op_id', '=', op.opId))
  })
  faultPoint(op.kind, step)
}

export function faultPoint(kind: string, step: string): void {
  if (process.env.AUTOLAB_FAULT === `${kind}:${step}`) process.kill(process.pid, 'SIGKILL')
  const hold = process.env.AUTOLAB_FAULT_HOLD
  if (hold?.startsWith(`${kind}:${step}:`)) holdAt(hold.slice(kind.length + step.length + 2))
}

/**
 * AUTOLAB_FAULT_HOLD=<kind>:<step>:<file>: stop here (blocking, up to a minute) until <file>
 * exists, after creating <file>.held — so a test can do something in the middle of an operation
 * (stop a host's sshd half way through a fork) at a known point, without timing guesses.
 */
function holdAt(file: string): void {
  const {existsSync, writeFileSync} = process.getBuiltinModule('node:fs')
  writeFileSync(`${file}.held`, String(process.pid))
  const sleeper = new Int32Array(new SharedArrayBuffer(4))
  const deadline = Date.now() + 60_000
  while (!existsSync(file) && Date.now() < deadline) Atomics.wait(sleeper, 0, 0, 20)
}

/** Mark committed with the result replayed to retries. Call inside the final write transaction. */
export function commitOperation(store: Store, op: Operation, result: unknown, now: Date): void {
  store.run(store.db.updateTable('operations')
    .set({state: 'committed', result: JSON.stringify(result), updated_at: now.toISOString()})
    .where('op_id', '=', op.opId).where('state', '=', 'started'))
}

export function markRolledBack(store: Store, opId: string, error: string, now: Date): void {
  store.run(store.db.updateTable('operations')
    .set({state: 'rolled_back', error, updated_at: now.toISOString()})
    .where('op_id', '=', opId).where('state', '=', 'started'))
}

export function getOperation(store: Store, opId: string): OperationRow {
  const row = store.first(store.db.selectFrom('operations').selectAll().where('op_id', '=', opId))
  if (!row) throw new AutolabError('INTERNAL', `Operation ${opId} vanished from the journal.`)
  return row
}

export function openOperations(store: Store): OperationRow[] {
  return store.all(store.db.selectFrom('operations').selectAll().where('state', '=', 'started'))
}

/**
 * Idempotency for a mutation that is one write transaction (note, cadence, campaign create…):
 * no steps to journal, but a retry with the same key must still get the first answer. Runs `act`
 * and records the committed operation in the same transaction.
 */
export function idempotent<T>(store: Store, options: {key?: string; kind: OperationKind; args: unknown; now: Date; runId?: string | null}, act: () => T): T & {replayed: boolean} {
  const hash = argsHash(options.kind, options.args)
  return store.write(() => {
    const replay = checkIdempotency<T>(store, options.key, options.kind, hash)
    if (replay) return {...replay.result, replayed: true}
    const result = act()
    if (options.key) {
      const op = beginOperation(store, {kind: options.kind, key: options.key, hash, runId: options.runId ?? null, now: options.now})
      commitOperation(store, op, result, options.now)
    }
    return {...result, replayed: false}
  })
}
