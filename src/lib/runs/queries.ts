// Reading runs: lookup by id or name, and the JSON view agents rely on.
import {AutolabError} from '../output/errors.js'
import type {Store} from '../store/open.js'
import type {RunRow} from '../store/schema.js'

/**
 * Runs rows with their recipe spec's JSON (recipe_specs.body as recipe_spec): the query every
 * read of whole runs rows starts from; add where/orderBy to it.
 */
export function runRows(store: Store) {
  return store.db.selectFrom('runs').innerJoin('recipe_specs', 'recipe_specs.spec_id', 'runs.spec_id').selectAll('runs').select('recipe_specs.body as recipe_spec')
}

/** The id of a recipe spec's JSON in recipe_specs, added when new (specs are shared by the runs that have the same). */
export function recipeSpecId(store: Store, body: string): number {
  store.prepare('INSERT INTO recipe_specs (body) VALUES (?) ON CONFLICT (body) DO NOTHING').run(body)
  return (store.prepare('SELECT spec_id FROM recipe_specs WHERE body = ?').get(body) as {spec_id: number}).spec_id
}

/** How many of the runs a reference matches are listed in AMBIGUOUS_RUN's details. */
const AMBIGUOUS_SHOWN = 20

/**
 * Find a run by id (r12) or by name, both matched exactly: no prefixes (r1 is a prefix of r10).
 * A reference that matches several runs — a name given twice (in two campaigns, or in a store
 * from before names were unique), or a name that is another run's id — is AMBIGUOUS_RUN listing
 * them: picking one (it used to be the newest) would act on a run the caller may not mean.
 */
export function resolveRun(store: Store, ref: string): RunRow {
  const matches = store.all(runRows(store)
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
  const run = store.first(runRows(store).where('run_id', '=', runId))
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

/**
 * The run view's fields, in order: key, then the runs column it comes from (gpus is JSON text,
 * parsed). One list for both ways a view is built: runView (objects, for code) and
 * runViewJsonSql (JSON text made by SQLite, for long lists printed as they are).
 */
const RUN_VIEW_FIELDS = [
  ['run_id', 'run_id'], ['name', 'name'], ['status', 'status'], ['step', 'step'], ['parent_run_id', 'parent_run_id'],
  ['fork_step', 'fork_step'], ['host', 'host_id'], ['recipe', 'recipe'], ['campaign_id', 'campaign_id'], ['gpus', 'gpus'],
  ['pid', 'pid'], ['exit_code', 'exit_code'], ['error', 'error'], ['config_id', 'config_id'], ['run_dir', 'run_dir'],
  ['created_at', 'created_at'], ['started_at', 'started_at'], ['ended_at', 'ended_at'], ['synced_at', 'synced_at'],
] as const satisfies readonly (readonly [keyof RunView, keyof RunRow])[]

/** The columns runView reads: listing a thousand runs should not drag their control JSON along. */
export const RUN_VIEW_COLUMNS = RUN_VIEW_FIELDS.map(([, column]) => column)

export function runView(row: Pick<RunRow, (typeof RUN_VIEW_COLUMNS)[number]>): RunView {
  const view = {} as Record<string, unknown>
  for (const [key, column] of RUN_VIEW_FIELDS) view[key] = column === 'gpus' ? JSON.parse(row.gpus) : row[column]
  return view as unknown as RunView
}

/**
 * An SQL expression of a runs row's view as JSON text, the same object runView builds (a test
 * holds them equal). Turning ten thousand rows into JS objects and back into JSON costs more
 * than the rest of a command; SQLite writes the text directly.
 */
export const runViewJsonSql = `json_object(${RUN_VIEW_FIELDS.map(([key, column]) => `'${key}', ${column === 'gpus' ? 'json(gpus)' : column}`).join(', ')})`

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
