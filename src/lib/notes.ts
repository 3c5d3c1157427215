// The agent's own reasoning (note) and a human's message to the agent (message), both in the
// decision log; a message wakes `wait --for message`.
import {campaignForMutation, getCampaign} from './campaigns.js'
import type {Ctx} from './context.js'
import {type EventView, eventView, recordEvent} from './events.js'
import {AutolabError} from './output/errors.js'
import {idempotent} from './runs/journal.js'
import {resolveRun} from './runs/queries.js'

export function recordNote(ctx: Ctx, options: {kind: 'note' | 'message'; text: string; run?: string; idempotencyKey?: string}): {event: EventView; replayed: boolean} {
  const {store} = ctx
  if (options.text.trim() === '') throw new AutolabError('INVALID_ARGUMENT', `The ${options.kind} is empty.`)
  return idempotent(store, {key: options.idempotencyKey, kind: options.kind, args: {text: options.text, run: options.run ?? null}, now: ctx.now()}, () => {
    const run = options.run ? resolveRun(store, options.run) : undefined
    const campaign = run ? getCampaign(store, run.campaign_id) : getCampaign(store)
    // A note is part of the campaign's record; a human's message may always reach the agent.
    if (options.kind === 'note') campaignForMutation(store, campaign.campaign_id, {startsCompute: false, now: ctx.now()})
    const id = recordEvent(store, {kind: options.kind, time: ctx.now(), actor: ctx.actor, runId: run?.run_id ?? null, campaignId: campaign.campaign_id, args: {text: options.text}})
    return {event: eventView(store.first(store.db.selectFrom('events').selectAll().where('event_id', '=', id))!)}
  })
}
