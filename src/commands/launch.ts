import * as Flags from '@oclif/core/flags'
import chalk from 'chalk'
import {AutolabCommand, mutationFlags, type Parsed} from '../base-command.js'
import {integerFlag} from '../command-args.js'
import type {Ctx} from '../lib/context.js'
import {type LaunchResult, launchRun} from '../lib/runs/launch.js'
import {MAX_GPUS} from '../lib/runs/placement.js'
import {getRun} from '../lib/runs/queries.js'
import {declaredMetrics} from '../lib/telemetry/goals.js'

/** The launch, and the primary metric its recipe declares (null: none): the one to follow. */
export type LaunchView = LaunchResult & {primary_metric: string | null}

export default class Launch extends AutolabCommand<LaunchView> {
  static summary = 'Start a training run from a recipe.'
  static description = 'The config is the recipe\'s default, deep-merged with --config FILE, then with each --set (dotted keys; values parsed as JSON when they parse, else strings). It is checked against the recipe\'s schema and hot_params ranges before anything starts: an unknown key is UNKNOWN_CONFIG_KEY naming the nearest known keys (unless --allow-new-keys), a wrong type or an out-of-range value INVALID_VALUE (see `autolab recipe show R`). Returns as soon as the process exists.'
  static examples = [
    '<%= config.bin %> launch --recipe toy --reason "baseline"',
    '<%= config.bin %> launch --recipe toy --set learning_rate=0.05 --set task.modulus=11 --name lr05 --json',
    '<%= config.bin %> launch --recipe toy --config sweep.yaml --idempotency-key sweep-3 --json',
    '<%= config.bin %> launch --recipe toy --gpus 2 --queue --json',
    '<%= config.bin %> launch --recipe toy --host gpu-a --gpus 4 --json',
    '<%= config.bin %> launch --recipe toy --set warmup_steps=100 --allow-new-keys --reason "the trainer takes warmup_steps; the recipe does not declare it yet" --json',
  ]
  static flags = {
    recipe: Flags.string({description: 'Recipe name from the project file.', required: true}),
    config: Flags.string({description: 'JSON or YAML file deep-merged into the recipe config.'}),
    set: Flags.string({description: 'Override a config key: key=value, dotted keys for nesting (repeatable).', multiple: true}),
    name: Flags.string({description: 'A name to refer to the run by.'}),
    host: Flags.string({description: 'Pin the run to this host. [default: the first host of the project file\'s `hosts:` (then `local`) with the free GPUs]'}),
    gpus: integerFlag({description: 'GPUs the run needs. [default: the recipe\'s `gpus`]', min: 0, max: MAX_GPUS}),
    queue: Flags.boolean({description: 'When no host has the free GPUs, queue the run (status queued; `tick` starts it on the first host with room) instead of failing with NO_CAPACITY.'}),
    'allow-new-keys': Flags.boolean({description: 'Accept config keys the recipe\'s schema does not know (recorded in the decision log); values of known keys are still checked.'}),
    ...mutationFlags,
  }

  async execute(ctx: Ctx, {flags}: Parsed<typeof Launch>): Promise<LaunchView> {
    const launched = await launchRun(ctx, {
      recipe: flags.recipe, configFile: flags.config, sets: flags.set ?? [], name: flags.name, host: flags.host, gpus: flags.gpus,
      queue: flags.queue, allowNewKeys: flags['allow-new-keys'], reason: flags.reason, idempotencyKey: flags['idempotency-key'],
    })
    return {...launched, primary_metric: declaredMetrics(getRun(ctx.store, launched.run_id).recipe_spec).primary}
  }

  render(r: LaunchView): string {
    if (r.status === 'queued') {
      const where = r.placement === 'auto' ? 'no host has' : `${r.host} has not`
      return `queued ${chalk.bold(r.run_id)}: ${where} the free GPUs; \`autolab tick\` starts it ${r.placement === 'auto' ? 'on the first host with room' : 'when they free up'}`
    }
    return `${r.replayed ? 'already launched' : 'launched'} ${chalk.bold(r.run_id)}${r.name ? ` (${r.name})` : ''} · recipe ${r.recipe} · host ${r.host}${r.gpus.length ? ` · GPU ${r.gpus.join(',')}` : ''} · pid ${r.pid} · config ${r.config_id.slice(0, 12)}\n` +
      chalk.dim(r.primary_metric === null
        ? `follow it: autolab show ${r.run_id} · autolab history ${r.run_id}`
        : `follow it: autolab trend ${r.run_id} --metric ${r.primary_metric} · autolab history ${r.run_id} --metric ${r.primary_metric}`)
  }
}
