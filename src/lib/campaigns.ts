// Campaigns: every run belongs to one. The default campaign always exists.
import {AutolabError} from './output/errors.js'
import type {Store} from './store/open.js'
import type {CampaignRow} from './store/schema.js'
import {DEFAULT_CAMPAIGN} from './store/seed.js'

export function getCampaign(store: Store, name: string = DEFAULT_CAMPAIGN): CampaignRow {
  const row = store.first(store.db.selectFrom('campaigns').selectAll().where('campaign_id', '=', name))
  if (!row) throw new AutolabError('CAMPAIGN_NOT_FOUND', `No campaign "${name}".`, {details: {campaign: name}})
  return row
}

/** The campaign a compute-starting mutation runs in; refuses finalized campaigns. */
export function campaignForMutation(store: Store, name?: string): CampaignRow {
  const campaign = getCampaign(store, name)
  if (campaign.status === 'finalized') {
    throw new AutolabError('CAMPAIGN_FINALIZED', `Campaign ${campaign.name} is finalized.`, {details: {campaign: campaign.name}})
  }
  return campaign
}
