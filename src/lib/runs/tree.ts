// The experiment tree of a campaign: runs as nodes, fork edges with the step they forked at,
// and the latest value of a chosen metric on each node (or, for `eval:<suite>`, the score of the
// run's latest completed eval of that suite).
import {evaluatedSuites, latestEvalScores} from '../evals/queries.js'
import {AutolabError} from '../output/errors.js'
import type {Store} from '../store/open.js'
import {declaredMetrics} from '../telemetry/goals.js'
import {checkMetrics} from '../telemetry/metric-names.js'
import {type JsonNumber, parseMetricValue, toJsonNumber} from '../telemetry/values.js'

export interface TreeNode {
  run_id: string
  name: string | null
  status: string
  step: number | null
  fork_step: number | null
  recipe: string
  /** Latest value of the chosen metric (null when it has none yet). */
  metric: JsonNumber | null
  children: TreeNode[]
}

export interface Tree {
  campaign: string
  metric: string
  /**
   * Why this metric: `asked` (--metric), `primary_metric` (the one primary metric the campaign's
   * runs declare), or `default` (reward: the runs declare none, or disagree — see primary_metrics).
   */
  metric_source: 'asked' | 'primary_metric' | 'default'
  /** The distinct primary metrics the campaign's runs declare, sorted. */
  primary_metrics: string[]
  roots: TreeNode[]
  /** The campaign's runs, and how many of them the tree shows: with a limit, the newest N and their ancestors. */
  total: number
  shown: number
  /** Older runs are left out (tree --all shows them). */
  truncated: boolean
}

/** `--metric eval:<suite>`: a suite's eval scores instead of a training metric. */
export const EVAL_METRIC_PREFIX = 'eval:'

/** The metric shown when the runs declare no single primary metric. */
export const TREE_DEFAULT_METRIC = 'reward'

/**
 * @param options.metric the metric asked for (--metric); with requireMetric, METRIC_NOT_FOUND
 * (listing the campaign's metrics) when no run of the campaign logged it although some logged
 * steps. Without it, the
 * primary metric the runs declare (when they agree), else reward — only a default: a campaign
 * whose runs never log it shows no values, not an error.
 */
export function buildTree(store: Store, options: {campaign: string; metric?: string; requireMetric?: boolean; limit?: number}): Tree {
  const runIds = () => store.prepare('SELECT run_id FROM runs WHERE campaign_id = ? ORDER BY seq').pluck().all(options.campaign) as string[]
  // Each distinct recipe spec of the campaign, read and parsed once (runs share them).
  const specs = store.prepare('SELECT body FROM recipe_specs WHERE spec_id IN (SELECT spec_id FROM runs WHERE campaign_id = ?)').all(options.campaign) as {body: string}[]
  const primaries = [...new Set(specs.map((s) => declaredMetrics(s.body).primary).filter((p): p is string => p !== null))].sort()
  let metric: string
  let source: Tree['metric_source']
  // eval:<suite>: each node shows the score of its latest completed eval of that suite.
  const suite = options.metric?.startsWith(EVAL_METRIC_PREFIX) ? options.metric.slice(EVAL_METRIC_PREFIX.length) : null
  if (options.metric !== undefined) {
    [metric, source] = [options.metric, 'asked']
    if (options.requireMetric && suite !== null) {
      const ids = runIds()
      const suites = evaluatedSuites(store, ids)
      if (ids.length > 0 && !suites.includes(options.metric)) {
        throw new AutolabError('METRIC_NOT_FOUND', `Campaign ${options.campaign}: no run has a completed eval of suite "${suite}".`, {
          details: {campaign: options.campaign, metric: options.metric, metrics: suites}, suggestedAction: suites.length ? `Use one of: ${suites.join(', ')}.` : 'Run `autolab eval RUN --suite S` first (see `autolab recipe show`).',
        })
      }
    } else if (options.requireMetric) checkMetrics(store, runIds(), [metric], `Campaign ${options.campaign} (none of its runs)`, {campaign: options.campaign})
  } else if (primaries.length === 1) {
    [metric, source] = [primaries[0], 'primary_metric']
  } else {
    [metric, source] = [TREE_DEFAULT_METRIC, 'default']
  }
  const rows = treeRows(store, options.campaign, metric, options.limit)
  const total = options.limit === undefined ? rows.length : (store.prepare('SELECT count(*) AS n FROM runs WHERE campaign_id = ?').get(options.campaign) as {n: number}).n
  const nodes = new Map<string, TreeNode>()
  for (const row of rows) {
    const value = suite === null ? latestValue(row.latest) : latestEvalScores(store, row.run_id)[suite]?.score ?? null
    nodes.set(row.run_id, {
      run_id: row.run_id, name: row.name, status: row.status, step: row.step, fork_step: row.fork_step, recipe: row.recipe,
      metric: value, children: [],
    })
  }
  const roots: TreeNode[] = []
  for (const row of rows) {
    const node = nodes.get(row.run_id)!
    const parent = row.parent_run_id ? nodes.get(row.parent_run_id) : undefined
    // A parent in another campaign makes the child a root of this one.
    if (parent) parent.children.push(node)
    else roots.push(node)
  }
  return {campaign: options.campaign, metric, metric_source: source, primary_metrics: primaries, roots, total, shown: rows.length, truncated: rows.length < total}
}

interface TreeRow {
  run_id: string
  name: string | null
  status: string
  step: number | null
  fork_step: number | null
  parent_run_id: string | null
  recipe: string
  /** The metric's latest value as stored in latest_metrics (JSON), or null: never logged. */
  latest: string | null
}

/**
 * The campaign's runs, oldest first, each with the metric's latest value (one query: latest_metrics,
 * kept by ingest). With a limit: the newest N runs and their ancestors in the campaign, so that
 * every run shown hangs from its root.
 */
function treeRows(store: Store, campaign: string, metric: string, limit?: number): TreeRow[] {
  const columns = 'r.run_id, r.name, r.status, r.step, r.fork_step, r.parent_run_id, r.recipe, l.value AS latest'
  const latest = 'LEFT JOIN latest_metrics l ON l.run_id = r.run_id AND l.key = ?'
  if (limit === undefined) {
    return store.prepare(`SELECT ${columns} FROM runs r ${latest} WHERE r.campaign_id = ? ORDER BY r.seq`).all(metric, campaign) as TreeRow[]
  }
  return store.prepare(`WITH RECURSIVE shown(run_id) AS (
      SELECT run_id FROM (SELECT run_id FROM runs WHERE campaign_id = ? ORDER BY seq DESC LIMIT ?)
      UNION SELECT p.run_id FROM shown s JOIN runs c ON c.run_id = s.run_id JOIN runs p ON p.run_id = c.parent_run_id AND p.campaign_id = ?)
    SELECT ${columns} FROM runs r ${latest} WHERE r.run_id IN (SELECT run_id FROM shown) ORDER BY r.seq`).all(campaign, limit, campaign, metric) as TreeRow[]
}

function latestValue(stored: string | null): JsonNumber | null {
  if (stored === null) return null
  const value = parseMetricValue(JSON.parse(stored))
  return value === undefined ? null : toJsonNumber(value)
}
