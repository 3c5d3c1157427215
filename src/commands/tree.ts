import * as Flags from '@oclif/core/flags'
import chalk from 'chalk'
import {AutolabCommand, type Parsed} from '../base-command.js'
import {getCampaign} from '../lib/campaigns.js'
import type {Ctx} from '../lib/context.js'
import {colourStatus, formatValue} from '../lib/output/render.js'
import {type Tree, type TreeNode, buildTree} from '../lib/runs/tree.js'

export default class TreeCommand extends AutolabCommand<Tree> {
  static summary = 'The experiment tree of a campaign: forks with their steps, status, and the latest value of a metric.'
  static examples = ['<%= config.bin %> tree', '<%= config.bin %> tree --metric accuracy --json']
  static flags = {
    metric: Flags.string({description: 'Metric whose latest value is shown on each run, or eval:SUITE for the score of each run\'s latest completed eval of that suite. [default: the primary_metric the campaign\'s runs declare; reward when they declare none or disagree] A metric no run of the campaign logged is METRIC_NOT_FOUND listing theirs.'}),
    campaign: Flags.string({description: 'Campaign. [default: default]'}),
  }

  async execute(ctx: Ctx, {flags}: Parsed<typeof TreeCommand>): Promise<Tree> {
    // Without --metric: the runs' primary metric, else reward — only a default: no values, not an error, when no run logs it.
    return buildTree(ctx.store, {campaign: getCampaign(ctx.store, flags.campaign).campaign_id, metric: flags.metric, requireMetric: true})
  }

  render(r: Tree): string {
    const why = r.metric_source === 'primary_metric' ? ', the runs\' primary metric'
      : r.metric_source === 'default' ? `, the default: ${r.primary_metrics.length === 0 ? 'the runs declare no primary metric' : `the runs declare ${r.primary_metrics.join(', ')}`}` : ''
    const lines: string[] = [chalk.bold(`campaign ${r.campaign}`) + chalk.dim(` (${r.metric}${why})`)]
    const draw = (node: TreeNode, prefix: string, last: boolean, root: boolean) => {
      const branch = root ? '' : last ? '└─ ' : '├─ '
      const edge = node.fork_step === null || root ? '' : chalk.dim(`@${node.fork_step} `)
      lines.push(`${prefix}${branch}${edge}${chalk.bold(node.run_id)}${node.name ? ` ${node.name}` : ''} ${colourStatus(node.status)} step ${formatValue(node.step)} ${r.metric} ${formatValue(node.metric)}`)
      const childPrefix = root ? prefix : prefix + (last ? '   ' : '│  ')
      node.children.forEach((child, i) => draw(child, childPrefix, i === node.children.length - 1, false))
    }
    for (const root of r.roots) draw(root, '', true, true)
    return r.roots.length === 0 ? `${lines[0]}\n${chalk.dim('(no runs)')}` : lines.join('\n')
  }
}
