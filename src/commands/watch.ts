import * as Flags from '@oclif/core/flags'
import {AutolabCommand, type Parsed, prepare} from '../base-command.js'
import {integerFlag} from '../command-args.js'
import {getCampaign} from '../lib/campaigns.js'
import type {Ctx} from '../lib/context.js'
import {FullScreenDisplay, LineDisplay} from '../lib/output/watch-display.js'
import {refreshWatch, watchLoop} from '../lib/watch/loop.js'
import {type WatchSnapshot, watchSnapshot} from '../lib/watch/snapshot.js'

/** The last snapshot shown (with --json: the only one), and how many refreshes there were. */
export interface WatchResult extends WatchSnapshot {
  refreshes: number
}

/** What one snapshot holds when nothing bounds it by a screen: --json, and plain lines. */
const UNBOUNDED = {maxRuns: 50, maxEvents: 10}

export default class Watch extends AutolabCommand<WatchResult> {
  static summary = 'A live view of a campaign, refreshed in place: its runs (status, step, steps/s, primary metric with a sparkline), GPUs per host, pending evals, budget and newest events.'
  static description = `Every refresh syncs every host's live runs first, remote ones too (as --fresh does; a host that cannot be reached is a warning on the view), so an open watch keeps the telemetry current when no cron runs tick. On a terminal: a full-screen view on the alternate screen, redrawn in place every --interval seconds and on resize; q or Ctrl-C quits (exit 0) and gives the screen back. Not on a terminal (a pipe, a file): a plain timestamped block per refresh, no colour, until --count refreshes or a signal. With --json: one snapshot, the same data the view shows, as one JSON document (--interval and --count do not apply). The campaign's runs not ended come first, then the most recently ended, up to ${UNBOUNDED.maxRuns} (on a terminal, what fits).`
  static examples = [
    '<%= config.bin %> watch',
    '<%= config.bin %> watch --campaign sweep --interval 5',
    '<%= config.bin %> watch --count 3 --interval 10 >> watch.log',
    '<%= config.bin %> watch --json',
  ]
  // Each refresh syncs every host itself, the first one included.
  static syncFirst = false
  static flags = {
    campaign: Flags.string({description: 'Campaign to watch. [default: the current one]'}),
    interval: integerFlag({description: 'Seconds between refreshes.', default: 2, min: 1, max: 3600}),
    count: integerFlag({description: 'Stop after this many refreshes. [default: until q, Ctrl-C or a signal]', min: 1}),
  }

  async execute(ctx: Ctx, {flags}: Parsed<typeof Watch>): Promise<WatchResult> {
    // An unknown campaign is CAMPAIGN_NOT_FOUND before any screen is taken.
    const campaign = getCampaign(ctx.store, flags.campaign).campaign_id
    const sync = () => prepare(ctx, {fresh: true})
    if (flags.json) return {...await refreshWatch(ctx, {campaign, sync, ...UNBOUNDED}), refreshes: 1}
    const controller = new AbortController()
    const stop = () => controller.abort()
    const screen = process.stdout.isTTY ? new FullScreenDisplay({intervalSeconds: flags.interval, onQuit: stop}) : null
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
    try {
      screen?.open()
      const display = screen ?? new LineDisplay(process.stdout, {runs: UNBOUNDED.maxRuns, events: UNBOUNDED.maxEvents})
      const {refreshes, last} = await watchLoop(ctx, display, {campaign, sync, intervalMs: flags.interval * 1000, count: flags.count, signal: controller.signal})
      return {...(last ?? watchSnapshot(ctx, {campaign, ...UNBOUNDED})), refreshes}
    } finally {
      // Also on an exception: the terminal is given back before the error is printed.
      screen?.close()
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
    }
  }

  render(r: WatchResult): string {
    return `watched campaign ${r.campaign.name}: ${r.refreshes} refresh${r.refreshes === 1 ? '' : 'es'}`
  }
}
