// `plot`: one metric of several runs against step, with the fork points between them. Everything
// asked is checked before anything is read (runs exist, each has the metric, a log axis can show
// every value); the curves themselves come from series.ts.
import {AutolabError} from '../output/errors.js'
import {getRun, resolveRun} from '../runs/queries.js'
import type {Store} from '../store/open.js'
import type {RunRow} from '../store/schema.js'
import {declaredMetrics, type Goal, goalOf} from '../telemetry/goals.js'
import {checkMetrics} from '../telemetry/metric-names.js'
import {extent} from './scale.js'
import {firstNonPositive, readSeries, type RunSeries} from './series.js'

/** Runs one plot shows at most: each gets a glyph of its own (see SERIES_GLYPHS in lib/output/chart.ts). */
export const MAX_PLOT_RUNS = 12
/** Points per run returned by default; beyond that, buckets (see series.ts). */
export const DEFAULT_PLOT_POINTS = 1000

export interface PlotOptions {
  metric: string
  from?: number
  to?: number
  logY?: boolean
  maxPoints?: number
  /** Also plot each run's ancestors (root first), so every fork point has its parent's curve. */
  withAncestors?: boolean
}

export interface PlotRun extends RunSeries {
  name: string | null
  status: string
  parent_run_id: string | null
  fork_step: number | null
  /** The metric's goal as the run's recipe declares it. */
  goal: Goal
  /** false for a run added by --with-ancestors. */
  asked: boolean
  /** The run has logged no step yet (it has no points). */
  no_data_yet: boolean
}

export interface ForkPoint {
  run_id: string
  parent_run_id: string
  step: number
  /** Whether the parent's curve is in the plot. */
  parent_plotted: boolean
}

export interface PlotResult {
  metric: string
  from: number | null
  to: number | null
  log_y: boolean
  max_points: number
  /** Downsampled runs share buckets of this many steps (point i covers [step, step + bucket_steps)); null when none was. */
  bucket_steps: number | null
  /** The first and last step the plot spans (points and fork steps), or null with no points at all. */
  step_range: [number, number] | null
  runs: PlotRun[]
  fork_points: ForkPoint[]
}

/** The runs asked for, resolved, each once (a run named twice, by id or by name, is plotted once), with ancestors if asked. */
export function plotRunRows(store: Store, refs: readonly string[], withAncestors = false): {row: RunRow; asked: boolean}[] {
  const rows = new Map<string, {row: RunRow; asked: boolean}>()
  for (const ref of refs) {
    const run = resolveRun(store, ref)
    if (withAncestors) {
      const chain: RunRow[] = []
      for (let parent = run.parent_run_id; parent !== null;) {
        const row = getRun(store, parent)
        chain.unshift(row)
        parent = row.parent_run_id
      }
      for (const row of chain) if (!rows.has(row.run_id)) rows.set(row.run_id, {row, asked: false})
    }
    const seen = rows.get(run.run_id)
    if (seen) seen.asked = true
    else rows.set(run.run_id, {row: run, asked: true})
  }
  return [...rows.values()]
}

export function plotRuns(store: Store, refs: readonly string[], options: PlotOptions): PlotResult {
  if (refs.length === 0) throw new AutolabError('INVALID_ARGUMENT', 'Give at least one run to plot.', {suggestedAction: 'autolab plot RUN [RUN…] --metric M'})
  if (options.from !== undefined && options.to !== undefined && options.from > options.to) {
    throw new AutolabError('INVALID_ARGUMENT', `--from ${options.from} is after --to ${options.to}.`, {details: {from: options.from, to: options.to}})
  }
  const runs = plotRunRows(store, refs, options.withAncestors)
  if (runs.length > MAX_PLOT_RUNS) {
    throw new AutolabError('INVALID_ARGUMENT', `${runs.length} runs to plot; at most ${MAX_PLOT_RUNS} fit one chart (each needs a glyph of its own).`, {
      details: {runs: runs.map((r) => r.row.run_id), max: MAX_PLOT_RUNS},
      suggestedAction: 'Plot fewer runs at a time, or write the whole campaign to one page: `autolab report --out report.html`.',
    })
  }
  const noData = new Map(runs.map(({row}) => [row.run_id, checkMetrics(store, [row.run_id], [options.metric], `Run ${row.run_id}`, {run_id: row.run_id}).noDataYet]))
  if (options.logY) {
    for (const {row} of runs) {
      const bad = firstNonPositive(store, row.run_id, options.metric, options)
      if (bad) {
        throw new AutolabError('INVALID_ARGUMENT', `--log-y cannot show ${options.metric} = ${bad.value} of run ${row.run_id} at step ${bad.step}: a log axis shows only values above 0.`, {
          details: {run_id: row.run_id, step: bad.step, value: bad.value, metric: options.metric},
          suggestedAction: `Plot without --log-y, or start after that step (--from ${bad.step + 1}) if the values are positive from there.`,
        })
      }
    }
  }
  const maxPoints = options.maxPoints ?? DEFAULT_PLOT_POINTS
  const series = readSeries(store, runs.map((r) => r.row.run_id), [options.metric], {from: options.from, to: options.to, maxPoints}).get(options.metric)!
  const plotted = new Set(runs.map((r) => r.row.run_id))
  const inRange = (step: number) => step >= (options.from ?? Number.MIN_SAFE_INTEGER) && step <= (options.to ?? Number.MAX_SAFE_INTEGER)
  const forks: ForkPoint[] = runs.flatMap(({row}) => (row.parent_run_id !== null && row.fork_step !== null && inRange(row.fork_step)
    ? [{run_id: row.run_id, parent_run_id: row.parent_run_id, step: row.fork_step, parent_plotted: plotted.has(row.parent_run_id)}] : []))
  const steps = extent([...series.runs.flatMap((s) => (s.points.length ? [s.points[0].step, s.points.at(-1)!.step] : [])), ...forks.map((f) => f.step)])
  return {
    metric: options.metric, from: options.from ?? null, to: options.to ?? null, log_y: options.logY ?? false, max_points: maxPoints,
    bucket_steps: series.bucket_steps,
    step_range: steps,
    runs: runs.map(({row, asked}, i) => {
      const {run_id: _, points, ...counts} = series.runs[i]
      return {
        run_id: row.run_id, name: row.name, status: row.status, parent_run_id: row.parent_run_id, fork_step: row.fork_step,
        goal: goalOf(declaredMetrics(row.recipe_spec), options.metric), asked, no_data_yet: noData.get(row.run_id)!, ...counts, points,
      }
    }),
    fork_points: forks,
  }
}
