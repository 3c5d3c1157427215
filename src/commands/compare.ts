import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {AutolabCommand, type Parsed} from '../base-command.js'
import {integerFlag} from '../command-args.js'
import type {Ctx} from '../lib/context.js'
import {AutolabError} from '../lib/output/errors.js'
import {lineChart} from '../lib/output/render.js'
import {type CompareResult, compare} from '../lib/telemetry/analysis.js'

export default class Compare extends AutolabCommand<CompareResult> {
  static summary = 'Several runs\' values of one metric side by side, aligned by step, with their fork points.'
  static description = 'A run that has logged steps but never the metric is METRIC_NOT_FOUND listing its metrics; a run that has logged nothing yet has no points (no_data_yet: true).'
  static examples = ['<%= config.bin %> compare r3 r7 r8 --metric reward --json', '<%= config.bin %> compare r3 r7 --metric loss --from 100']
  static strict = false
  static args = {runs: Args.string({description: 'Two or more runs (ids or names).', required: true})}
  static flags = {
    metric: Flags.string({description: 'The metric.', required: true}),
    from: integerFlag({description: 'First step.'}),
    to: integerFlag({description: 'Last step.'}),
  }

  async execute(ctx: Ctx, {argv, flags}: Parsed<typeof Compare> & {argv: string[]}): Promise<CompareResult> {
    const runs = argv as string[]
    if (runs.length < 2) throw new AutolabError('INVALID_ARGUMENT', 'Give at least two runs to compare.')
    return compare(ctx.store, runs, {metric: flags.metric, from: flags.from, to: flags.to})
  }

  render(r: CompareResult): string {
    const series = r.runs.map((run) => ({
      name: `${run.run_id}${run.parent_run_id ? ` (from ${run.parent_run_id}@${run.fork_step})` : ''}`,
      points: r.points.filter((p) => p[run.run_id] !== undefined).map((p) => ({step: p.step as number, value: Number(p[run.run_id])})),
    }))
    return lineChart(series, {title: r.metric})
  }
}
