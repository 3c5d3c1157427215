import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {AutolabCommand, type Parsed} from '../base-command.js'
import type {Ctx} from '../lib/context.js'
import type {EventView} from '../lib/events.js'
import {recordNote} from '../lib/notes.js'

export default class Message extends AutolabCommand<{event: EventView; replayed: boolean}> {
  static summary = 'Send the agent a message: it lands in the decision log and wakes `wait --for message`.'
  static examples = ['<%= config.bin %> message "try beta=0.05 before more lr sweeps"', '<%= config.bin %> message --run r3 "this one looks stuck" --json']
  static args = {text: Args.string({description: 'The message.', required: true})}
  static flags = {
    'idempotency-key': Flags.string({description: 'Retrying with the same key records it once.'}),
    run: Flags.string({description: 'The run the message is about.'}),
  }

  async execute(ctx: Ctx, {args, flags}: Parsed<typeof Message>): Promise<{event: EventView; replayed: boolean}> {
    // A message comes from a person unless said otherwise (cron or an agent would pass --actor).
    const actor = flags.actor ?? process.env.AUTOLAB_ACTOR ?? 'human'
    return recordNote({...ctx, actor}, {kind: 'message', text: args.text, run: flags.run, idempotencyKey: flags['idempotency-key']})
  }

  render(r: {event: EventView; replayed: boolean}): string {
    return `message sent (#${r.event.event_id})`
  }
}
