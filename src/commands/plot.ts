import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {AutolabCommand, type Parsed} from '../base-command.js'
import {integerFlag} from '../command-args.js'
import type {Ctx} from '../lib/context.js'
import {lineChart, MAX_CHART_HEIGHT, MAX_CHART_WIDTH, MIN_CHART_HEIGHT, MIN_CHART_WIDTH} from '../lib/output/chart.js'
import {outputWidth} from '../lib/output/render.js'
import {DEFAULT_PLOT_POINTS, MAX_PLOT_RUNS, type PlotResult, plotRuns} from '../lib/plots/plot.js'

export default class Plot extends AutolabCommand<PlotResult> {
  static summary = 'One metric of one or several runs against step, as a chart in the terminal, with fork points marked.'
  static description = `Each run has a colour and a glyph of its own (so the chart reads without colour: NO_COLOR, --no-color, a pipe); a child's fork step is a vertical ┆ column, ┴ on the x axis, with a legend line "r2 forked from r1 at step 20". At most ${MAX_PLOT_RUNS} runs; a run named twice (by id or name) is plotted once. A run that has logged steps but never the metric is METRIC_NOT_FOUND listing its metrics; one that has logged nothing yet is drawn empty (no_data_yet: true). NaN and ±Infinity are never drawn: the legend counts them.

--log-y refuses (INVALID_ARGUMENT, naming the run and the step) a value ≤ 0 in the range rather than dropping it silently: start after it with --from, or plot linearly.

With --json: the series behind the chart. A run with at most --max-points steps in the range has every point as logged (the values history gives); a longer one is downsampled: one point per bucket of bucket_steps steps (a grid all downsampled runs share), its value the bucket's mean, with min, max and n.`
  static examples = [
    '<%= config.bin %> plot r1 r2 --metric reward',
    '<%= config.bin %> plot r7 --with-ancestors --metric loss --log-y --from 100',
    '<%= config.bin %> plot r1 r2 --metric reward --width 100 --height 20 --no-color',
    '<%= config.bin %> plot r1 r2 --metric reward --json',
  ]
  static strict = false
  static args = {runs: Args.string({description: 'One or more runs (ids or names).', required: true})}
  static flags = {
    metric: Flags.string({description: 'The metric to plot.', required: true}),
    from: integerFlag({description: 'First step (inclusive).'}),
    to: integerFlag({description: 'Last step (inclusive).'}),
    width: integerFlag({description: `Columns of the chart, axis labels included. [default: the terminal's width, else 80]`, min: MIN_CHART_WIDTH, max: MAX_CHART_WIDTH}),
    height: integerFlag({description: 'Rows of the plot area.', min: MIN_CHART_HEIGHT, max: MAX_CHART_HEIGHT, default: 15}),
    'log-y': Flags.boolean({description: 'A log10 value axis (every value in the range must be above 0).'}),
    'with-ancestors': Flags.boolean({description: 'Also plot each run\'s ancestors (whole curves), so every fork point has its parent\'s curve.'}),
    'max-points': integerFlag({description: 'Points per run before it is downsampled into buckets.', min: 10, max: 100_000, default: DEFAULT_PLOT_POINTS}),
  }

  private chart = {width: 80, height: 15}

  async execute(ctx: Ctx, {argv, flags}: Parsed<typeof Plot> & {argv: string[]}): Promise<PlotResult> {
    this.chart = {width: flags.width ?? Math.min(MAX_CHART_WIDTH, outputWidth()), height: flags.height}
    return plotRuns(ctx.store, argv as string[], {
      metric: flags.metric, from: flags.from, to: flags.to, logY: flags['log-y'], maxPoints: flags['max-points'], withAncestors: flags['with-ancestors'],
    })
  }

  render(r: PlotResult): string {
    const series = r.runs.map((run) => ({
      name: `${run.run_id}${run.name ? ` ${run.name}` : ''} (${run.status}${run.asked ? '' : ', ancestor'})`,
      points: run.points.map((p) => ({step: p.step, value: Number(p.value)})),
    }))
    const markers = r.fork_points.map((f) => ({step: f.step, label: `${f.run_id} forked from ${f.parent_run_id} at step ${f.step}${f.parent_plotted ? '' : ` (${f.parent_run_id} not plotted: --with-ancestors adds it)`}`}))
    const notes = r.runs.flatMap((run) => [
      ...(run.no_data_yet ? [`${run.run_id}: nothing logged yet`] : run.total === 0 ? [`${run.run_id}: no ${r.metric} in these steps`] : []),
      ...(run.non_finite > 0 ? [`${run.run_id}: ${run.non_finite} NaN/Infinity value${run.non_finite === 1 ? '' : 's'} not drawn (first at step ${run.first_non_finite_step})`] : []),
      ...(run.downsampled ? [`${run.run_id}: ${run.total} points in ${run.points.length} buckets of ${r.bucket_steps} steps`] : []),
    ])
    const title = `${r.metric}${r.log_y ? ' (log scale)' : ''}${r.from !== null || r.to !== null ? `, steps ${r.from ?? '…'}–${r.to ?? '…'}` : ''}`
    return lineChart(series, {...this.chart, title, logY: r.log_y, markers, notes, stepRange: r.step_range ?? undefined})
  }
}
