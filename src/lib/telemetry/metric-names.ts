// Which metrics a run has logged, so that a read asked about a metric the run does not have says
// so (METRIC_NOT_FOUND, listing the run's metrics) instead of answering an empty curve — a typo
// ("rewards") looked exactly like a run that logged nothing. The one exception is a run that has
// logged no step yet (just launched, or a fork before its first step): there is nothing to check
// against, and reads answer empty with `no_data_yet: true`.
//
// Metrics are stored one row per step, the trainer's line as written (metric_steps.record), so
// the names are the keys of `$.metrics` across the run's rows: checking one name stops at the
// first row that has it (the first row, for a metric logged every step); listing them all — only
// for the error — reads every row of the run.
import {AutolabError} from '../output/errors.js'
import type {Store} from '../store/open.js'

/** Does any of these runs have a logged step? */
export function hasLoggedSteps(store: Store, runIds: readonly string[]): boolean {
  const statement = store.prepare('SELECT 1 FROM metric_steps WHERE run_id = ? LIMIT 1')
  return runIds.some((id) => statement.get(id) !== undefined)
}

/** Has any of these runs logged this metric at some step? */
export function hasLoggedMetric(store: Store, runIds: readonly string[], metric: string): boolean {
  const statement = store.prepare("SELECT 1 FROM metric_steps m, json_each(m.record, '$.metrics') j WHERE m.run_id = ? AND j.key = ? LIMIT 1")
  return runIds.some((id) => statement.get(id, metric) !== undefined)
}

/** Every metric name these runs have logged, sorted. */
export function loggedMetricNames(store: Store, runIds: readonly string[]): string[] {
  const statement = store.prepare("SELECT DISTINCT j.key AS key FROM metric_steps m, json_each(m.record, '$.metrics') j WHERE m.run_id = ?")
  const names = new Set<string>()
  for (const id of runIds) for (const row of statement.all(id) as {key: string}[]) names.add(row.key)
  return [...names].sort()
}

/**
 * Check that `metrics` were logged by the runs (any of them: a run with its ancestors, or a
 * campaign's runs). Returns true when the runs have logged no step at all yet (no data to check
 * against: the caller answers empty, no_data_yet); throws METRIC_NOT_FOUND, listing the runs'
 * metrics, when a metric is missing although steps were logged.
 * @param whose how the runs are named in the message: "Run r3", "Campaign sweep".
 */
export function checkMetrics(store: Store, runIds: readonly string[], metrics: readonly string[], whose: string, details: Record<string, unknown> = {}): {noDataYet: boolean} {
  if (metrics.length === 0) return {noDataYet: !hasLoggedSteps(store, runIds)}
  const missing = metrics.filter((m) => !hasLoggedMetric(store, runIds, m))
  if (missing.length === 0) return {noDataYet: false}
  if (!hasLoggedSteps(store, runIds)) return {noDataYet: true}
  const known = loggedMetricNames(store, runIds)
  const shown = known.length > 30 ? `${known.slice(0, 30).join(', ')}, … (${known.length} in all)` : known.join(', ')
  throw new AutolabError('METRIC_NOT_FOUND', `${whose} has logged no metric ${missing.map((m) => `"${m}"`).join(', ')}; its metrics: ${shown}.`, {
    suggestedAction: 'Use one of the metrics listed in details.metrics.',
    details: {...details, metric: missing[0], missing, metrics: known},
  })
}
