import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {AutolabCommand, type Parsed} from '../base-command.js'
import type {Ctx} from '../lib/context.js'
import type {EventView} from '../lib/events.js'
import {recordNote} from '../lib/notes.js'

export default class Note extends AutolabCommand<{event: EventView; replayed: boolean}> {
  static summary = 'Record your own reasoning in the decision log (optionally about one run).'
  static examples = ['<%= config.bin %> note --run r3 "reward flat since step 200; lr likely too low" --json']
  static args = {text: Args.string({description: 'The note.', required: true})}
  static flags = {
    'idempotency-key': Flags.string({description: 'Retrying with the same key records it once.'}),
    run: Flags.string({description: 'The run the note is about.'}),
  }

  async execute(ctx: Ctx, {args, flags}: Parsed<typeof Note>): Promise<{event: EventView; replayed: boolean}> {
    return recordNote(ctx, {kind: 'note', text: args.text, run: flags.run, idempotencyKey: flags['idempotency-key']})
  }

  render(r: {event: EventView; replayed: boolean}): string {
    return `noted (#${r.event.event_id})`
  }
}
