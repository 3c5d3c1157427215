// Listing runs and assembling the `show` view.
import {CompiledQuery, sql} from 'kysely'
import {JsonText} from '../output/envelope.js'
import {evalsOfRun, type RunEvalSummary} from '../evals/queries.js'
import type {Store} from '../store/open.js'
import {latestObservation, type MetricStats, type ObservationView, runStats} from '../telemetry/history.js'
import {getConfigBody, RUN_VIEW_COLUMNS, resolveRun, type RunView, runView, runViewJsonSql} from './queries.js'

export interface ListRunsOptions {
  statuses?: string[]
  recipe?: string
  campaign?: string
  limit?: number
  /** Only runs created before this one (its seq): the cursor of the page before. */
  beforeSeq?: number
}

/** The runs asked for, oldest first (with a limit: the newest N, oldest first). */
function runsQuery(store: Store, options: ListRunsOptions) {
  let query = store.db.selectFrom('runs').orderBy('seq', 'desc')
  if (options.statuses?.length) query = query.where('status', 'in', options.statuses)
  if (options.recipe) query = query.where('recipe', '=', options.recipe)
  if (options.campaign) query = query.where('campaign_id', '=', options.campaign)
  if (options.beforeSeq !== undefined) query = query.where('seq', '<', options.beforeSeq)
  if (options.limit) query = query.limit(options.limit)
  return query
}

/**
 * The cursor of the page before this one: its oldest run, when older runs match the filters
 * too; null when this page reaches the oldest (or there is no page limit).
 */
export function pageBefore(store: Store, options: ListRunsOptions): {before: string} | null {
  if (!options.limit) return null
  const page = runsQuery(store, options).select(['seq', 'run_id']).compile()
  const oldest = store.first(CompiledQuery.raw(`SELECT seq, run_id FROM (${page.sql}) ORDER BY seq LIMIT 1`, [...page.parameters])) as {seq: number; run_id: string} | undefined
  if (!oldest) return null
  const older = store.first(runsQuery(store, {...options, limit: 1, beforeSeq: oldest.seq}).select('seq'))
  return older ? {before: oldest.run_id} : null
}

/** How many runs match the filters (ignoring the page: limit and before). */
export function countRuns(store: Store, options: ListRunsOptions = {}): number {
  const {limit: _limit, beforeSeq: _before, ...filters} = options
  return Number(store.first(runsQuery(store, filters).clearOrderBy().select((eb) => eb.fn.countAll<number>().as('n')))?.n ?? 0)
}

export function listRuns(store: Store, options: ListRunsOptions = {}): RunView[] {
  return store.all(runsQuery(store, options).select(RUN_VIEW_COLUMNS)).reverse().map(runView)
}

/**
 * The same list as JSON text, each run's view made by SQLite (see runViewJsonSql) and joined
 * here: what `runs --json` prints. Without a limit the rows come in seq order straight from the
 * table; a page (the newest N) is sorted back to oldest first, N rows only.
 */
export function listRunsJson(store: Store, options: ListRunsOptions = {}): JsonText {
  const view = sql<string>`${sql.raw(runViewJsonSql)}`.as('view')
  const query = options.limit
    ? (() => {
      const page = runsQuery(store, options).select(['seq', view]).compile()
      return CompiledQuery.raw(`SELECT view FROM (${page.sql}) ORDER BY seq`, [...page.parameters])
    })()
    : runsQuery(store, options).clearOrderBy().orderBy('seq').select(view).compile()
  const views = store.prepare(query.sql).pluck().all(...(query.parameters as unknown[])) as string[]
  return new JsonText(`[${views.join(',')}]`)
}

export interface CheckpointView {
  step: number
  path: string
  bytes: number
  created_at: string
}

export interface ConfigVersionView {
  version: number
  config_id: string
  effective_step: number | null
  created_at: string
}

export interface RunDetail extends RunView {
  config: Record<string, unknown>
  config_versions: ConfigVersionView[]
  checkpoints: CheckpointView[]
  latest_observation: ObservationView | null
  stats: Record<string, MetricStats>
  children: string[]
  /** Telemetry lines skipped because they break the trainer contract (see the telemetry_rejected events). */
  telemetry_rejected: {total: number; by_file: Record<string, number>}
  /** The run's evals, oldest first (`eval show ID` has each in full). */
  evals: RunEvalSummary[]
}

/** The rejected-line counts of a run, summed over its telemetry_rejected events. */
export function telemetryRejected(store: Store, runId: string): RunDetail['telemetry_rejected'] {
  const rows = store.prepare(`SELECT args FROM events WHERE run_id = ? AND kind = 'telemetry_rejected'`).all(runId) as {args: string | null}[]
  const counts = {total: 0, by_file: {} as Record<string, number>}
  for (const row of rows) {
    const byFile = (JSON.parse(row.args ?? '{}') as {by_file?: Record<string, number>}).by_file ?? {}
    for (const [file, n] of Object.entries(byFile)) {
      counts.by_file[file] = (counts.by_file[file] ?? 0) + n
      counts.total += n
    }
  }
  return counts
}

export function showRun(store: Store, ref: string): RunDetail {
  const row = resolveRun(store, ref)
  const checkpoints = store.all(store.db.selectFrom('checkpoints').select(['step', 'path', 'bytes', 'created_at']).where('run_id', '=', row.run_id).orderBy('step'))
  const versions = store.all(store.db.selectFrom('run_configs').select(['version', 'config_id', 'effective_step', 'created_at']).where('run_id', '=', row.run_id).orderBy('version'))
  const children = store.all(store.db.selectFrom('runs').select('run_id').where('parent_run_id', '=', row.run_id).orderBy('seq')).map((r) => r.run_id)
  return {
    ...runView(row),
    config: getConfigBody(store, row.config_id),
    config_versions: versions,
    checkpoints,
    latest_observation: latestObservation(store, row.run_id),
    stats: runStats(store, row.run_id),
    children,
    telemetry_rejected: telemetryRejected(store, row.run_id),
    evals: evalsOfRun(store, row.run_id),
  }
}
