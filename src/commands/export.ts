import * as Flags from '@oclif/core/flags'
import {closeSync, openSync, writeSync} from 'node:fs'
import {AutolabCommand, type Parsed, StreamedResult} from '../base-command.js'
import type {Ctx} from '../lib/context.js'
import {prepareExport, writeExport} from '../lib/export.js'

export default class Export extends AutolabCommand<StreamedResult | {file: string; campaign: string}> {
  static summary = 'Everything about a campaign as one JSON document: enough to replay it.'
  static description = 'The campaign, its tree, runs (with config versions and recipes), configs, every event with its reason, checkpoints, observations, metrics, samples and (later) evals. Streamed, so memory stays bounded on large stores. Without --json the document is printed as is; with --json it is the envelope\'s data.'
  static examples = ['<%= config.bin %> export > campaign.json', '<%= config.bin %> export --campaign lr-sweep --json', '<%= config.bin %> export --output campaign.json --json']
  static flags = {
    campaign: Flags.string({description: 'Campaign. [default: the current campaign]'}),
    output: Flags.string({description: 'Write the document to this file instead; the result then says where.'}),
  }

  async execute(ctx: Ctx, {flags}: Parsed<typeof Export>): Promise<StreamedResult | {file: string; campaign: string}> {
    const campaign = prepareExport(ctx, flags.campaign)
    if (flags.output) {
      const fd = openSync(flags.output, 'w')
      try {
        writeExport(ctx, campaign, (text) => writeSync(fd, text))
        writeSync(fd, '\n')
      } finally {
        closeSync(fd)
      }
      return {file: flags.output, campaign: campaign.campaign_id}
    }
    return new StreamedResult((write) => writeExport(ctx, campaign, write))
  }

  render(r: StreamedResult | {file: string; campaign: string}): string {
    return r instanceof StreamedResult ? '' : `exported campaign ${r.campaign} to ${r.file}`
  }
}
