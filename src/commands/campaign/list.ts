import {AutolabCommand, type Parsed} from '../../base-command.js'
import {type CampaignView, listCampaigns} from '../../lib/campaigns.js'
import type {Ctx} from '../../lib/context.js'
import {table} from '../../lib/output/render.js'

export interface CampaignListResult {
  campaigns: CampaignView[]
  current: string
}

export default class CampaignList extends AutolabCommand<CampaignListResult> {
  static summary = 'List campaigns with their budgets and run counts.'
  static examples = ['<%= config.bin %> campaign list', '<%= config.bin %> campaign list --json']

  async execute(ctx: Ctx, _parsed: Parsed<typeof CampaignList>): Promise<CampaignListResult> {
    const campaigns = listCampaigns(ctx.store, ctx.now())
    return {campaigns, current: campaigns.find((c) => c.current)?.campaign_id ?? 'default'}
  }

  render(r: CampaignListResult): string {
    return table(r.campaigns, [
      {header: '', value: (c) => (c.current ? '*' : ' ')},
      {header: 'CAMPAIGN', value: (c) => c.name},
      {header: 'STATUS', value: (c) => c.status},
      {header: 'RUNS', value: (c) => Object.values(c.runs).reduce((a, b) => a + b, 0), align: 'right'},
      {header: 'GPU-S SPENT', value: (c) => c.budget.spent_gpu_seconds, align: 'right'},
      {header: 'BUDGET', value: (c) => c.budget.budget_gpu_seconds, align: 'right'},
      {header: 'WINNER', value: (c) => c.winner_run_id},
      {header: 'GOAL', value: (c) => c.goal},
    ])
  }
}
