// The append-only event log: every mutation (with actor, reason, arguments, result) and every
// system event (run exited, anomaly, checkpoint, acknowledgement). `log` and `wait` read it by
// cursor (event_id).
import type {Store} from './store/open.js'
import type {EventRow} from './store/schema.js'

/**
 * Every kind of event the log holds, with what it means. recordEvent takes only these (a new
 * kind is a type error until it is listed here), so `log --kind`, `log --help` and `guide` list
 * them all. `decision`: an action someone took (with its reason) or a note or message — what
 * `log --decisions` shows, so a new session reads why the campaign is where it is.
 */
export const EVENT_KINDS = {
  launch: {decision: true, description: 'a run was launched (args: recipe, sets, name; result: run_id, pid, gpus)'},
  fork: {decision: true, description: 'a run was forked from a checkpoint of its parent (args: parent_run_id, step, sets)'},
  modify: {decision: true, description: 'hot parameters of a running run were changed (args: sets); pending until modify_ack'},
  cadence: {decision: true, description: 'a run\'s observation or sample cadence was changed'},
  pause: {decision: true, description: 'a run was paused (checkpoint, then exit); also by tick when a deadline passes'},
  resume: {decision: true, description: 'a paused run was relaunched from its latest checkpoint'},
  kill: {decision: true, description: 'a run was stopped for good'},
  note: {decision: true, description: 'the agent\'s own reasoning (args: text)'},
  message: {decision: true, description: 'a human\'s message to the agent (args: text); wakes wait --for message'},
  campaign_create: {decision: true, description: 'a campaign was created (args: goal, criterion, budget, deadline)'},
  campaign_finalize: {decision: true, description: 'a campaign was closed (args: winner_run_id, summary)'},
  host: {decision: true, description: 'a host was added to or removed from the project file, or its SSH host key pinned or forgotten (args: action, host, …)'},
  start_queued: {decision: false, description: 'a queued run was started once GPUs freed up'},
  run_exited: {decision: false, description: 'a run\'s process ended (args: status, exit_code, step)'},
  checkpoint: {decision: false, description: 'the trainer announced a checkpoint (args: step, path, bytes)'},
  modify_ack: {decision: false, description: 'the trainer applied a modify (args: version, step it took effect at, applied)'},
  anomaly: {decision: false, description: 'hard: nan, inf, stall or crash; soft: spike against the metric\'s goal (args: type, severity, metric, step, value, rule, threshold)'},
  trainer_event: {decision: false, description: 'any other event the trainer wrote to events.jsonl'},
  telemetry_rejected: {decision: false, description: 'trainer lines that broke the contract were skipped (args: count, by_file, first)'},
  budget: {decision: false, description: 'a campaign crossed 90% or 100% of its budget or deadline'},
  rollback: {decision: false, description: 'an interrupted or failed operation was undone (args: op, steps_done)'},
  pause_escalated: {decision: false, description: 'a pause had to signal the trainer (SIGTERM): it ignored the pause request in control.json'},
  stray_process_stopped: {decision: false, description: 'doctor --fix killed a trainer process that belongs to no live run'},
  eval_started: {decision: true, description: 'an eval of a checkpoint was started (args: suite, step, n, settings; result: eval_id, checkpoint_step, pid)'},
  eval_queued: {decision: true, description: 'an eval was queued until GPUs free up on its run\'s host (args: suite, step, n, settings; result: eval_id, checkpoint_step); tick starts it (eval_started)'},
  eval_kill: {decision: true, description: 'an eval was stopped (args: eval_id)'},
  eval: {decision: false, description: 'an eval ended: completed or failed (result: eval_id, run_id, suite, status, score, exit_code); wakes wait --for eval'},
} as const satisfies Record<string, {decision: boolean; description: string}>

export type EventKind = keyof typeof EVENT_KINDS

export const EVENT_KIND_NAMES = Object.keys(EVENT_KINDS) as EventKind[]

/** The kinds `log --decisions` shows: actions with their reasons, notes and messages. */
export const DECISION_KINDS = EVENT_KIND_NAMES.filter((k) => EVENT_KINDS[k].decision)

export interface NewEvent {
  kind: EventKind
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
  /** Only events of this campaign (campaign-wide ones and those of its runs). */
  campaignId?: string
  kinds?: string[]
  limit?: number
}

/** Events in order, oldest first (newest last). With a limit, the newest `limit` of them. */
export function listEvents(store: Store, options: ListEventsOptions = {}): EventView[] {
  let query = store.db.selectFrom('events').selectAll().orderBy('event_id', 'desc')
  if (options.since !== undefined) query = query.where('event_id', '>', options.since)
  if (options.runId) query = query.where('run_id', '=', options.runId)
  if (options.campaignId) query = query.where('campaign_id', '=', options.campaignId)
  if (options.kinds?.length) query = query.where('kind', 'in', options.kinds)
  if (options.limit !== undefined) query = query.limit(options.limit)
  return store.all(query).reverse().map(eventView)
}

export function latestEventId(store: Store): number {
  return store.first(store.db.selectFrom('events').select((eb) => eb.fn.max('event_id').as('id')))?.id ?? 0
}
