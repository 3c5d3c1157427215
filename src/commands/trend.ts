import * as Flags from '@oclif/core/flags'
import chalk from 'chalk'
import {AutolabCommand, type Parsed} from '../base-command.js'
import {integerFlag, runArg} from '../command-args.js'
import type {Ctx} from '../lib/context.js'
import {AutolabError} from '../lib/output/errors.js'
import {formatValue} from '../lib/output/render.js'
import {type TrendResult, trend} from '../lib/telemetry/analysis.js'

export default class Trend extends AutolabCommand<TrendResult> {
  static summary = 'Is a metric going anywhere? A verdict (improving, worsening, plateau, noisy), with slope, mean and std over a window.'
  static description = 'Over the last --window observations (default: the recipe\'s trend_window), or over the raw points of --steps A:B; n says how many points, computed_over_steps which steps and window_steps how many steps they span. change is slope × window_steps, noise the std of the points around the fitted line. verdict: when |change| > 2 × noise and > 1% of |mean| the metric is moving — improving or worsening by the goal the run\'s recipe declares for it (max or min), changing when it declares none; otherwise noisy when noise > half of |mean|, else plateau; null with fewer than 4 points. A metric the run never logged is METRIC_NOT_FOUND listing its metrics; before the run has logged a step (or an observation of the metric) the answer is n 0 with no_data_yet: true.'
  static examples = ['<%= config.bin %> trend r3 --metric reward --window 20 --json', '<%= config.bin %> trend r3 --metric loss --steps 100:400 --json']
  static args = {run: runArg({required: true})}
  static flags = {
    metric: Flags.string({description: 'The metric.', required: true}),
    window: integerFlag({description: 'Number of latest observations.', min: 2}),
    steps: Flags.string({description: 'A:B — raw points of steps A to B (inclusive) instead.', exclusive: ['window']}),
  }

  async execute(ctx: Ctx, {args, flags}: Parsed<typeof Trend>): Promise<TrendResult> {
    let steps: [number, number] | undefined
    if (flags.steps !== undefined) {
      const match = /^(\d+):(\d+)$/.exec(flags.steps)
      if (!match || Number(match[1]) > Number(match[2])) throw new AutolabError('INVALID_ARGUMENT', `--steps "${flags.steps}" must be A:B with A ≤ B, e.g. 100:400.`)
      steps = [Number(match[1]), Number(match[2])]
    }
    return trend(ctx.store, args.run, {metric: flags.metric, window: flags.window, steps})
  }

  render(r: TrendResult): string {
    if (r.no_data_yet) return `${r.run_id} ${r.metric}: no data yet`
    const span = r.computed_over_steps ? `steps ${r.computed_over_steps[0]}–${r.computed_over_steps[1]}, ${r.window_steps} steps` : 'no steps'
    const goal = r.goal === null ? 'no goal' : `goal ${r.goal}`
    return `${r.run_id} ${r.metric}: ${chalk.bold(r.verdict ?? 'too few points')} (${goal}) · change ${formatValue(r.change)} · noise ${formatValue(r.noise)}\n` +
      `slope ${formatValue(r.slope)}/step · mean ${formatValue(r.mean)} · std ${formatValue(r.std)} · latest ${formatValue(r.latest)} (${r.n} ${r.computed_over}, ${span})`
  }
}
