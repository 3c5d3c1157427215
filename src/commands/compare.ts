import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {AutolabCommand, type Parsed} from '../base-command.js'
import {integerFlag} from '../command-args.js'
import type {Ctx} from '../lib/context.js'
import {AutolabError} from '../lib/output/errors.js'
import {lineChart} from '../lib/output/chart.js'
import {table} from '../lib/output/render.js'
import {type CompareResult, compare} from '../lib/telemetry/analysis.js'

export default class Compare extends AutolabCommand<CompareResult> {
  static summary = 'Several runs\' values of one metric side by side, aligned by step, with their fork points and a summary of each.'
  static description = 'Each run has a summary: last and best (by the goal its recipe declares for the metric; best is null without one) over the compared steps, and n, mean, std, slope, change, noise and verdict over its last --window observations within them (default: its recipe\'s trend_window), by the rule of `autolab trend`. A run that has logged steps but never the metric is METRIC_NOT_FOUND listing its metrics; a run that has logged nothing yet has no points (no_data_yet: true).'
  static examples = ['<%= config.bin %> compare r3 r7 r8 --metric reward --json', '<%= config.bin %> compare r3 r7 --metric loss --from 100']
  static strict = false
  static args = {runs: Args.string({description: 'Two or more runs (ids or names).', required: true})}
  static flags = {
    metric: Flags.string({description: 'The metric.', required: true}),
    from: integerFlag({description: 'First step.'}),
    to: integerFlag({description: 'Last step.'}),
    window: integerFlag({description: 'Observations each run\'s summary is computed over (the latest within the steps).', min: 2}),
  }

  async execute(ctx: Ctx, {argv, flags}: Parsed<typeof Compare> & {argv: string[]}): Promise<CompareResult> {
    const runs = argv as string[]
    if (runs.length < 2) throw new AutolabError('INVALID_ARGUMENT', 'Give at least two runs to compare.')
    return compare(ctx.store, runs, {metric: flags.metric, from: flags.from, to: flags.to, window: flags.window})
  }

  render(r: CompareResult): string {
    const series = r.runs.map((run) => ({
      name: `${run.run_id}${run.parent_run_id ? ` (from ${run.parent_run_id}@${run.fork_step})` : ''}`,
      points: r.points.filter((p) => p[run.run_id] !== undefined).map((p) => ({step: p.step as number, value: Number(p[run.run_id])})),
    }))
    const summary = table(r.runs, [
      {header: 'RUN', value: (run) => run.run_id},
      {header: 'VERDICT', value: (run) => run.summary.verdict},
      {header: 'LAST', value: (run) => run.summary.last, align: 'right'},
      {header: 'BEST', value: (run) => run.summary.best, align: 'right'},
      {header: 'MEAN', value: (run) => run.summary.mean, align: 'right'},
      {header: 'SLOPE', value: (run) => run.summary.slope, align: 'right'},
      {header: 'WINDOW', value: (run) => (run.summary.computed_over_steps ? `${run.summary.computed_over_steps[0]}–${run.summary.computed_over_steps[1]}` : null), align: 'right'},
    ])
    const markers = r.runs.filter((run) => run.parent_run_id !== null && run.fork_step !== null)
      .map((run) => ({step: run.fork_step!, label: `${run.run_id} forked from ${run.parent_run_id} at step ${run.fork_step}`}))
    return `${lineChart(series, {title: r.metric, markers})}\n\n${summary}`
  }
}
