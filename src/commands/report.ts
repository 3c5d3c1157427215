import * as Flags from '@oclif/core/flags'
import {AutolabCommand, type Parsed} from '../base-command.js'
import type {Ctx} from '../lib/context.js'
import {type ReportResult, writeReport} from '../lib/report/report.js'

export default class Report extends AutolabCommand<ReportResult> {
  static summary = 'A campaign as one self-contained HTML file: goal, budget, tree, every run\'s curves with fork points, evals, decisions, winner.'
  static description = `The page needs no network and runs no script: inline CSS, charts drawn as inline SVG. One chart per metric of interest — each run's primary metric, then the metrics its recipe declares with a goal (else reward and loss) — with every run of the campaign on it, each in its own colour, dash and marker, fork points marked. A run with more than 1,000 points on a chart is drawn from bucket means with a min–max band. Every value from the store (names, reasons, notes) is escaped.

--out is required (the report is a file, never stdout). It is written like export --output: a temp file beside the target renamed over it; the store's own files, symbolic links, directories, FIFOs, sockets and devices are refused (INVALID_ARGUMENT), a missing directory is FILE_NOT_FOUND.`
  static examples = ['<%= config.bin %> report --out report.html', '<%= config.bin %> report --campaign lr-sweep --out sweep.html --json']
  static flags = {
    campaign: Flags.string({description: 'Campaign. [default: the current campaign]'}),
    out: Flags.string({description: 'The HTML file to write (required).'}),
  }

  async execute(ctx: Ctx, {flags}: Parsed<typeof Report>): Promise<ReportResult> {
    return writeReport(ctx, {campaign: flags.campaign, out: flags.out})
  }

  render(r: ReportResult): string {
    const missing = r.metrics_without_data.length ? `; not logged yet: ${r.metrics_without_data.join(', ')}` : ''
    return `wrote ${r.path} (${r.bytes} bytes): campaign ${r.campaign}, ${r.runs} run${r.runs === 1 ? '' : 's'}, ${r.charts} chart${r.charts === 1 ? '' : 's'} (${r.metrics.join(', ') || 'none'})${missing}, ${r.evals} eval${r.evals === 1 ? '' : 's'}, ${r.decisions} decision${r.decisions === 1 ? '' : 's'}`
  }
}
