// The experiment tree of a campaign: runs as nodes, fork edges with the step they forked at,
// and the latest value of a chosen metric on each node.
import type {Store} from '../store/open.js'
import {metricSeries} from '../telemetry/history.js'
import {checkMetrics} from '../telemetry/metric-names.js'
import {type JsonNumber, toJsonNumber} from '../telemetry/values.js'

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
  roots: TreeNode[]
}

/**
 * @param options.requireMetric the metric was asked for: METRIC_NOT_FOUND (listing the campaign's
 * metrics) when no run of the campaign logged it although some logged steps.
 */
export function buildTree(store: Store, options: {campaign: string; metric: string; requireMetric?: boolean}): Tree {
  const rows = store.all(store.db.selectFrom('runs').select(['run_id', 'name', 'status', 'step', 'fork_step', 'parent_run_id', 'recipe'])
    .where('campaign_id', '=', options.campaign).orderBy('seq'))
  if (options.requireMetric) checkMetrics(store, rows.map((r) => r.run_id), [options.metric], `Campaign ${options.campaign} (none of its runs)`, {campaign: options.campaign})
  const nodes = new Map<string, TreeNode>()
  for (const row of rows) {
    const last = metricSeries(store, row.run_id, [options.metric], {last: 1}).get(options.metric)!.at(-1)
    nodes.set(row.run_id, {
      run_id: row.run_id, name: row.name, status: row.status, step: row.step, fork_step: row.fork_step, recipe: row.recipe,
      metric: last === undefined ? null : toJsonNumber(last.value), children: [],
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
  return {campaign: options.campaign, metric: options.metric, roots}
}
