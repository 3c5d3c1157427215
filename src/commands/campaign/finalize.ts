import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {AutolabCommand, mutationFlags, type Parsed} from '../../base-command.js'
import {type CampaignView, campaignView, finalizeCampaign} from '../../lib/campaigns.js'
import type {Ctx} from '../../lib/context.js'
import {renderCampaign} from './show.js'

export default class CampaignFinalize extends AutolabCommand<CampaignView> {
  static summary = 'Close a campaign with its winning run and a summary; it takes no more mutations.'
  static description = 'Works even when the budget is spent. Runs still going are not stopped: kill them first if they should not go on.'
  static examples = ['<%= config.bin %> campaign finalize --winner r7 --summary "lr 0.05 reaches 0.98 by step 300" --json']
  static args = {name: Args.string({description: 'Campaign name. [default: the current campaign]'})}
  static flags = {
    winner: Flags.string({description: 'The winning run.'}),
    summary: Flags.string({description: 'What the campaign found.'}),
    ...mutationFlags,
  }

  async execute(ctx: Ctx, {args, flags}: Parsed<typeof CampaignFinalize>): Promise<CampaignView> {
    const campaign = finalizeCampaign(ctx.store, {name: args.name, winner: flags.winner, summary: flags.summary, actor: ctx.actor, reason: flags.reason, idempotencyKey: flags['idempotency-key'], now: ctx.now()})
    return campaignView(ctx.store, campaign.campaign_id, ctx.now())
  }

  render(r: CampaignView): string {
    return renderCampaign(r)
  }
}
