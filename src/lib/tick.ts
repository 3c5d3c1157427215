// tick: the cron entry point. One pass of housekeeping that no agent has to remember: sync every
// host, reconcile (interrupted operations, processes of ended runs), start queued runs whose GPUs
// freed up, enforce campaign deadlines (their runs are paused), record budget crossings.
// A lease in the store keeps two ticks from overlapping; agents may act concurrently.
import {budgetOf, getSetting, putSetting, recordBudgetCrossings} from './campaigns.js'
import type {Ctx} from './context.js'
import {reconcileProcesses} from './doctor.js'
import {startQueuedEval} from './evals/launch.js'
import {startQueuedRun} from './runs/launch.js'
import {pauseRun} from './runs/pause.js'
import {placementCandidates} from './runs/placement.js'
import {processExists} from './runs/recovery.js'
import {syncRuns} from './runs/sync.js'

const LEASE_KEY = 'tick_lease'
const LEASE_SECONDS = 300

export interface TickResult {
  /** Another tick held the lease: nothing was done. */
  skipped: boolean
  lease_holder: number | null
  synced_runs: number
  exited: {run_id: string; status: string}[]
  rolled_back_operations: string[]
  killed_orphans: string[]
  started: string[]
  still_queued: string[]
  /** Queued evals started now (their run's host has the GPUs), and those still waiting. */
  started_evals: string[]
  still_queued_evals: string[]
  paused_for_deadline: string[]
  errors: string[]
}

/** Take the lease unless a live tick holds an unexpired one. */
function acquireLease(ctx: Ctx): number | null {
  const {store} = ctx
  return store.write(() => {
    const held = getSetting(store, LEASE_KEY)
    if (held) {
      const lease = JSON.parse(held) as {pid: number; expires_at: string}
      if (lease.pid !== process.pid && Date.parse(lease.expires_at) > ctx.now().getTime() && processExists(lease.pid)) return lease.pid
    }
    putSetting(store, LEASE_KEY, JSON.stringify({pid: process.pid, expires_at: new Date(ctx.now().getTime() + LEASE_SECONDS * 1000).toISOString()}), ctx.now())
    return null
  })
}

function releaseLease(ctx: Ctx): void {
  ctx.store.write(() => ctx.store.run(ctx.store.db.deleteFrom('settings').where('key', '=', LEASE_KEY).where('value', 'like', `{"pid":${process.pid},%`)))
}

/**
 * Start each queued job in order. One still waiting for room stays queued quietly; anything else
 * is an error of the tick (NO_CAPACITY that is not retryable: no host could ever fit it any more).
 */
async function startEach(ids: string[], start: (id: string) => Promise<unknown>, started: string[], stillQueued: string[], errors: string[]): Promise<void> {
  for (const id of ids) {
    try {
      await start(id)
      started.push(id)
    } catch (error) {
      stillQueued.push(id)
      const {code, retryable} = error as {code?: string; retryable?: boolean}
      if ((code !== 'NO_CAPACITY' || retryable === false) && code !== 'BUDGET_EXHAUSTED') errors.push(`${id}: ${(error as Error).message}`)
    }
  }
}

export async function tick(ctx: Ctx): Promise<TickResult> {
  const result: TickResult = {
    skipped: false, lease_holder: null, synced_runs: 0, exited: [], rolled_back_operations: [], killed_orphans: [], started: [], still_queued: [], started_evals: [], still_queued_evals: [], paused_for_deadline: [], errors: [],
  }
  const holder = acquireLease(ctx)
  if (holder !== null) return {...result, skipped: true, lease_holder: holder}
  const {store} = ctx
  try {
    const sync = await syncRuns(ctx, {tolerateHostFaults: true})
    result.synced_runs = sync.runs
    result.exited = sync.exited
    const report = await reconcileProcesses(ctx)
    result.rolled_back_operations = report.rolled_back_operations
    result.killed_orphans = report.live_processes_of_ended_runs.filter((p) => p.killed).map((p) => p.run_id)
    // Oldest first; an 'auto' run goes to the first host of the project file with room, a pinned one waits for its host.
    const queued = store.all(store.db.selectFrom('runs').select(['run_id', 'placement']).where('status', '=', 'queued').orderBy('seq'))
    const candidates = queued.some((r) => r.placement === 'auto') ? placementCandidates(ctx) : []
    await startEach(queued.map((r) => r.run_id), (id) => startQueuedRun(ctx, id, candidates), result.started, result.still_queued, result.errors)
    // Queued evals after queued runs, oldest first, each on its run's host.
    const queuedEvals = store.all(store.db.selectFrom('evals').select('eval_id').where('status', '=', 'queued').orderBy('seq')).map((e) => e.eval_id)
    await startEach(queuedEvals, (id) => startQueuedEval(ctx, id), result.started_evals, result.still_queued_evals, result.errors)
    for (const campaign of store.all(store.db.selectFrom('campaigns').selectAll().where('status', '=', 'active').where('deadline', 'is not', null))) {
      if (!budgetOf(store, campaign, ctx.now()).deadline_passed) continue
      const running = store.all(store.db.selectFrom('runs').select('run_id').where('campaign_id', '=', campaign.campaign_id).where('status', '=', 'running'))
      for (const run of running) {
        try {
          await pauseRun(ctx, {run: run.run_id, reason: `campaign ${campaign.name} passed its deadline (${campaign.deadline})`})
          result.paused_for_deadline.push(run.run_id)
        } catch (error) {
          result.errors.push(`${run.run_id}: ${(error as Error).message}`)
        }
      }
    }
    recordBudgetCrossings(store, ctx.now())
  } finally {
    releaseLease(ctx)
  }
  return result
}
