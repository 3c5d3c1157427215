import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import chalk from 'chalk'
import {AutolabCommand, type Parsed} from '../../base-command.js'
import type {Ctx} from '../../lib/context.js'
import {checkHost, type HostCheckResult} from '../../lib/hosts/host-admin.js'

export default class HostCheck extends AutolabCommand<HostCheckResult> {
  static summary = 'Connect to a host and report: latency, host key, GPUs, free disk, tools, clock skew, work root.'
  static description = 'The host key is verified before anything is sent: against the fingerprint pinned in the store, else known_hosts. A key nothing knows is HOST_KEY_UNKNOWN unless --accept-new, which pins it in the store once the check succeeds; a key other than the known one is always HOST_KEY_MISMATCH. Authentication is ssh-agent, then the identity files; never a password. A host declared with `gpus: auto` gets the GPU ids nvidia-smi lists. An unreachable host is HOST_UNREACHABLE (exit 5) and nothing is changed. For `local`, the same checks run through /bin/sh here.'
  static examples = [
    '<%= config.bin %> host check gpu1 --json',
    '<%= config.bin %> host check gpu1 --accept-new --reason "new box, key read from its console" --json',
    '<%= config.bin %> host check local',
  ]
  static args = {host: Args.string({description: 'Host name (see `host list`).', required: true})}
  static flags = {
    'accept-new': Flags.boolean({description: 'Pin the host key in the store when neither the store nor known_hosts knows one (never replaces a known key).'}),
    reason: Flags.string({description: 'Why: recorded with a key pinned by --accept-new.'}),
  }

  async execute(ctx: Ctx, {args, flags}: Parsed<typeof HostCheck>): Promise<HostCheckResult> {
    return checkHost(ctx, args.host, {acceptNew: flags['accept-new'], reason: flags.reason})
  }

  render(r: HostCheckResult): string {
    const yes = (ok: boolean, text: string) => (ok ? chalk.green(text) : chalk.red(text))
    const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`
    const key = r.host_key === null ? 'none (local)' : `${r.host_key.fingerprint} (${r.host_key.verified_by}${r.host_key.pinned_now ? ', pinned now' : ''})`
    return [
      `${chalk.bold(r.host)} · ${r.kind}${r.ssh ? ` · ${r.ssh}` : ''} · ${yes(r.ready, r.ready ? 'ready' : 'not ready')}`,
      `latency:  ${r.latency_ms} ms${r.connect_ms === null ? '' : ` (connect ${r.connect_ms} ms)`}`,
      `host key: ${key}`,
      `gpus:     ${r.gpus.length === 0 ? 'none' : r.gpus.map((g) => `${g.index}: ${g.name}${g.memory_mib === null ? '' : ` ${g.memory_mib} MiB`}`).join('; ')}${r.gpus_stored ? ' (stored: gpus auto)' : ''}`,
      `root:     ${r.root} ${yes(r.root_exists && r.root_writable, r.root_exists ? (r.root_writable ? 'writable' : 'not writable') : 'missing')}${r.disk ? ` · ${gib(r.disk.free_bytes)} free of ${gib(r.disk.total_bytes)}` : ''}`,
      `tools:    ${Object.entries(r.tools).map(([t, path]) => yes(path !== null, t.replace('_', '-'))).join(' ')}`,
      `clock:    ${r.clock_skew_seconds === 0 ? 'in step' : `${r.clock_skew_seconds > 0 ? '+' : ''}${r.clock_skew_seconds} s`}`,
      ...r.problems.map((p) => chalk.yellow(`problem:  ${p}`)),
    ].join('\n')
  }
}
