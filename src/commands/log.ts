import * as Flags from '@oclif/core/flags'
import chalk from 'chalk'
import {AutolabCommand, type Parsed} from '../base-command.js'
import {integerFlag, listFlag} from '../command-args.js'
import {getCampaign} from '../lib/campaigns.js'
import type {Ctx} from '../lib/context.js'
import {DECISION_KINDS, EVENT_KIND_NAMES, EVENT_KINDS, type EventView, latestEventId, listEvents} from '../lib/events.js'
import {toJson} from '../lib/output/envelope.js'
import {resolveRun} from '../lib/runs/queries.js'

export interface LogResult {
  events: EventView[]
  /** Pass as --since to get only what happens after this call. */
  cursor: number
}

export default class Log extends AutolabCommand<LogResult> {
  static summary = 'The decision log: every action with actor, reason, arguments and result, and system events; newest last.'
  static description = `--decisions keeps only the actions taken (with their reasons), notes and messages: with status and tree, what a new session reads to pick a campaign up.\n\nEvent kinds (* = shown by --decisions):\n${EVENT_KIND_NAMES.map((k) => `  ${k}${EVENT_KINDS[k].decision ? '*' : ''}: ${EVENT_KINDS[k].description}`).join('\n')}`
  static examples = ['<%= config.bin %> log', '<%= config.bin %> log --decisions --campaign lr-sweep --json', '<%= config.bin %> log --run r3 --json', '<%= config.bin %> log --since 120 --kind anomaly,run_exited --json']
  static flags = {
    since: integerFlag({description: 'Only events after this cursor (an event_id).', min: 0}),
    run: Flags.string({description: 'Only events of this run.'}),
    campaign: Flags.string({description: 'Only events of this campaign (its runs\' and its own), e.g. with --decisions to pick one campaign up. [default: all campaigns]'}),
    kind: listFlag({description: 'Only events of these kinds.', options: EVENT_KIND_NAMES}),
    decisions: Flags.boolean({description: `Only decisions: ${DECISION_KINDS.join(', ')} — the actions taken with their reasons, notes and messages.`, exclusive: ['kind']}),
    limit: integerFlag({description: 'At most this many (the newest).', default: 100, min: 1}),
  }

  async execute(ctx: Ctx, {flags}: Parsed<typeof Log>): Promise<LogResult> {
    const runId = flags.run ? resolveRun(ctx.store, flags.run).run_id : undefined
    const kinds = flags.decisions ? DECISION_KINDS : flags.kind
    const campaignId = flags.campaign ? getCampaign(ctx.store, flags.campaign).campaign_id : undefined
    const events = listEvents(ctx.store, {since: flags.since, runId, campaignId, kinds, limit: flags.limit})
    return {events, cursor: events.at(-1)?.event_id ?? Math.max(flags.since ?? 0, latestEventId(ctx.store))}
  }

  render(r: LogResult): string {
    if (r.events.length === 0) return chalk.dim('(no events)')
    return r.events.map((e) => {
      const head = `${chalk.dim(`#${e.event_id} ${e.time.replace('T', ' ').slice(0, 19)}`)} ${chalk.bold(e.kind)}${e.run_id ? ` ${e.run_id}` : ''} ${chalk.dim(`by ${e.actor}`)}`
      const reason = e.reason ? `\n    why: ${e.reason}` : ''
      const args = e.args ? chalk.dim(`\n    args: ${toJson(e.args)}`) : ''
      const result = e.result ? chalk.dim(`\n    result: ${toJson(e.result)}`) : ''
      return head + reason + args + result
    }).join('\n')
  }
}
