// The experiment tree of a campaign: runs as nodes, fork edges with the step they forked at,
// and the latest value of a chosen metric on each node (or, for `eval:<suite>`, the score of the
// run's latest completed eval of that suite).
import {evaluatedSuites, latestEvalScores} from '../evals/queries.js'
import {AutolabError} from '../output/errors.js'
import type {Store} from '../store/open.js'
import {metricSeries} from '../telemetry/history.js'
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
export function buildTree(store: Store, options: {campaign: string; metric?: string; requireMetric?: boolean}): Tree {
  const runIds = () => store.prepare('SELECT run_id FROM runs WHERE campaign_id = ? ORDER BY seq').pluck().all(options.campaign) as string[]
  // Each distinct recipe spec of the campaign, read and parsed once (runs share them).
  const specs = store.prepare('SELECT DISTINCT body FROM recipe_specs JOIN runs USING (spec_id) WHERE campaign_id = ?').all(options.campaign) as {body: string}[]
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
  const rows = treeRows(store, options.campaign, suite === null ? metric : null)
  const nodes = new Map<string, TreeNode>()
  for (const row of rows) {
    let value: JsonNumber | null
    if (suite !== null) value = latestEvalScores(store, row.run_id)[suite]?.score ?? null
    else if (row.latest !== undefined) value = row.latest
    else {
      const last = metricSeries(store, row.run_id, [metric], {last: 1}).get(metric)!.at(-1)
      value = last === undefined ? null : toJsonNumber(last.value)
    }
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
  return {campaign: options.campaign, metric, metric_source: source, primary_metrics: primaries, roots}
}

interface TreeRow {
  run_id: string
  name: string | null
  status: string
  step: number | null
  fork_step: number | null
  parent_run_id: string | null
  recipe: string
  /** The metric's value at the run's last logged step; undefined when that step did not log it (look further back). */
  latest?: JsonNumber | null
}

/**
 * The campaign's runs, oldest first, each with the metric's value at its last logged step, in one
 * query: two metric_steps lookups by key per run, inside SQLite, rather than a query per run.
 * A metric logged every k steps, or nothing logged yet, leaves latest undefined: the caller looks
 * further back for those runs only. Metric names holding a quote or backslash cannot be put in a
 * JSON path safely: those trees take the slow way for every run.
 */
function treeRows(store: Store, campaign: string, metric: string | null): TreeRow[] {
  const columns = 'r.run_id, r.name, r.status, r.step, r.fork_step, r.parent_run_id, r.recipe'
  if (metric === null || /["\\]/.test(metric)) {
    return store.prepare(`SELECT ${columns} FROM runs r WHERE r.campaign_id = ? ORDER BY r.seq`).all(campaign) as TreeRow[]
  }
  const path = `$.metrics."${metric}"`
  const rows = store.prepare(`SELECT ${columns}, json_type(m.record, ?) AS type, json_extract(m.record, ?) AS value FROM runs r
    LEFT JOIN metric_steps m ON m.run_id = r.run_id AND m.step = (SELECT max(step) FROM metric_steps WHERE run_id = r.run_id)
    WHERE r.campaign_id = ? ORDER BY r.seq`).all(path, path, campaign) as (TreeRow & {type: string | null; value: unknown})[]
  for (const row of rows) {
    // A JSON null is how a trainer writes NaN; a string may be "NaN"/"Infinity"; anything else: look back.
    const parsed = row.type === null ? undefined : parseMetricValue(row.type === 'null' ? null : row.value)
    row.latest = parsed === undefined ? undefined : toJsonNumber(parsed)
    delete (row as {type?: unknown}).type
    delete (row as {value?: unknown}).value
  }
  return rows
}
