// wait: the agent's sleep. Blocks until an event of a requested kind appears after the cursor
// (or a run reaches a step), or until the timeout; syncs local runs while it waits so that
// their events appear. With --since, events that happened between two calls are returned at
// once: nothing is missed.
import {recordBudgetCrossings} from './campaigns.js'
import type {Ctx} from './context.js'
import {type EventView, eventView, latestEventId} from './events.js'
import {AutolabError} from './output/errors.js'
import {waitedText} from './output/progress.js'
import {getEval} from './evals/queries.js'
import {resolveRun} from './runs/queries.js'
import {TERMINAL_STATES} from './runs/state-machine.js'
import {syncRuns} from './runs/sync.js'

/** Wake kinds and the event kinds behind them. `step` is a condition, not an event. */
export const WAKE_KINDS = {
  anomaly: ['anomaly'],
  /** Only hard anomalies (NaN/Inf, a crash, a stall): see AnomalySeverity. */
  'anomaly:hard': ['anomaly'],
  exit: ['run_exited'],
  checkpoint: ['checkpoint'],
  eval: ['eval'],
  message: ['message'],
  modify_ack: ['modify_ack'],
  budget: ['budget'],
  step: [],
} as const satisfies Record<string, readonly string[]>

export type WakeKind = keyof typeof WAKE_KINDS

/** Kinds that concern the whole campaign: they wake a wait narrowed to runs too. */
const CAMPAIGN_WIDE = new Set(['message', 'budget'])

export interface WaitOptions {
  for: WakeKind[]
  timeoutSeconds: number
  since?: number
  runs?: string[]
  step?: number
  /** With --for eval: only these evals (their `eval` event, or at once when one has ended already). */
  evals?: string[]
  pollMs?: number
}

export interface WaitResult {
  /** The wake kind of the first matching event, `step`, or `timer`. */
  woken_by: WakeKind | 'timer'
  events: EventView[]
  /** Pass as --since next time: every event up to here has been seen. */
  cursor: number
  /** With --for step: each narrowed run's latest step. */
  steps?: Record<string, number | null>
  /**
   * Woken by what was already so when the wait began (no new event): a narrowed run that had
   * ended (exit), a checkpoint at or past --step (checkpoint), an eval that had ended (eval).
   * `events` then holds the event that recorded it, when there is one. Absent otherwise.
   */
  already?: {run_id?: string; eval_id?: string; status?: string; step?: number}[]
}

export async function waitForEvents(ctx: Ctx, options: WaitOptions): Promise<WaitResult> {
  const {store} = ctx
  if (options.for.length === 0) throw new AutolabError('INVALID_ARGUMENT', 'Give at least one kind to wait for with --for.')
  const runIds = options.runs?.map((r) => resolveRun(store, r).run_id)
  if (options.for.includes('step') && (options.step === undefined || !runIds?.length)) {
    throw new AutolabError('INVALID_ARGUMENT', '--for step needs --run R and --step N.')
  }
  const evalIds = options.evals?.map((e) => getEval(store, e).eval_id)
  if (evalIds?.length && !options.for.includes('eval')) throw new AutolabError('INVALID_ARGUMENT', '--eval narrows --for eval: add eval to --for.')
  const eventKinds = [...new Set(options.for.flatMap((k) => WAKE_KINDS[k]))]
  const kindOf = (eventKind: string) => options.for.find((k) => (WAKE_KINDS[k] as readonly string[]).includes(eventKind))!
  let cursor = options.since ?? latestEventId(store)
  const started = Date.now()
  const deadline = started + options.timeoutSeconds * 1000
  const pollMs = options.pollMs ?? 100
  // On a terminal (and without --json) a line says what is awaited and for how long.
  const waitingFor = `waiting for ${options.for.join(', ')}${runIds?.length ? ` (${runIds.join(', ')})` : ''}`
  try {
    for (;;) {
      ctx.progress.update(`${waitingFor}… ${waitedText(started, Date.now(), options.timeoutSeconds * 1000)}`)
      // A read-only store still wakes on what others write into it; it just cannot sync itself.
      if (store.readOnlyReason === null) {
        // Every host: a remote run's exit or anomaly must wake the waiter too. A host that cannot
        // be reached is a warning, not the end of the wait.
        await syncRuns(ctx, {tolerateHostFaults: true})
        recordBudgetCrossings(store, ctx.now())
      }
      const events = matchingEvents(ctx, cursor, eventKinds, runIds, evalIds).filter((e) => e.kind !== 'anomaly' || options.for.includes('anomaly') || (e.args as {severity?: string} | null)?.severity === 'hard')
      if (events.length > 0) {
        return {woken_by: kindOf(events[0].kind), events, cursor: events.at(-1)!.event_id}
      }
      // What was already so before the wait (another command synced it first): no event after the
      // cursor will ever say it again, so it wakes now instead of at the timer.
      const already = alreadySo(ctx, options, runIds, evalIds)
      if (already) return {...already, cursor: Math.max(cursor, latestEventId(store))}
      // Nothing matched up to here: the cursor may move past unrelated events.
      cursor = Math.max(cursor, latestEventId(store))
      if (options.for.includes('step')) {
        const steps = Object.fromEntries(runIds!.map((id) => [id, store.first(store.db.selectFrom('runs').select('step').where('run_id', '=', id))?.step ?? null]))
        if (Object.values(steps).some((s) => s !== null && s >= options.step!)) return {woken_by: 'step', events: [], cursor, steps}
      }
      if (Date.now() >= deadline) return {woken_by: 'timer', events: [], cursor}
      await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(0, deadline - Date.now()))))
    }
  } finally {
    ctx.progress.end()
  }
}

function matchingEvents(ctx: Ctx, cursor: number, kinds: string[], runIds: string[] | undefined, evalIds: string[] | undefined): EventView[] {
  if (kinds.length === 0) return []
  const {store} = ctx
  let query = store.db.selectFrom('events').selectAll().where('event_id', '>', cursor).where('kind', 'in', kinds).orderBy('event_id')
  if (runIds?.length) {
    query = query.where((eb) => eb.or([eb('run_id', 'in', runIds), eb.and([eb('run_id', 'is', null), eb('kind', 'in', [...CAMPAIGN_WIDE])])]))
  }
  const events = store.all(query.limit(1000)).map(eventView)
  // --eval: an `eval` event counts only for those evals.
  return evalIds?.length ? events.filter((e) => e.kind !== 'eval' || evalIds.includes((e.result as {eval_id?: string} | null)?.eval_id ?? '')) : events
}

/** The state a wait is for, when it already holds (see WaitResult.already); null otherwise. */
function alreadySo(ctx: Ctx, options: WaitOptions, runIds: string[] | undefined, evalIds: string[] | undefined): Pick<WaitResult, 'woken_by' | 'events' | 'already'> | null {
  const {store} = ctx
  const lastEvent = (kind: string, runId: string) => store.first(store.db.selectFrom('events').selectAll().where('kind', '=', kind).where('run_id', '=', runId).orderBy('event_id', 'desc').limit(1))
  if (options.for.includes('exit') && runIds?.length) {
    const ended = store.all(store.db.selectFrom('runs').select(['run_id', 'status']).where('run_id', 'in', runIds).where('status', 'in', [...TERMINAL_STATES]))
    if (ended.length > 0) {
      const events = ended.map((r) => lastEvent('run_exited', r.run_id)).filter((e) => e !== undefined).map(eventView)
      return {woken_by: 'exit', events, already: ended.map((r) => ({run_id: r.run_id, status: r.status}))}
    }
  }
  if (options.for.includes('checkpoint') && runIds?.length && options.step !== undefined) {
    const reached = store.all(store.db.selectFrom('checkpoints').select(['run_id', (eb) => eb.fn.max('step').as('step')]).where('run_id', 'in', runIds).where('step', '>=', options.step).groupBy('run_id'))
    if (reached.length > 0) {
      const events = reached.map((r) => lastEvent('checkpoint', r.run_id)).filter((e) => e !== undefined).map(eventView)
      return {woken_by: 'checkpoint', events, already: reached.map((r) => ({run_id: r.run_id, step: Number(r.step)}))}
    }
  }
  if (options.for.includes('eval') && evalIds?.length) {
    const done = store.all(store.db.selectFrom('evals').select(['eval_id', 'run_id', 'status']).where('eval_id', 'in', evalIds).where('status', 'in', ['completed', 'failed', 'killed']))
    if (done.length > 0) {
      const events = done.map((d) => store.all(store.db.selectFrom('events').selectAll().where('kind', '=', 'eval').where('run_id', '=', d.run_id).orderBy('event_id', 'desc').limit(50))
        .map(eventView).find((e) => (e.result as {eval_id?: string} | null)?.eval_id === d.eval_id)).filter((e) => e !== undefined)
      return {woken_by: 'eval', events, already: done.map((d) => ({eval_id: d.eval_id, run_id: d.run_id, status: d.status}))}
    }
  }
  return null
}
