import * as Flags from '@oclif/core/flags'
import chalk from 'chalk'
import {AutolabCommand, type Parsed} from '../base-command.js'
import {getCampaign} from '../lib/campaigns.js'
import {integerFlag} from '../command-args.js'
import type {Ctx} from '../lib/context.js'
import {colourStatus, formatValue} from '../lib/output/render.js'
import {type Tree, type TreeNode, buildTree} from '../lib/runs/tree.js'

/** A tree shows this many of the newest runs (and their ancestors) unless --limit or --all. */
export const TREE_PAGE = 100

export default class TreeCommand extends AutolabCommand<Tree> {
  static summary = 'The experiment tree of a campaign: forks with their steps, status, and the latest value of a metric.'
  static description = `Without --all, the newest ${TREE_PAGE} runs of the campaign (or --limit N) and their ancestors, so every run shown hangs from its root; total counts the campaign's runs and truncated says older ones are left out.`
  static examples = ['<%= config.bin %> tree', '<%= config.bin %> tree --metric accuracy --json', '<%= config.bin %> tree --all --json']
  static flags = {
    metric: Flags.string({description: 'Metric whose latest value is shown on each run, or eval:SUITE for the score of each run\'s latest completed eval of that suite. [default: the primary_metric the campaign\'s runs declare; reward when they declare none or disagree] A metric no run of the campaign logged is METRIC_NOT_FOUND listing theirs.'}),
    campaign: Flags.string({description: 'Campaign. [default: default]'}),
    limit: integerFlag({description: `Only the newest N runs (and their ancestors). [default: ${TREE_PAGE}]`, min: 1, exclusive: ['all']}),
    all: Flags.boolean({description: 'Every run of the campaign.', exclusive: ['limit']}),
  }

  async execute(ctx: Ctx, {flags}: Parsed<typeof TreeCommand>): Promise<Tree> {
    // Without --metric: the runs' primary metric, else reward — only a default: no values, not an error, when no run logs it.
    const limit = flags.all ? undefined : flags.limit ?? TREE_PAGE
    return buildTree(ctx.store, {campaign: getCampaign(ctx.store, flags.campaign).campaign_id, metric: flags.metric, requireMetric: true, limit})
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
    if (r.truncated) lines.push(chalk.dim(`the newest of ${r.total} runs and their ancestors (${r.shown} shown); all of them: --all`))
    return r.roots.length === 0 ? `${lines[0]}\n${chalk.dim('(no runs)')}` : lines.join('\n')
  }
}
