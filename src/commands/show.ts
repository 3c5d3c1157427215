import chalk from 'chalk'
import {AutolabCommand, type Parsed} from '../base-command.js'
import {runArg} from '../command-args.js'
import type {Ctx} from '../lib/context.js'
import {flatten} from '../lib/config-merge.js'
import {colourStatus, formatValue, table, wrapTokens} from '../lib/output/render.js'
import {type RunDetail, showRun} from '../lib/runs/list.js'

export interface ShowResult {
  run: RunDetail
}

export default class Show extends AutolabCommand<ShowResult> {
  static summary = 'Everything about one run: status, config, latest observation, checkpoints, statistics.'
  static description = 'stats gives, per metric over the whole run: n, mean, std, auc (time-averaged area under the curve), best (and best_step), last, and goal — max or min as the run\'s recipe declares it under metrics:, null for a metric declared without one or not declared (then best and best_step are null); higher_is_better is true, false or null accordingly. Non-finite values appear as the strings "NaN", "Infinity", "-Infinity".'
  static examples = ['<%= config.bin %> show r3', '<%= config.bin %> show lr05 --json']
  static args = {run: runArg({required: true})}

  async execute(ctx: Ctx, {args}: Parsed<typeof Show>): Promise<ShowResult> {
    return {run: showRun(ctx.store, args.run)}
  }

  render({run}: ShowResult): string {
    const lines = [
      `${chalk.bold(run.run_id)}${run.name ? ` (${run.name})` : ''}  ${colourStatus(run.status)}  step ${formatValue(run.step)}`,
      `recipe ${run.recipe} · host ${run.host} · pid ${formatValue(run.pid)} · exit ${formatValue(run.exit_code)}${run.parent_run_id ? ` · forked from ${run.parent_run_id}@${run.fork_step}` : ''}`,
      wrapTokens(`config ${run.config_id.slice(0, 12)}: `, Object.entries(flatten(run.config)).map(([k, v]) => `${k}=${JSON.stringify(v)}`)),
      wrapTokens('config versions: ', run.config_versions.map((v) => `v${v.version} ${v.config_id.slice(0, 8)} ${v.effective_step === null ? '(pending)' : `from step ${v.effective_step}`}`), undefined, ' · '),
      `run dir ${run.run_dir}`,
    ]
    if (run.error) lines.push(chalk.red(`error: ${run.error.split('\n').slice(-5).join('\n       ')}`))
    const stats = Object.entries(run.stats)
    if (stats.length > 0) {
      lines.push('', table(stats, [
        {header: 'METRIC', value: ([k, s]) => `${k}${s.goal === 'max' ? ' ↑' : s.goal === 'min' ? ' ↓' : ''}`},
        {header: 'LAST', value: ([, s]) => s.last, align: 'right'},
        {header: 'BEST', value: ([, s]) => s.best, align: 'right'},
        {header: '@STEP', value: ([, s]) => s.best_step, align: 'right'},
        {header: 'MEAN', value: ([, s]) => s.mean, align: 'right'},
        {header: 'STD', value: ([, s]) => s.std, align: 'right'},
        {header: 'AUC', value: ([, s]) => s.auc, align: 'right'},
        {header: 'TREND', value: ([k]) => run.latest_observation?.metrics[k]?.slope ?? null, align: 'right'},
      ]))
    }
    if (run.telemetry_rejected.total > 0) {
      const files = Object.entries(run.telemetry_rejected.by_file).map(([f, n]) => `${f} ${n}`).join(', ')
      lines.push(chalk.yellow(`rejected telemetry lines: ${run.telemetry_rejected.total} (${files}); see \`autolab log --run ${run.run_id} --kind telemetry_rejected\``))
    }
    if (run.evals.length > 0) lines.push(wrapTokens('evals: ', run.evals.map((e) => `${e.eval_id} ${e.suite}@${e.checkpoint_step} ${colourStatus(e.status)}${e.score === null ? '' : ` ${formatValue(e.score)}`}`), undefined, ' · '))
    lines.push('', run.checkpoints.length === 0 ? `checkpoints: ${chalk.dim('none')}` : wrapTokens('checkpoints: ', run.checkpoints.map((c) => String(c.step)), undefined, ', '))
    return lines.join('\n')
  }
}
