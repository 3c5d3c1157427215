import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {AutolabCommand, type Parsed} from '../../base-command.js'
import type {Ctx} from '../../lib/context.js'
import {type ForgetKeyResult, forgetHostKey} from '../../lib/hosts/host-admin.js'

export default class HostForgetKey extends AutolabCommand<ForgetKeyResult> {
  static summary = 'Forget the host key pinned for a host, so that `host check --accept-new` can pin a new one.'
  static description = 'For a legitimate change of key (the host was reinstalled): check the new key out of band first. Keys in known_hosts are not touched (ssh-keygen -R does that). Idempotent: a host with no pinned key is left as it is (changed: false).'
  static examples = ['<%= config.bin %> host forget-key gpu1 --reason "reinstalled 2026-11-30" --json']
  static args = {host: Args.string({description: 'Host name.', required: true})}
  static flags = {reason: Flags.string({description: 'Why: recorded in the decision log.'})}

  async execute(ctx: Ctx, {args, flags}: Parsed<typeof HostForgetKey>): Promise<ForgetKeyResult> {
    return forgetHostKey(ctx, args.host, flags.reason)
  }

  render(r: ForgetKeyResult): string {
    return r.changed
      ? `${r.host}: forgot ${r.forgotten_key}\nnext: autolab host check ${r.host} --accept-new`
      : `${r.host}: no key was pinned (known_hosts still applies)`
  }
}
