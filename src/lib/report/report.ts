// `report`: a campaign as one self-contained HTML file. The path is checked and the campaign
// resolved before anything is read at length or written; the file is written to a temp file
// beside it and renamed over it (safe-path.ts), so it is whole or absent.
import type {Ctx} from '../context.js'
import {AutolabError} from '../output/errors.js'
import {checkOutputPath, writeFileAtomically} from '../safe-path.js'
import {buildReport} from './data.js'
import {renderReport} from './page.js'

export interface ReportResult {
  /** The file written, absolute. */
  path: string
  bytes: number
  campaign: string
  /** Runs of the campaign (each is on every chart it logged the metric of). */
  runs: number
  /** Charts drawn: one per metric of interest that some run logged. */
  charts: number
  /** The charts' metrics, in page order. */
  metrics: string[]
  /** Metrics of interest no run has logged yet (named on the page, not charted). */
  metrics_without_data: string[]
  /** Runs drawn from bucket means on some chart (more than 1,000 points). */
  downsampled_runs: string[]
  evals: number
  decisions: number
}

export async function writeReport(ctx: Ctx, options: {campaign?: string; out?: string}): Promise<ReportResult> {
  if (options.out === undefined) {
    throw new AutolabError('INVALID_ARGUMENT', 'report needs --out FILE: the HTML file to write.', {
      suggestedAction: 'autolab report --out report.html (then open it in a browser; it needs no network).',
    })
  }
  const target = checkOutputPath(options.out, {flag: '--out', storePath: ctx.store.path, allowStdout: false})
  if (target.kind !== 'file') throw new Error('unreachable: --out - is refused')
  const model = buildReport(ctx.store, options.campaign, ctx.now())
  const page = renderReport(model)
  await writeFileAtomically(target.path, (write) => write(page.html))
  return {
    path: target.path,
    bytes: Buffer.byteLength(page.html, 'utf8'),
    campaign: model.campaign.campaign_id,
    runs: model.runs.length,
    charts: page.charts,
    metrics: model.charts.map((c) => c.metric),
    metrics_without_data: model.metrics_without_data,
    downsampled_runs: [...new Set(model.charts.flatMap((c) => c.series.filter((s) => s.downsampled).map((s) => s.run_id)))],
    evals: model.evals.length,
    decisions: model.decisions.length,
  }
}
