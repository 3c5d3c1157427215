import chalk from 'chalk'
import {AutolabCommand, type Parsed} from '../base-command.js'
import type {Ctx} from '../lib/context.js'
import {type TickResult, tick} from '../lib/tick.js'

export default class Tick extends AutolabCommand<TickResult> {
  static summary = 'One pass of housekeeping, for cron: sync, reconcile, start queued runs, enforce deadlines.'
  static description = 'Syncs every host, rolls back interrupted operations, kills processes of runs that have ended, starts queued runs when GPUs free up, pauses the runs of campaigns past their deadline, and records budget crossings; then exits. A lease in the store makes concurrent ticks skip (skipped: true); agents may act at the same time.\n\nCrontab, every minute:\n  * * * * * cd /path/to/project && autolab tick --json >> .autolab/tick.log 2>&1'
  static examples = ['<%= config.bin %> tick --json']
  static syncFirst = false

  async execute(ctx: Ctx, _parsed: Parsed<typeof Tick>): Promise<TickResult> {
    return tick(ctx)
  }

  render(r: TickResult): string {
    if (r.skipped) return chalk.dim(`another tick (pid ${r.lease_holder}) is running; skipped`)
    const parts = [
      `synced ${r.synced_runs} run(s)`,
      r.exited.length ? `ended: ${r.exited.map((e) => `${e.run_id} ${e.status}`).join(', ')}` : '',
      r.rolled_back_operations.length ? `rolled back ${r.rolled_back_operations.length} operation(s)` : '',
      r.killed_orphans.length ? `killed orphans of ${r.killed_orphans.join(', ')}` : '',
      r.started.length ? `started ${r.started.join(', ')}` : '',
      r.still_queued.length ? `still queued ${r.still_queued.join(', ')}` : '',
      r.started_evals.length ? `started evals ${r.started_evals.join(', ')}` : '',
      r.still_queued_evals.length ? `evals still queued ${r.still_queued_evals.join(', ')}` : '',
      r.paused_for_deadline.length ? `paused for deadline ${r.paused_for_deadline.join(', ')}` : '',
      ...r.errors.map((e) => chalk.red(e)),
    ]
    return parts.filter(Boolean).join('\n')
  }
}
