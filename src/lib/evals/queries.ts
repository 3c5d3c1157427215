// Reading evals: the list, one eval with its examples, and a run's evals (for `show`).
import {AutolabError} from '../output/errors.js'
import {resolveRun} from '../runs/queries.js'
import type {Store} from '../store/open.js'
import type {EvalExampleRow, EvalRow} from '../store/schema.js'

export interface EvalView {
  eval_id: string
  run_id: string
  campaign_id: string
  suite: string
  checkpoint_step: number
  checkpoint_path: string
  host: string
  gpus: string[]
  status: string
  pid: number | null
  exit_code: number | null
  error: string | null
  n: number
  settings: Record<string, unknown>
  score: number | null
  metrics: Record<string, number> | null
  breakdown: Record<string, unknown> | null
  dir: string
  reason: string | null
  created_at: string
  started_at: string | null
  ended_at: string | null
}

export function evalView(row: EvalRow): EvalView {
  return {
    eval_id: row.eval_id, run_id: row.run_id, campaign_id: row.campaign_id, suite: row.suite, checkpoint_step: row.checkpoint_step, checkpoint_path: row.checkpoint_path,
    host: row.host_id, gpus: JSON.parse(row.gpus) as string[], status: row.status, pid: row.pid, exit_code: row.exit_code, error: row.error, n: row.n,
    settings: JSON.parse(row.settings) as Record<string, unknown>, score: row.score,
    metrics: row.metrics === null ? null : JSON.parse(row.metrics) as Record<string, number>, breakdown: row.breakdown === null ? null : JSON.parse(row.breakdown) as Record<string, unknown>,
    dir: row.dir, reason: row.reason, created_at: row.created_at, started_at: row.started_at, ended_at: row.ended_at,
  }
}

export function getEval(store: Store, evalId: string): EvalRow {
  const row = store.first(store.db.selectFrom('evals').selectAll().where('eval_id', '=', evalId))
  if (!row) throw new AutolabError('EVAL_NOT_FOUND', `No eval "${evalId}".`, {details: {eval_id: evalId}, suggestedAction: 'List evals with `autolab evals --json`.'})
  return row
}

export interface ListEvalsOptions {
  run?: string
  suite?: string
  statuses?: string[]
  limit?: number
}

/** Evals, oldest first (with a limit: the newest `limit` of them). */
export function listEvals(store: Store, options: ListEvalsOptions = {}): EvalView[] {
  let query = store.db.selectFrom('evals').selectAll().orderBy('seq', 'desc')
  if (options.run !== undefined) query = query.where('run_id', '=', resolveRun(store, options.run).run_id)
  if (options.suite !== undefined) query = query.where('suite', '=', options.suite)
  if (options.statuses?.length) query = query.where('status', 'in', options.statuses)
  if (options.limit !== undefined) query = query.limit(options.limit)
  return store.all(query).reverse().map(evalView)
}

/** What `show RUN` lists of a run's evals. */
export interface RunEvalSummary {
  eval_id: string
  suite: string
  checkpoint_step: number
  status: string
  score: number | null
}

export function evalsOfRun(store: Store, runId: string): RunEvalSummary[] {
  return store.all(store.db.selectFrom('evals').select(['eval_id', 'suite', 'checkpoint_step', 'status', 'score']).where('run_id', '=', runId).orderBy('seq'))
}

/** The latest completed eval of each suite of a run (by checkpoint step, then by when it ran): what compare and tree show. */
export interface LatestEvalScore {
  eval_id: string
  checkpoint_step: number
  score: number | null
}

export function latestEvalScores(store: Store, runId: string): Record<string, LatestEvalScore> {
  const rows = store.all(store.db.selectFrom('evals').select(['eval_id', 'suite', 'checkpoint_step', 'score']).where('run_id', '=', runId).where('status', '=', 'completed')
    .orderBy('checkpoint_step').orderBy('seq'))
  const latest: Record<string, LatestEvalScore> = {}
  for (const row of rows) latest[row.suite] = {eval_id: row.eval_id, checkpoint_step: row.checkpoint_step, score: row.score}
  return latest
}

/** The suites with a completed eval among these runs, as tree's metric names (`eval:<suite>`). */
export function evaluatedSuites(store: Store, runIds: string[]): string[] {
  if (runIds.length === 0) return []
  return store.all(store.db.selectFrom('evals').select('suite').distinct().where('run_id', 'in', runIds).where('status', '=', 'completed').orderBy('suite')).map((r) => `eval:${r.suite}`)
}

export interface EvalExampleView {
  idx: number
  prompt: string | null
  output: string | null
  expected: string | null
  correct: boolean | null
  fields: Record<string, unknown> | null
}

export interface EvalDetail extends EvalView {
  /** Examples stored, and how many were answered wrong (correct: false). */
  examples_total: number
  examples_wrong: number
  /** The first N examples (with --wrong: of the wrong ones), in file order. */
  examples: EvalExampleView[]
}

export function exampleView(e: EvalExampleRow): EvalExampleView {
  return {
    idx: e.idx, prompt: e.prompt, output: e.output, expected: e.expected, correct: e.correct === null ? null : e.correct === 1,
    fields: e.fields === null ? null : JSON.parse(e.fields) as Record<string, unknown>,
  }
}

export function showEval(store: Store, evalId: string, options: {examples: number; wrong: boolean}): EvalDetail {
  const row = getEval(store, evalId)
  const counts = store.prepare('SELECT count(*) AS total, coalesce(sum(correct = 0), 0) AS wrong FROM eval_examples WHERE eval_id = ?').get(evalId) as {total: number; wrong: number}
  let query = store.db.selectFrom('eval_examples').selectAll().where('eval_id', '=', evalId)
  if (options.wrong) query = query.where('correct', '=', 0)
  const examples = options.examples === 0 ? [] : store.all(query.orderBy('idx').limit(options.examples)).map(exampleView)
  return {...evalView(row), examples_total: counts.total, examples_wrong: counts.wrong, examples}
}
