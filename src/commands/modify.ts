import * as Flags from '@oclif/core/flags'
import {AutolabCommand, mutationFlags, type Parsed} from '../base-command.js'
import {MAX_WAIT_SECONDS, integerFlag, runArg} from '../command-args.js'
import type {Ctx} from '../lib/context.js'
import {type ModifyResult, modifyRun} from '../lib/runs/modify.js'

export default class Modify extends AutolabCommand<ModifyResult> {
  static summary = 'Change hot-modifiable parameters of a running run, without restarting it.'
  static description = 'Only the recipe\'s hot_params (PARAM_NOT_MODIFIABLE otherwise; its suggested_action is a fork or, for a typo, the nearest key), of the schema\'s type (INVALID_VALUE otherwise), within the ranges of hot_params and the schema (PARAM_OUT_OF_RANGE otherwise). Writes a new config version and control.json version and returns status "pending"; the trainer\'s acknowledgement records the step the change took effect at (see `show`, and the modify_ack event). --wait blocks until then.'
  static examples = [
    '<%= config.bin %> modify r3 --set learning_rate=2e-6 --reason "loss spikes" --json',
    '<%= config.bin %> modify r3 --set beta=0.05 --set temperature=0.7 --wait --json',
  ]
  static args = {run: runArg({required: true})}
  static flags = {
    set: Flags.string({description: 'key=value of a hot-modifiable parameter (repeatable).', multiple: true, required: true}),
    wait: Flags.boolean({description: 'Block until the trainer acknowledges the change.'}),
    timeout: integerFlag({description: 'With --wait: seconds to wait for the acknowledgement.', default: 60, min: 1, max: MAX_WAIT_SECONDS}),
    ...mutationFlags,
  }

  async execute(ctx: Ctx, {args, flags}: Parsed<typeof Modify>): Promise<ModifyResult> {
    return modifyRun(ctx, {run: args.run, sets: flags.set, wait: flags.wait, timeoutSeconds: flags.timeout, reason: flags.reason, idempotencyKey: flags['idempotency-key']})
  }

  render(r: ModifyResult): string {
    const what = Object.entries(r.overrides).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')
    return r.status === 'acknowledged'
      ? `${r.run_id}: ${what} took effect at step ${r.effective_step} (config v${r.config_version})`
      : `${r.run_id}: ${what} pending (config v${r.config_version}, control v${r.control_version}); the trainer acknowledges at its next step`
  }
}
