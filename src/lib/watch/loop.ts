// The watch loop: every interval, sync every host (watch keeps telemetry current when no cron
// runs), read a snapshot sized to the display, show it; until the count is reached or the signal
// fires. A fault while syncing (a host down, the store busy) is a warning on the next frame, never
// the end of the view.
import type {Ctx} from '../context.js'
import {toAutolabError} from '../output/errors.js'
import {type WatchSnapshot, watchSnapshot} from './snapshot.js'

/** Where snapshots are shown: a full-screen terminal view, or plain lines. */
export interface WatchDisplay {
  /** How many runs and events it can show (a snapshot reads no more than that). */
  capacity(): {runs: number; events: number}
  show(snapshot: WatchSnapshot): void
}

export interface RefreshOptions {
  /** Campaign id. */
  campaign: string
  /**
   * The sync every refresh runs: what the global --fresh runs (recover interrupted operations,
   * sync every host's live runs tolerating host faults, note budget crossings). Passed in by the
   * command, where it is defined.
   */
  sync: () => Promise<void>
}

export interface WatchOptions extends RefreshOptions {
  intervalMs: number
  /** Stop after this many refreshes. [default: until the signal] */
  count?: number
  signal: AbortSignal
}

/** One refresh: the sync (skipped on a read-only store), then a snapshot. The sync's faults are thrown (--json answers with them). */
export async function refreshWatch(ctx: Ctx, options: RefreshOptions & {maxRuns: number; maxEvents: number}): Promise<WatchSnapshot> {
  if (ctx.store.readOnlyReason === null) await options.sync()
  return watchSnapshot(ctx, {campaign: options.campaign, maxRuns: options.maxRuns, maxEvents: options.maxEvents})
}

export async function watchLoop(ctx: Ctx, display: WatchDisplay, options: WatchOptions): Promise<{refreshes: number; last: WatchSnapshot | null}> {
  // The warnings of the command's start (a read-only store) stay; each refresh brings its own.
  const startWarnings = [...ctx.warnings]
  let refreshes = 0
  let last: WatchSnapshot | null = null
  while (!options.signal.aborted) {
    const started = Date.now()
    ctx.warnings.splice(0, ctx.warnings.length, ...startWarnings)
    if (ctx.store.readOnlyReason === null) {
      try {
        await options.sync()
      } catch (error) {
        const fault = toAutolabError(error)
        ctx.warnings.push(`sync failed (${fault.code}): ${fault.message}; retried at the next refresh`)
      }
    }
    if (options.signal.aborted) break
    const {runs, events} = display.capacity()
    last = watchSnapshot(ctx, {campaign: options.campaign, maxRuns: runs, maxEvents: events})
    display.show(last)
    refreshes++
    if (options.count !== undefined && refreshes >= options.count) break
    await sleep(started + options.intervalMs - Date.now(), options.signal)
  }
  return {refreshes, last}
}

/** Sleep, cut short by the signal. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve()
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, {once: true})
  })
}
