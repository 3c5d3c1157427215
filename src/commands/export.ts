import * as Flags from '@oclif/core/flags'
import {AutolabCommand, type Parsed, StreamedResult} from '../base-command.js'
import type {Ctx} from '../lib/context.js'
import {prepareExport, writeExport} from '../lib/export.js'
import {checkOutputPath, writeFileAtomically} from '../lib/safe-path.js'

export default class Export extends AutolabCommand<StreamedResult | {file: string; campaign: string}> {
  static summary = 'Everything about a campaign as one JSON document: enough to replay it.'
  static description = 'The campaign, its tree, runs (with config versions and recipes), configs, every event with its reason, checkpoints, observations, metrics, samples and (later) evals. Streamed, so memory stays bounded on large stores. Without --json the document is printed as is; with --json it is the envelope\'s data.\n\n--output writes a temp file beside the target and renames it over, so the file is whole or absent. It must be a regular file (or a new name) in an existing directory: the store\'s own files, symbolic links, directories, FIFOs, sockets and devices are refused. --output - means stdout.'
  static examples = ['<%= config.bin %> export > campaign.json', '<%= config.bin %> export --campaign lr-sweep --json', '<%= config.bin %> export --output campaign.json --json']
  static flags = {
    campaign: Flags.string({description: 'Campaign. [default: the current campaign]'}),
    output: Flags.string({description: 'Write the document to this file instead (- for stdout); the result then says where.'}),
  }

  async execute(ctx: Ctx, {flags}: Parsed<typeof Export>): Promise<StreamedResult | {file: string; campaign: string}> {
    // Both checks come before any byte is written: a bad path or campaign leaves nothing behind.
    const target = flags.output === undefined ? {kind: 'stdout' as const} : checkOutputPath(flags.output, {flag: '--output', storePath: ctx.store.path, allowStdout: true})
    const campaign = prepareExport(ctx, flags.campaign)
    if (target.kind === 'file') {
      await writeFileAtomically(target.path, (write) => {
        writeExport(ctx, campaign, write)
        write('\n')
      })
      return {file: target.path, campaign: campaign.campaign_id}
    }
    return new StreamedResult((write) => writeExport(ctx, campaign, write))
  }

  render(r: StreamedResult | {file: string; campaign: string}): string {
    return r instanceof StreamedResult ? '' : `exported campaign ${r.campaign} to ${r.file}`
  }
}
