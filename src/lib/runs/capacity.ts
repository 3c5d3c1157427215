// GPU placement: a host declares GPU ids; live runs hold theirs until they end.
import {AutolabError} from '../output/errors.js'
import type {Store} from '../store/open.js'
import {LIVE_STATES} from './state-machine.js'

export function gpusInUse(store: Store, hostId: string): Set<string> {
  const rows = store.all(store.db.selectFrom('runs').select('gpus').where('host_id', '=', hostId).where('status', 'in', [...LIVE_STATES]))
  return new Set(rows.flatMap((r) => JSON.parse(r.gpus) as string[]))
}

/** Pick `count` free GPUs on the host (call inside the write transaction that reserves the run). */
export function allocateGpus(store: Store, hostId: string, count: number): string[] {
  if (count === 0) return []
  const host = store.first(store.db.selectFrom('hosts').select('gpus').where('host_id', '=', hostId))
  const declared = JSON.parse(host?.gpus ?? '[]') as string[]
  const used = gpusInUse(store, hostId)
  const free = declared.filter((g) => !used.has(g))
  if (free.length < count) {
    throw new AutolabError('NO_CAPACITY', `Host ${hostId} has ${free.length} free GPU(s) of ${declared.length}; the run needs ${count}.`, {
      details: {host: hostId, free: free.length, total: declared.length, needed: count},
    })
  }
  return free.slice(0, count)
}
