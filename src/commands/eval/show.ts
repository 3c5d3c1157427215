import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import chalk from 'chalk'
import {AutolabCommand, type Parsed} from '../../base-command.js'
import {integerFlag} from '../../command-args.js'
import type {Ctx} from '../../lib/context.js'
import {type EvalDetail, showEval} from '../../lib/evals/queries.js'
import {colourStatus, formatValue} from '../../lib/output/render.js'

export default class EvalShow extends AutolabCommand<EvalDetail> {
  static summary = 'One eval: its settings, status, score, metrics, breakdown and examples.'
  static examples = ['<%= config.bin %> eval show e4', '<%= config.bin %> eval show e4 --examples 20 --wrong --json']
  static args = {eval: Args.string({description: 'Eval id (e.g. e4).', required: true})}
  static flags = {
    examples: integerFlag({description: 'Show up to N examples, in file order (0: none).', default: 10, min: 0, max: 10_000}),
    wrong: Flags.boolean({description: 'Only examples answered wrong (correct: false).'}),
  }

  async execute(ctx: Ctx, {args, flags}: Parsed<typeof EvalShow>): Promise<EvalDetail> {
    return showEval(ctx.store, args.eval, {examples: flags.examples, wrong: flags.wrong})
  }

  render(r: EvalDetail): string {
    const lines = [
      `${chalk.bold(r.eval_id)}  ${r.suite} on ${r.run_id}@${r.checkpoint_step}  ${colourStatus(r.status)}  score ${formatValue(r.score)}`,
      `n ${r.n} · settings ${JSON.stringify(r.settings)} · host ${r.host} · pid ${formatValue(r.pid)} · exit ${formatValue(r.exit_code)}`,
    ]
    if (r.metrics && Object.keys(r.metrics).length > 0) lines.push(`metrics: ${Object.entries(r.metrics).map(([k, v]) => `${k}=${formatValue(v)}`).join(' ')}`)
    if (r.breakdown && Object.keys(r.breakdown).length > 0) lines.push(`breakdown: ${JSON.stringify(r.breakdown)}`)
    if (r.error) lines.push(chalk.red(`error: ${r.error.split('\n').slice(-5).join('\n       ')}`))
    lines.push(`examples: ${r.examples_total} stored, ${r.examples_wrong} wrong`)
    for (const e of r.examples) lines.push(`  ${e.correct === null ? '?' : e.correct ? chalk.green('✓') : chalk.red('✗')} #${e.idx} ${e.prompt ?? ''} → ${e.output ?? ''}${e.expected === null ? '' : chalk.dim(` (expected ${e.expected})`)}`)
    return lines.join('\n')
  }
}
