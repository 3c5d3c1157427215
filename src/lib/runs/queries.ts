// Reading runs: lookup by id or name, and the JSON view agents rely on.
import {AutolabError} from '../output/errors.js'
import type {Store} from '../store/open.js'
import type {RunRow} from '../store/schema.js'

/** How many of the runs a reference matches are listed in AMBIGUOUS_RUN's details. */
const AMBIGUOUS_SHOWN = 20

/**
 * Find a run by id (r12) or by name, both matched exactly: no prefixes (r1 is a prefix of r10).
 * A reference that matches several runs — a name given twice (in two campaigns, or in a store
 * from before names were unique), or a name that is another run's id — is AMBIGUOUS_RUN listing
 * them: picking one (it used to be the newest) would act on a run the caller may not mean.
 */
export function resolveRun(store: Store, ref: string): RunRow {
  const matches = store.all(store.db.selectFrom('runs').selectAll()
    .where((eb) => eb.or([eb('run_id', '=', ref), eb('name', '=', ref)]))
    .orderBy('seq').limit(AMBIGUOUS_SHOWN + 1))
  if (matches.length === 1) return matches[0]
  if (matches.length === 0) throw new AutolabError('RUN_NOT_FOUND', `No run "${ref}".`, {details: {run: ref}})
  const listed = matches.slice(0, AMBIGUOUS_SHOWN).map((r) => ({run_id: r.run_id, name: r.name, campaign_id: r.campaign_id, status: r.status, created_at: r.created_at}))
  const more = matches.length > AMBIGUOUS_SHOWN ? ', and more' : ''
  const what = (r: (typeof listed)[number]) => `${r.run_id} (${r.run_id === ref ? 'its id' : `named ${r.name}`}; campaign ${r.campaign_id}, ${r.status})`
  throw new AutolabError('AMBIGUOUS_RUN', `"${ref}" matches ${more ? `more than ${AMBIGUOUS_SHOWN}` : matches.length} runs: ${listed.map(what).join(', ')}${more}.`, {
    suggestedAction: `Refer to the run by its id: ${listed.map((r) => r.run_id).join(', ')}${more}.`,
    details: {run: ref, matches: listed},
  })
}

export function getRun(store: Store, runId: string): RunRow {
  const run = store.first(store.db.selectFrom('runs').selectAll().where('run_id', '=', runId))
  if (!run) throw new AutolabError('RUN_NOT_FOUND', `No run "${runId}".`, {details: {run: runId}})
  return run
}

/** The stable JSON shape of a run in `runs`, `show` and results. Add keys; never rename. */
export interface RunView {
  run_id: string
  name: string | null
  status: string
  step: number | null
  parent_run_id: string | null
  fork_step: number | null
  host: string
  recipe: string
  campaign_id: string
  gpus: string[]
  pid: number | null
  exit_code: number | null
  error: string | null
  config_id: string
  run_dir: string
  created_at: string
  started_at: string | null
  ended_at: string | null
  synced_at: string | null
}

/** The columns runView reads: listing a thousand runs should not drag their control and recipe JSON along. */
export const RUN_VIEW_COLUMNS = [
  'run_id', 'name', 'status', 'step', 'parent_run_id', 'fork_step', 'host_id', 'recipe', 'campaign_id', 'gpus', 'pid', 'exit_code',
  'error', 'config_id', 'run_dir', 'created_at', 'started_at', 'ended_at', 'synced_at',
] as const satisfies readonly (keyof RunRow)[]

export function runView(row: Pick<RunRow, (typeof RUN_VIEW_COLUMNS)[number]>): RunView {
  return {
    run_id: row.run_id,
    name: row.name,
    status: row.status,
    step: row.step,
    parent_run_id: row.parent_run_id,
    fork_step: row.fork_step,
    host: row.host_id,
    recipe: row.recipe,
    campaign_id: row.campaign_id,
    gpus: JSON.parse(row.gpus) as string[],
    pid: row.pid,
    exit_code: row.exit_code,
    error: row.error,
    config_id: row.config_id,
    run_dir: row.run_dir,
    created_at: row.created_at,
    started_at: row.started_at,
    ended_at: row.ended_at,
    synced_at: row.synced_at,
  }
}

export function getConfigBody(store: Store, configId: string): Record<string, unknown> {
  const row = store.first(store.db.selectFrom('configs').select('body').where('config_id', '=', configId))
  if (!row) throw new AutolabError('INTERNAL', `Config ${configId} is missing from the store.`)
  return JSON.parse(row.body) as Record<string, unknown>
}

/**
 * The run's config version in effect at `step`: the newest acknowledged version whose
 * effective_step is at or before it (version 1 is in effect from the run's first step).
 * Versions not yet acknowledged were never trained with.
 */
export function configInEffectAt(store: Store, runId: string, step: number): {version: number; config_id: string; config: Record<string, unknown>} {
  const row = store.first(store.db.selectFrom('run_configs').select(['version', 'config_id']).where('run_id', '=', runId)
    .where('effective_step', 'is not', null).where('effective_step', '<=', step).orderBy('effective_step', 'desc').orderBy('version', 'desc').limit(1))
    ?? store.first(store.db.selectFrom('run_configs').select(['version', 'config_id']).where('run_id', '=', runId).where('version', '=', 1))
  if (!row) throw new AutolabError('INTERNAL', `Run ${runId} has no config version.`)
  return {...row, config: getConfigBody(store, row.config_id)}
}
