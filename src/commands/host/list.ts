import chalk from 'chalk'
import {AutolabCommand, type Parsed} from '../../base-command.js'
import type {Ctx} from '../../lib/context.js'
import {type HostListResult, listHosts} from '../../lib/hosts/host-admin.js'
import {table} from '../../lib/output/render.js'

export default class HostList extends AutolabCommand<HostListResult> {
  static summary = 'List hosts: those the project file declares and those the store remembers, with GPUs, live runs and pinned keys.'
  static description = 'GPUs used are those held by live runs (starting, running, pausing, killing). A host removed from the project file stays in the store for its runs and is listed with declared: false. Reads only: nothing connects to a host (see `host check`).'
  static examples = ['<%= config.bin %> host list', '<%= config.bin %> host list --json']

  async execute(ctx: Ctx, _parsed: Parsed<typeof HostList>): Promise<HostListResult> {
    return listHosts(ctx)
  }

  render(r: HostListResult): string {
    return table(r.hosts, [
      {header: 'HOST', value: (h) => (h.declared ? h.host : chalk.dim(`${h.host} (not declared)`))},
      {header: 'KIND', value: (h) => h.kind},
      {header: 'SSH', value: (h) => h.ssh ?? ''},
      {header: 'ROOT', value: (h) => h.root},
      {header: 'GPUS FREE/TOTAL', value: (h) => `${h.gpus_free}/${h.gpus_total}${h.gpus_auto ? ' auto' : ''}`, align: 'right'},
      {header: 'LIVE RUNS', value: (h) => h.live_runs.join(' ')},
      {header: 'HOST KEY', value: (h) => h.host_key ?? (h.kind === 'ssh' ? chalk.dim('not pinned') : '')},
      {header: 'SYNCED', value: (h) => h.synced_at ?? ''},
    ])
  }
}
