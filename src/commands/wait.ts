import chalk from 'chalk'
import {AutolabCommand, type Parsed} from '../base-command.js'
import {MAX_WAIT_SECONDS, integerFlag, listFlag} from '../command-args.js'
import type {Ctx} from '../lib/context.js'
import {WAKE_KINDS, type WaitResult, type WakeKind, waitForEvents} from '../lib/wait.js'

export default class Wait extends AutolabCommand<WaitResult> {
  static summary = 'Sleep until something worth acting on happens: an anomaly, an exit, a checkpoint, a message…'
  static description = `Blocks until an event of a kind in --for appears after the cursor, or --timeout seconds pass (woken_by "timer", exit 0). Kinds: ${Object.keys(WAKE_KINDS).join(', ')} (step: --run R reached --step N). Pass the returned cursor as --since to the next call so nothing that happens in between is missed; without --since only new events count. What is already so wakes at once, with \`already\` saying so: --for exit with --run R when R has ended, --for checkpoint with --run R --step N when R has a checkpoint at or past N, --for eval with --eval E when E has ended. Every host's runs are synced while waiting.`
  static examples = [
    '<%= config.bin %> wait --for anomaly,exit,message --timeout 600 --json',
    '<%= config.bin %> wait --for exit --run r3 --since 120 --json',
    '<%= config.bin %> wait --for step --run r3 --step 500 --timeout 120 --json',
    '<%= config.bin %> wait --for eval --eval e4 --timeout 600 --json',
  ]
  // No sync before the cursor is taken: what the first sync ingests happened "now", and counts.
  static syncFirst = false
  static flags = {
    for: listFlag({description: 'Kinds to wake on.', options: Object.keys(WAKE_KINDS), default: ['anomaly', 'exit', 'message']}),
    timeout: integerFlag({description: 'Seconds to wait at most.', default: 600, min: 0, max: MAX_WAIT_SECONDS}),
    since: integerFlag({description: 'Cursor (an event_id) from a previous wait or log: events after it count.', min: 0}),
    run: listFlag({description: 'Only events of these runs (ids or names); messages and budget events still wake.'}),
    step: integerFlag({description: 'With --for step: the step to wait for; with --for checkpoint: a checkpoint at or past it.', min: 0}),
    eval: listFlag({description: 'With --for eval: only these evals (ids).'}),
  }

  async execute(ctx: Ctx, {flags}: Parsed<typeof Wait>): Promise<WaitResult> {
    return waitForEvents(ctx, {for: flags.for as WakeKind[], timeoutSeconds: flags.timeout, since: flags.since, runs: flags.run, step: flags.step, evals: flags.eval})
  }

  render(r: WaitResult): string {
    const head = r.woken_by === 'timer' ? chalk.dim('timed out; nothing happened') : `woken by ${chalk.bold(r.woken_by)}${r.already ? ' (already so when the wait began)' : ''}`
    const events = r.events.map((e) => `  #${e.event_id} ${e.kind}${e.run_id ? ` ${e.run_id}` : ''} ${JSON.stringify(e.args)}`)
    return [head, ...events, chalk.dim(`next: autolab wait --since ${r.cursor}`)].join('\n')
  }
}
