import * as Args from '@oclif/core/args'
import {AutolabCommand, type Parsed} from '../../base-command.js'
import {type CampaignView, campaignView, useCampaign} from '../../lib/campaigns.js'
import type {Ctx} from '../../lib/context.js'
import {renderCampaign} from './show.js'

export default class CampaignUse extends AutolabCommand<CampaignView> {
  static summary = 'Make a campaign the current one: new runs join it, the status bar shows it.'
  static examples = ['<%= config.bin %> campaign use lr-sweep --json']
  static args = {name: Args.string({description: 'Campaign name.', required: true})}

  async execute(ctx: Ctx, {args}: Parsed<typeof CampaignUse>): Promise<CampaignView> {
    useCampaign(ctx.store, args.name, ctx.now())
    return campaignView(ctx.store, args.name, ctx.now())
  }

  render(r: CampaignView): string {
    return renderCampaign(r)
  }
}
