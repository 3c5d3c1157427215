import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {AutolabCommand, type Parsed} from '../../base-command.js'
import type {Ctx} from '../../lib/context.js'
import {addHost, type HostChangeResult} from '../../lib/hosts/host-admin.js'

export default class HostAdd extends AutolabCommand<HostChangeResult> {
  static summary = 'Declare an SSH host in the project file (its comments and layout kept) and in the store.'
  static description = 'Every argument is checked before anything is written: the name, --ssh (user@host[:port] or an alias of ~/.ssh/config), --root (absolute, no ..) and --gpus (ids such as 0,1,2,3, or auto: found by `host check`; the default). A name already declared is HOST_EXISTS. The new file is checked as a whole, then replaces the old one (temp file and rename; never through a symlink). Nothing connects to the host: `host check` does.'
  static examples = [
    '<%= config.bin %> host add gpu1 --ssh me@gpu1.lab:2222 --root /data/autolab --gpus 0,1,2,3 --reason "second box" --json',
    '<%= config.bin %> host add a100 --ssh a100-alias --root /scratch/me/autolab --gpus auto',
  ]
  static args = {host: Args.string({description: 'Host name (letters, digits, . _ -).', required: true})}
  static flags = {
    ssh: Flags.string({description: 'user@host[:port], or an alias of ~/.ssh/config.', required: true}),
    root: Flags.string({description: 'Absolute work root on the host; runs live in <root>/runs/<run id>.', required: true}),
    gpus: Flags.string({description: 'GPU ids, comma-separated (0,1,2,3), or auto. [default: auto]'}),
    reason: Flags.string({description: 'Why: recorded in the decision log.'}),
  }

  async execute(ctx: Ctx, {args, flags}: Parsed<typeof HostAdd>): Promise<HostChangeResult> {
    return addHost(ctx, {name: args.host, ssh: flags.ssh, root: flags.root, gpus: flags.gpus, reason: flags.reason})
  }

  render(r: HostChangeResult): string {
    const h = r.host
    return [`added ${h.host} (${h.ssh}, root ${h.root}, gpus ${h.gpus_auto ? 'auto' : h.gpus.join(',') || 'none'}) to ${r.project_file}`, `next: ${r.next}`].join('\n')
  }
}
