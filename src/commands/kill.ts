import {AutolabCommand, mutationFlags, type Parsed} from '../base-command.js'
import {MAX_WAIT_SECONDS, integerFlag, runArg} from '../command-args.js'
import type {Ctx} from '../lib/context.js'
import {colourStatus} from '../lib/output/render.js'
import {type KillResult, killRun} from '../lib/runs/kill.js'

export default class Kill extends AutolabCommand<KillResult> {
  static summary = 'Stop a run for good: graceful stop, then SIGTERM, then SIGKILL.'
  static description = 'Asks the trainer to stop through control.json, sends SIGTERM to its process group after half the grace period and SIGKILL after the other half. Idempotent: killing a run that already ended changes nothing (changed: false).'
  static examples = ['<%= config.bin %> kill r3 --reason "child is ahead"', '<%= config.bin %> kill r3 --grace 2 --json']
  static args = {run: runArg({required: true})}
  static flags = {
    grace: integerFlag({description: 'Seconds to wait for a graceful exit before escalating.', default: 10, min: 0, max: MAX_WAIT_SECONDS}),
    ...mutationFlags,
  }

  async execute(ctx: Ctx, {args, flags}: Parsed<typeof Kill>): Promise<KillResult> {
    return killRun(ctx, {run: args.run, graceSeconds: flags.grace, reason: flags.reason, idempotencyKey: flags['idempotency-key']})
  }

  render(r: KillResult): string {
    if (!r.changed) return `${r.run_id} had already ended (${colourStatus(r.status)}); nothing to do`
    return `${r.run_id}: ${r.previous_status} → ${colourStatus(r.status)} (${r.stopped_by.replace('_', ' ')})`
  }
}
