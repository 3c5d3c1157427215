import chalk from 'chalk'
import {AutolabCommand, type Parsed} from '../base-command.js'
import {integerFlag, runArg} from '../command-args.js'
import type {Ctx} from '../lib/context.js'
import {type SampleView, samples} from '../lib/telemetry/analysis.js'

export default class Samples extends AutolabCommand<{run_id: string; samples: SampleView[]}> {
  static summary = 'What the model actually produces: prompts, completions and rewards captured at the sample cadence, with any other fields the trainer wrote.'
  static examples = ['<%= config.bin %> samples r3 -n 5 --json', '<%= config.bin %> samples r3 --step 200 --json']
  static args = {run: runArg({required: true})}
  static flags = {
    step: integerFlag({description: 'Only samples of this step.'}),
    n: integerFlag({char: 'n', description: 'The latest N samples.', default: 10, min: 1}),
  }

  async execute(ctx: Ctx, {args, flags}: Parsed<typeof Samples>): Promise<{run_id: string; samples: SampleView[]}> {
    return samples(ctx.store, args.run, {step: flags.step, limit: flags.n})
  }

  render(r: {run_id: string; samples: SampleView[]}): string {
    if (r.samples.length === 0) return chalk.dim(`${r.run_id}: no samples yet`)
    return r.samples.map((s) => [
      `${chalk.dim(`step ${s.step}`)} reward ${s.reward ?? '-'}`,
      ...(s.prompt ? [`  ${chalk.bold('prompt')} ${s.prompt}`] : []),
      ...(s.completion ? [`  ${chalk.bold('completion')} ${s.completion}`] : []),
      ...Object.entries(s.fields).map(([k, v]) => `  ${chalk.bold(k)} ${typeof v === 'string' ? v : JSON.stringify(v)}`),
    ].join('\n')).join('\n')
  }
}
