// The append-only event log: every mutation (with actor, reason, arguments, result) and every
// system event (run exited, anomaly, checkpoint, acknowledgement). `log` and `wait` read it by
// cursor (event_id).
import type {Store} from './store/open.js'
import type {EventRow} from './store/schema.js'

export interface NewEvent {
  kind: string
  time: Date
  actor: string
  runId?: string | null
  campaignId?: string | null
  reason?: string | null
  args?: unknown
  result?: unknown
}

export function recordEvent(store: Store, event: NewEvent): number {
  const campaignId = event.campaignId ?? (event.runId ? campaignOf(store, event.runId) : null)
  const result = store.run(store.db.insertInto('events').values({
    time: event.time.toISOString(),
    kind: event.kind,
    actor: event.actor,
    run_id: event.runId ?? null,
    campaign_id: campaignId,
    reason: event.reason ?? null,
    args: event.args === undefined ? null : JSON.stringify(event.args),
    result: event.result === undefined ? null : JSON.stringify(event.result),
  }))
  return Number(result.lastInsertRowid)
}

function campaignOf(store: Store, runId: string): string | null {
  return store.first(store.db.selectFrom('runs').select('campaign_id').where('run_id', '=', runId))?.campaign_id ?? null
}

export interface EventView {
  event_id: number
  time: string
  kind: string
  actor: string
  run_id: string | null
  campaign_id: string | null
  reason: string | null
  args: unknown
  result: unknown
}

export function eventView(row: EventRow): EventView {
  return {
    event_id: row.event_id,
    time: row.time,
    kind: row.kind,
    actor: row.actor,
    run_id: row.run_id,
    campaign_id: row.campaign_id,
    reason: row.reason,
    args: row.args === null ? null : JSON.parse(row.args),
    result: row.result === null ? null : JSON.parse(row.result),
  }
}

export interface ListEventsOptions {
  /** Only events after this cursor. */
  since?: number
  runId?: string
  kinds?: string[]
  limit?: number
}

/** Events in order, oldest first (newest last). With a limit, the newest `limit` of them. */
export function listEvents(store: Store, options: ListEventsOptions = {}): EventView[] {
  let query = store.db.selectFrom('events').selectAll().orderBy('event_id', 'desc')
  if (options.since !== undefined) query = query.where('event_id', '>', options.since)
  if (options.runId) query = query.where('run_id', '=', options.runId)
  if (options.kinds?.length) query = query.where('kind', 'in', options.kinds)
  if (options.limit !== undefined) query = query.limit(options.limit)
  return store.all(query).reverse().map(eventView)
}

export function latestEventId(store: Store): number {
  return store.first(store.db.selectFrom('events').select((eb) => eb.fn.max('event_id').as('id')))?.id ?? 0
}
