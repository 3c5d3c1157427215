import * as Flags from '@oclif/core/flags'
import {AutolabCommand, type Parsed} from '../base-command.js'
import {integerFlag, listFlag, runArg} from '../command-args.js'
import type {Ctx} from '../lib/context.js'
import {AutolabError} from '../lib/output/errors.js'
import {lineChart} from '../lib/output/chart.js'
import {table} from '../lib/output/render.js'
import {type AncestorPoint, type HistoryResult, runHistory} from '../lib/telemetry/analysis.js'
import type {HistoryPoint} from '../lib/telemetry/history.js'

export default class History extends AutolabCommand<HistoryResult> {
  static summary = 'Metric values of a run by step.'
  static description = 'Each point is {step, <metric>: value}; non-finite values are the strings "NaN", "Infinity", "-Infinity". Without --from/--to/--last the newest 1,000 points are returned; with them, at most 100,000 (the newest). total counts the points of the steps asked (before --last and that bound); truncated says fewer were returned, and next holds the flags of the page before ({to, last}, and from if given): repeat the call with them. A --metric the run never logged is METRIC_NOT_FOUND listing its metrics; a run that has logged no step yet answers no points with no_data_yet: true.'
  static examples = ['<%= config.bin %> history r3 --metric reward', '<%= config.bin %> history r7 --metric reward --with-ancestors --json', '<%= config.bin %> history r3 --metric reward --metric loss --from 100 --to 200 --json', '<%= config.bin %> history r3 --last 20 --json']
  static args = {run: runArg({required: true})}
  static flags = {
    metric: listFlag({description: 'Metrics to include (default all).'}),
    from: integerFlag({description: 'First step (inclusive).'}),
    to: integerFlag({description: 'Last step (inclusive).'}),
    last: integerFlag({description: 'Only the last N steps that logged the metrics.', min: 1}),
    'with-ancestors': Flags.boolean({description: 'Prefix a forked run\'s history with its ancestors\' up to each fork step (each point then names its run_id).'}),
  }

  async execute(ctx: Ctx, {args, flags}: Parsed<typeof History>): Promise<HistoryResult> {
    if (flags.from !== undefined && flags.to !== undefined && flags.from > flags.to) {
      throw new AutolabError('INVALID_ARGUMENT', `--from ${flags.from} is after --to ${flags.to}.`)
    }
    return runHistory(ctx.store, args.run, {metrics: flags.metric, from: flags.from, to: flags.to, last: flags.last, withAncestors: flags['with-ancestors']})
  }

  render(r: HistoryResult): string {
    if (r.points.length === 0) return `${r.run_id}: ${r.no_data_yet ? 'nothing logged yet' : 'no points in that range'}`
    const paging = r.next ? `the newest ${r.points.length} of ${r.total} points; the page before: --to ${r.next.to} --last ${r.next.last}${r.next.from === undefined ? '' : ` --from ${r.next.from}`}` : ''
    const chart = r.metrics.length === 1
      ? lineChart([{name: r.metrics[0], points: r.points.map((p) => ({step: p.step, value: Number(p[r.metrics[0]])}))}], {title: `${r.run_id} ${r.metrics[0]}`})
      : ''
    const shown = r.points.length > 20 ? r.points.slice(-20) : r.points
    const rows = table(shown, [{header: 'STEP', value: (p) => p.step, align: 'right'}, ...r.metrics.map((m) => ({header: m.toUpperCase(), value: (p: HistoryPoint | AncestorPoint) => p[m], align: 'right' as const}))])
    return [chart, paging, r.points.length > 20 ? `last 20 of ${r.points.length} points:` : '', rows].filter(Boolean).join('\n')
  }
}
