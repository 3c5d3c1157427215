import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {AutolabCommand, mutationFlags, type Parsed} from '../../base-command.js'
import {type CampaignView, campaignView, createCampaign, useCampaign} from '../../lib/campaigns.js'
import type {Ctx} from '../../lib/context.js'
import {renderCampaign} from './show.js'

export default class CampaignCreate extends AutolabCommand<CampaignView> {
  static summary = 'Create a campaign: a goal, a success criterion and a budget; new runs join it.'
  static description = 'The budget is GPU-hours (a run without GPUs counts as one device) and/or a deadline. Once spent, launch, fork and resume fail with BUDGET_EXHAUSTED; reads, kill, pause, note and finalize still work. The new campaign becomes the current one unless --no-use.'
  static examples = [
    '<%= config.bin %> campaign create lr-sweep --goal "reward ≥ 0.9 on mod-7" --criterion "mean reward of last 20 steps" --budget-gpu-hours 2 --deadline 2026-12-01T18:00:00Z --json',
  ]
  static args = {name: Args.string({description: 'Campaign name (letters, digits, . _ -).', required: true})}
  static flags = {
    goal: Flags.string({description: 'What the campaign is for.'}),
    criterion: Flags.string({description: 'How success is judged.'}),
    'budget-gpu-hours': Flags.string({description: 'GPU-hours the campaign may spend.'}),
    deadline: Flags.string({description: 'When the campaign must end (ISO 8601); tick pauses its runs then.'}),
    use: Flags.boolean({description: 'Make it the current campaign.', default: true, allowNo: true}),
    ...mutationFlags,
  }

  async execute(ctx: Ctx, {args, flags}: Parsed<typeof CampaignCreate>): Promise<CampaignView> {
    const hours = flags['budget-gpu-hours'] === undefined ? undefined : Number(flags['budget-gpu-hours'])
    const created = createCampaign(ctx.store, {
      name: args.name, goal: flags.goal, criterion: flags.criterion, budgetGpuHours: hours, deadline: flags.deadline,
      actor: ctx.actor, reason: flags.reason, idempotencyKey: flags['idempotency-key'], now: ctx.now(),
    })
    if (flags.use) useCampaign(ctx.store, created.campaign_id, ctx.now())
    return campaignView(ctx.store, created.campaign_id, ctx.now())
  }

  render(r: CampaignView): string {
    return renderCampaign(r)
  }
}
