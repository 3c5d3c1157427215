// The base of every command: parse, open the context, sync local runs, execute, print the
// result — one JSON document with --json, readable text otherwise — and turn any error into
// the error envelope with its stable code and exit class. No stack trace without --debug.
import {Command} from '@oclif/core/command'
import * as Flags from '@oclif/core/flags'
import type * as Interfaces from '@oclif/core/interfaces'
import {recordBudgetCrossings} from './lib/campaigns.js'
import {type Ctx, openContext} from './lib/context.js'
import {errorEnvelope, successEnvelope, toJson} from './lib/output/envelope.js'
import {AutolabError, toAutolabError} from './lib/output/errors.js'
import {progressFor} from './lib/output/progress.js'
import {statusLine, useColour} from './lib/output/render.js'
import {recoverAbandonedOperations} from './lib/runs/recovery.js'
import {locateStore, storeFlagOf} from './lib/store/locate.js'
import {syncRuns} from './lib/runs/sync.js'
import {emptyStatusBar, type StatusBar, statusBar, statusBarBeforeOpen} from './lib/status.js'

export const baseFlags = {
  json: Flags.boolean({description: 'Print exactly one JSON document on stdout: {ok, data, status} or {ok, error, status}.', helpGroup: 'GLOBAL'}),
  store: Flags.string({description: 'Path of the SQLite store. [default: $AUTOLAB_STORE, else .autolab/autolab.db in this directory or the nearest parent that has one; only init creates a store]', helpGroup: 'GLOBAL'}),
  project: Flags.string({description: 'Path of the project file with recipes. [default: $AUTOLAB_PROJECT or ./autolab.yaml, else the built-in toy recipe]', helpGroup: 'GLOBAL'}),
  actor: Flags.string({description: 'Who is acting, recorded in the decision log. [default: $AUTOLAB_ACTOR, else human on a terminal, agent otherwise]', helpGroup: 'GLOBAL'}),
  debug: Flags.boolean({description: 'Show stack traces of internal errors.', helpGroup: 'GLOBAL'}),
  fresh: Flags.boolean({description: 'Sync the live runs of every host first, remote ones too (one SSH exec per host). Without it, only local runs are synced, and remote runs are read as of their last sync (the status bar gives each host\'s staleness).', helpGroup: 'GLOBAL'}),
  color: Flags.boolean({description: 'Colour in human output. [default: on a terminal, unless NO_COLOR is set]', allowNo: true, helpGroup: 'GLOBAL'}),
}

/** Flags of every command that changes something. */
export const mutationFlags = {
  reason: Flags.string({description: 'Why: recorded with the action in the decision log.'}),
  'idempotency-key': Flags.string({description: 'Retrying with the same key returns the first result instead of acting twice.'}),
}

/**
 * A result too large to hold in memory (export): the base command writes the envelope around
 * what `write` produces, chunk by chunk.
 */
export class StreamedResult {
  constructor(readonly write: (chunk: (text: string) => void) => Promise<void> | void) {}
}

export type Parsed<T extends typeof Command> = {
  args: Interfaces.InferredArgs<T['args']>
  flags: Interfaces.InferredFlags<T['flags'] & typeof baseFlags>
}

export abstract class AutolabCommand<R extends object> extends Command {
  static baseFlags = baseFlags
  /** Commands that must not sync first (init creates the store; demo uses its own). */
  static syncFirst = true
  /**
   * Commands that need no store (guide): where none is found they run without one (their
   * execute and render never read ctx then), with an empty status bar that says so.
   */
  static needsStore = true

  abstract execute(ctx: Ctx, parsed: Parsed<typeof Command>): Promise<R>
  /** Human rendering of the result; the JSON rendering is the result itself. */
  abstract render(result: R, ctx: Ctx): string

  /** Commands that manage their own store (demo) override this. */
  protected async openContext(flags: Interfaces.InferredFlags<typeof baseFlags>): Promise<Ctx> {
    return openContext({store: flags.store, project: flags.project, actor: flags.actor})
  }

  async run(): Promise<void> {
    // Read before parsing so that parse errors are rendered the way the caller asked.
    const json = this.argv.includes('--json')
    const debug = this.argv.includes('--debug')
    let ctx: Ctx | undefined
    let parsing = true
    try {
      const parsed = await this.parse(this.constructor as typeof AutolabCommand & typeof Command)
      parsing = false
      const flags = parsed.flags as Interfaces.InferredFlags<typeof baseFlags>
      useColour((flags as {color?: boolean}).color)
      const {needsStore, syncFirst} = this.constructor as typeof AutolabCommand
      if (needsStore || locateStore({flag: flags.store}).exists) {
        ctx = await this.openContext(flags)
        // Progress lines on stderr: only on a terminal, never with --json (see output/progress.ts).
        ctx.progress = progressFor({json})
        // A read-only store still answers reads; the sync (a write) is skipped, and said so.
        if (ctx.store.readOnlyReason !== null) ctx.warnings.push(`store is read-only (${ctx.store.readOnlyReason}): telemetry not synced, changes are refused`)
        else if (syncFirst) await prepare(ctx, {fresh: flags.fresh})
      }
      // Without a store (only commands that need none get here so): see needsStore.
      const result = await this.execute(ctx as Ctx, parsed as Parsed<typeof Command>)
      // A progress line left open would run into the answer on a terminal.
      ctx?.progress.end()
      const status = ctx ? statusBar(ctx) : emptyStatusBar(['no store found from here: this status bar is empty'])
      if (result instanceof StreamedResult) {
        const out = (text: string) => process.stdout.write(text)
        if (json) out('{"ok":true,"data":')
        await result.write(out)
        out(json ? `,"status":${toJson(status)}}\n` : '\n')
      } else if (json) this.writeStdout(toJson(successEnvelope(result, status)))
      else this.writeStdout(`${this.render(result, ctx as Ctx)}\n${statusLine(status)}`)
    } catch (thrown) {
      // A parse error was handled here, not forgotten (oclif warns about unparsed commands).
      this.parsed = true
      ctx?.progress.end()
      const error = toAutolabError(thrown)
      let status: StatusBar
      try {
        // A parse error comes before the store is opened: its status bar is still the real one,
        // read from the store without creating or syncing anything. Failing to open the store
        // (STORE_NOT_FOUND, STORE_LOST, …) leaves nothing to report.
        status = ctx ? statusBar(ctx) : parsing ? statusBarBeforeOpen(storeFlagOf(this.argv)) : emptyStatusBar()
      } catch {
        status = emptyStatusBar(['the store could not be read'])
      }
      if (json) this.writeStdout(toJson(errorEnvelope(error, status, debug)))
      else process.stderr.write(humanError(error, debug))
      process.exitCode = error.exitCode
    } finally {
      ctx?.close()
      ctx?.store.close()
    }
  }

  private writeStdout(text: string): void {
    process.stdout.write(`${text}\n`)
  }
}

/**
 * Start of every command: roll back operations whose process died, sync local runs (every host's
 * with --fresh; a host that cannot be reached is then a warning), note budget crossings.
 */
export async function prepare(ctx: Ctx, options: {fresh?: boolean} = {}): Promise<void> {
  await recoverAbandonedOperations(ctx)
  await syncRuns(ctx, options.fresh ? {tolerateHostFaults: true} : {hostKinds: ['local']})
  recordBudgetCrossings(ctx.store, ctx.now())
}

function humanError(error: AutolabError, debug: boolean): string {
  const lines = [`Error [${error.code}]: ${error.message}`, `  → ${error.suggestedAction}`]
  if (error.details) lines.push(`  details: ${toJson(error.details)}`)
  if (debug) lines.push(error.stack ?? '', error.cause instanceof Error ? `Caused by: ${error.cause.stack}` : '')
  return `${lines.filter(Boolean).join('\n')}\n`
}

