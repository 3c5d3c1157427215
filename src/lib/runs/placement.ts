// GPU placement across hosts. A host declares GPU ids; a live run (starting, running, pausing,
// killing) holds its ids until it ends, and so does a live eval (starting, running); queued and
// paused runs hold none.
//
// The decision is made INSIDE the write transaction that reserves the run (store.write is BEGIN
// IMMEDIATE): two concurrent launches serialize there, so the second one sees the first one's row
// and never gets the same (host, GPU).
import type {Ctx} from '../context.js'
import {requireHost, upsertDeclaredHost} from '../hosts/registry.js'
import {AutolabError} from '../output/errors.js'
import type {Store} from '../store/open.js'
import {LOCAL_HOST} from '../store/seed.js'
import {LIVE_EVAL_STATES} from '../evals/state.js'
import {LIVE_STATES} from './state-machine.js'

/** The upper bound of --gpus (and of a recipe's `gpus`). */
export const MAX_GPUS = 64

/** How a run was placed: 'pinned' keeps its host (--host, forks, resumes); 'auto' may move to any host with room when it leaves the queue. */
export type PlacementKind = 'pinned' | 'auto'

export interface HostCapacity {
  host: string
  kind: string
  total: number
  free: number
  /** The free GPU ids, in the host's declared order. */
  free_gpus: string[]
  /** Every declared GPU a live run holds, and the run. */
  busy: {gpu: string; run_id: string}[]
}

/** What a host offers right now (a read; call inside the write transaction when the answer decides a placement). */
export function hostCapacity(store: Store, hostId: string): HostCapacity {
  const host = store.first(store.db.selectFrom('hosts').select(['kind', 'gpus']).where('host_id', '=', hostId))
  const declared = JSON.parse(host?.gpus ?? '[]') as string[]
  const holders = new Map<string, string>()
  const live = store.all(store.db.selectFrom('runs').select(['run_id', 'gpus']).where('host_id', '=', hostId).where('status', 'in', [...LIVE_STATES]).orderBy('seq'))
  for (const run of live) for (const gpu of JSON.parse(run.gpus) as string[]) holders.set(gpu, run.run_id)
  // A live eval holds its GPUs too (busy names it by its eval id).
  const evals = store.all(store.db.selectFrom('evals').select(['eval_id', 'gpus']).where('host_id', '=', hostId).where('status', 'in', [...LIVE_EVAL_STATES]).where('gpus', '!=', '[]'))
  for (const e of evals) for (const gpu of JSON.parse(e.gpus) as string[]) holders.set(gpu, e.eval_id)
  const free = declared.filter((g) => !holders.has(g))
  return {
    host: hostId, kind: host?.kind ?? 'local', total: declared.length, free: free.length, free_gpus: free,
    busy: declared.filter((g) => holders.has(g)).map((gpu) => ({gpu, run_id: holders.get(gpu)!})),
  }
}

export interface Placement {
  host_id: string
  gpus: string[]
  /** 'queued': no host has room now (only with `queue`); host_id is then the first candidate, gpus empty. */
  status: 'starting' | 'queued'
}

/**
 * Place a run needing `gpus` GPUs on the FIRST of `hosts` (in order) with that many free, taking
 * its first free ids. Call inside the write transaction that reserves (or starts) the run.
 * No host with room: queued when `queue`, else NO_CAPACITY saying what is busy where. A count
 * that no host could ever offer is NO_CAPACITY too, not retryable, and never queued.
 */
export function placeRun(store: Store, request: {hosts: readonly string[]; gpus: number; queue?: boolean; queueable?: boolean}): Placement {
  const {hosts, gpus: needed} = request
  if (hosts.length === 0) throw new AutolabError('INTERNAL', 'placeRun: no candidate host.')
  const capacities: HostCapacity[] = []
  for (const hostId of hosts) {
    const capacity = hostCapacity(store, hostId)
    if (capacity.free >= needed) return {host_id: hostId, gpus: capacity.free_gpus.slice(0, needed), status: 'starting'}
    capacities.push(capacity)
  }
  const largest = capacities.reduce((a, b) => (b.total > a.total ? b : a))
  if (largest.total < needed) throw neverFits(needed, capacities, largest)
  if (request.queue) return {host_id: hosts[0]!, gpus: [], status: 'queued'}
  throw noCapacityNow(needed, capacities, request.queueable ?? true)
}

function capacityDetails(capacities: HostCapacity[]): {host: string; total: number; free: number; busy: {gpu: string; run_id: string}[]}[] {
  return capacities.map(({host, total, free, busy}) => ({host, total, free, busy}))
}

function noCapacityNow(needed: number, capacities: HostCapacity[], queueable: boolean): AutolabError {
  const where = capacities.map((c) => {
    const byRun = new Map<string, string[]>()
    for (const {gpu, run_id: runId} of c.busy) byRun.set(runId, [...(byRun.get(runId) ?? []), gpu])
    const holders = [...byRun].map(([runId, ids]) => `${runId} (GPU ${ids.join(',')})`).join(', ')
    return `${c.host}: ${c.free} of ${c.total} free${holders ? `, busy with ${holders}` : ''}`
  })
  const runs = [...new Set(capacities.flatMap((c) => c.busy.map((b) => b.run_id)))]
  return new AutolabError('NO_CAPACITY', `No host has ${needed} free GPU(s) — ${where.join('; ')}.`, {
    retryable: true,
    details: {needed, hosts: capacityDetails(capacities)},
    suggestedAction: `${queueable ? 'Pass --queue to start it when GPUs free up (`autolab tick`), or free' : 'Retry once GPUs free up, or free'} GPUs: \`autolab kill RUN\` or \`autolab pause RUN\`${runs.length ? ` (one of ${runs.join(', ')})` : ''}.`,
  })
}

function neverFits(needed: number, capacities: HostCapacity[], largest: HostCapacity): AutolabError {
  const sizes = capacities.map((c) => `${c.host} has ${c.total}`).join(', ')
  return new AutolabError('NO_CAPACITY', `No host could ever fit ${needed} GPU(s): ${sizes}. Nothing was queued.`, {
    retryable: false,
    details: {needed, never_fits: true, largest: {host: largest.host, total: largest.total}, hosts: capacityDetails(capacities)},
    suggestedAction: largest.total === 0
      ? 'Declare GPU ids for the host in autolab.yaml (`hosts: <name>: gpus: [0, 1]`), or pass --gpus 0.'
      : `Ask for at most ${largest.total} (--gpus ${largest.total}), or declare a host with more GPUs in autolab.yaml.`,
  })
}

/**
 * The hosts a run may be placed on, in order, their project-file declarations copied into the
 * store: `[host]` when one is named (HOST_NOT_FOUND lists the hosts there are); else every host
 * of the project file's `hosts:`, in its order, and `local` last when the file omits it (it
 * always exists: every store has it). With no project file (a cron `tick` run elsewhere), the
 * embedded default says nothing about this store's hosts: the store's hosts are used as they are,
 * in the order they were first declared, `local` last.
 */
export function placementCandidates(ctx: Ctx, host?: string): string[] {
  if (host !== undefined) return [requireHost(ctx, host).host_id]
  const {store} = ctx
  const project = ctx.project()
  const ids = project.file === null
    ? store.all(store.db.selectFrom('hosts').select('host_id').orderBy('created_at').orderBy('host_id')).map((h) => h.host_id).filter((h) => h !== LOCAL_HOST)
    : store.write(() => Object.values(project.hosts).map((decl) => upsertDeclaredHost(store, decl, ctx.now()).host_id))
  if (!ids.includes(LOCAL_HOST)) ids.push(LOCAL_HOST)
  return ids
}
