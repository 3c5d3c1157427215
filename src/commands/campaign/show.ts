import * as Args from '@oclif/core/args'
import chalk from 'chalk'
import {AutolabCommand, type Parsed} from '../../base-command.js'
import {type CampaignView, campaignView} from '../../lib/campaigns.js'
import type {Ctx} from '../../lib/context.js'
import {formatDuration} from '../../lib/output/render.js'

export default class CampaignShow extends AutolabCommand<CampaignView> {
  static summary = 'One campaign: goal, criterion, budget spent and left, runs by status, winner.'
  static examples = ['<%= config.bin %> campaign show', '<%= config.bin %> campaign show lr-sweep --json']
  static args = {name: Args.string({description: 'Campaign name. [default: the current campaign]'})}

  async execute(ctx: Ctx, {args}: Parsed<typeof CampaignShow>): Promise<CampaignView> {
    return campaignView(ctx.store, args.name, ctx.now())
  }

  render(r: CampaignView): string {
    return renderCampaign(r)
  }
}

export function renderCampaign(r: CampaignView): string {
  const budget = r.budget.budget_gpu_seconds === null
    ? 'no GPU budget'
    : `${formatDuration(r.budget.spent_gpu_seconds)} of ${formatDuration(r.budget.budget_gpu_seconds)} GPU spent`
  return [
    `${chalk.bold(r.name)} ${r.status}${r.current ? chalk.dim(' (current)') : ''}`,
    r.goal ? `goal: ${r.goal}` : '',
    r.criterion ? `criterion: ${r.criterion}` : '',
    `budget: ${budget}${r.budget.deadline ? ` · deadline ${r.budget.deadline}${r.budget.deadline_passed ? ' (passed)' : ''}` : ''}`,
    `runs: ${Object.entries(r.runs).map(([s, n]) => `${n} ${s}`).join(', ') || 'none'}`,
    r.winner_run_id ? `winner: ${r.winner_run_id}` : '',
    r.summary ? `summary: ${r.summary}` : '',
  ].filter(Boolean).join('\n')
}
