// Rows every store has: the default campaign and the `local` host, whose work root is the
// store's own directory — recorded as '.', so a store copied or moved elsewhere keeps its runs
// beside it instead of launching into the old location.
import type {Store} from './open.js'

export const DEFAULT_CAMPAIGN = 'default'
export const LOCAL_HOST = 'local'

export function seedDefaults(store: Store, now: string): void {
  store.run(store.db.insertInto('campaigns').values({
    campaign_id: DEFAULT_CAMPAIGN, name: DEFAULT_CAMPAIGN, goal: null, criterion: null, budget_gpu_seconds: null,
    deadline: null, status: 'active', winner_run_id: null, summary: null, created_at: now,
  }).onConflict((oc) => oc.doNothing()))
  store.run(store.db.insertInto('hosts').values({
    host_id: LOCAL_HOST, kind: 'local', address: null, user: null, port: null, root: '.', gpus: '[]', created_at: now,
  }).onConflict((oc) => oc.doNothing()))
}
