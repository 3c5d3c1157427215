import * as Flags from '@oclif/core/flags'
import chalk from 'chalk'
import {AutolabCommand, mutationFlags, type Parsed} from '../base-command.js'
import {MAX_WAIT_SECONDS, integerFlag, runArg} from '../command-args.js'
import type {Ctx} from '../lib/context.js'
import {type ForkResult, forkRun} from '../lib/runs/fork.js'
import {MAX_GPUS} from '../lib/runs/placement.js'

export default class Fork extends AutolabCommand<ForkResult> {
  static summary = 'Start a new run from another run\'s checkpoint, with changed config, in one atomic step.'
  static description = `--step N forks from the checkpoint at exactly step N (--nearest: the latest at or before N). Without --step, a stopped run forks from its latest checkpoint and a running one is asked to save one after its next step (bounded by --timeout). Overrides are checked against the schema the parent was launched with (UNKNOWN_CONFIG_KEY unless --allow-new-keys, INVALID_VALUE) before anything starts, then deep-merged into the parent's config in effect at the fork step (base_config_version). The checkpoint is hard-linked into the child's run directory (constant time whatever its size; --copy forces a copy) and made read-only. Any failure leaves no trace.`
  static examples = [
    '<%= config.bin %> fork r3 --step 4000 --set optimizer.lr=2e-6 --reason "plateau at 1e-7" --json',
    '<%= config.bin %> fork r3 --set learning_rate=0.05 --pause-parent --json',
    '<%= config.bin %> fork r3 --step 250 --nearest --patch changes.yaml --name wider --idempotency-key f-7 --json',
    '<%= config.bin %> fork r3 --set warmup_steps=100 --allow-new-keys --json',
  ]
  static args = {run: runArg({required: true})}
  static flags = {
    step: integerFlag({description: 'Fork from the checkpoint at this step.', min: 0}),
    nearest: Flags.boolean({description: 'With --step: take the latest checkpoint at or before it.', dependsOn: ['step']}),
    set: Flags.string({description: 'Override a config key: key=value, dotted keys for nesting (repeatable).', multiple: true}),
    patch: Flags.string({description: 'JSON or YAML file deep-merged into the parent config.'}),
    name: Flags.string({description: 'A name for the child run.'}),
    host: Flags.string({description: 'Host for the child. Another host than the parent\'s gets the checkpoint streamed to it (progress on a terminal). [default: the parent\'s]'}),
    gpus: integerFlag({description: 'GPUs the child needs, on its host. [default: the parent\'s count]', min: 0, max: MAX_GPUS}),
    campaign: Flags.string({description: 'Campaign for the child (e.g. an open one, to continue from a finalized campaign\'s run). [default: the parent\'s]'}),
    'pause-parent': Flags.boolean({description: 'Pause the parent once the child runs.'}),
    copy: Flags.boolean({description: 'Copy the checkpoint instead of hard-linking it.'}),
    timeout: integerFlag({description: 'Seconds to wait for a running parent\'s fresh checkpoint.', default: 60, min: 1, max: MAX_WAIT_SECONDS}),
    'allow-new-keys': Flags.boolean({description: 'Accept config keys the parent\'s schema does not know (recorded in the decision log); values of known keys are still checked.'}),
    ...mutationFlags,
  }

  async execute(ctx: Ctx, {args, flags}: Parsed<typeof Fork>): Promise<ForkResult> {
    return forkRun(ctx, {
      run: args.run, step: flags.step, nearest: flags.nearest, sets: flags.set ?? [], patchFile: flags.patch, name: flags.name, host: flags.host, gpus: flags.gpus,
      pauseParent: flags['pause-parent'], copy: flags.copy, campaign: flags.campaign, timeoutSeconds: flags.timeout, allowNewKeys: flags['allow-new-keys'], reason: flags.reason, idempotencyKey: flags['idempotency-key'],
    })
  }

  render(r: ForkResult): string {
    return `${r.replayed ? 'already forked' : 'forked'} ${chalk.bold(r.run_id)} from ${r.parent_run_id}@${r.fork_step} · ${r.materialized} ${(r.checkpoint_bytes / 1e6).toFixed(1)} MB · pid ${r.pid} · parent ${r.parent_status}\n` +
      chalk.dim(`config ${r.config_id.slice(0, 12)}: ${JSON.stringify(r.config)}`)
  }
}
