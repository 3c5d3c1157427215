import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {AutolabCommand, type Parsed} from '../../base-command.js'
import type {Ctx} from '../../lib/context.js'
import {type HostRemoveResult, removeHost} from '../../lib/hosts/host-admin.js'

export default class HostRemove extends AutolabCommand<HostRemoveResult> {
  static summary = 'Remove a host\'s declaration from the project file (its comments and layout kept).'
  static description = 'Refused with HOST_IN_USE while any run of the host is not ended (queued, starting, running, pausing, paused or killing): each still needs the host to start, resume or stop there. The store keeps the host\'s row, since ended runs refer to it; `host list` shows it as not declared. `local` cannot be removed.'
  static examples = ['<%= config.bin %> host remove gpu1 --reason "returned the box" --json']
  static args = {host: Args.string({description: 'Host name.', required: true})}
  static flags = {reason: Flags.string({description: 'Why: recorded in the decision log.'})}

  async execute(ctx: Ctx, {args, flags}: Parsed<typeof HostRemove>): Promise<HostRemoveResult> {
    return removeHost(ctx, args.host, flags.reason)
  }

  render(r: HostRemoveResult): string {
    return `removed ${r.host} from ${r.project_file}${r.store_row_kept ? ' (the store keeps it for its runs)' : ''}`
  }
}
