// Summary statistics of a metric over a window of points: what an agent reads instead of raw
// curves. Non-finite values are left out of the statistics (and reported as anomalies instead).
import type {Goal} from './goals.js'

export interface Point {
  step: number
  value: number
}

export interface TrendStats {
  /** Number of finite points the statistics are computed over. */
  n: number
  mean: number | null
  std: number | null
  /** Least-squares slope of value against step (change per step). */
  slope: number | null
  first_step: number | null
  last_step: number | null
}

/** Least-squares fit of value against step over the finite points, with the sums it came from. */
function fit(points: readonly Point[]): {stats: TrendStats; sxx: number; syy: number; sxy: number} {
  let n = 0
  let sumX = 0
  let sumY = 0
  let first: number | null = null
  let last: number | null = null
  for (const p of points) {
    if (!Number.isFinite(p.value)) continue
    n++
    sumX += p.step
    sumY += p.value
    first ??= p.step
    last = p.step
  }
  if (n === 0) return {stats: {n, mean: null, std: null, slope: null, first_step: null, last_step: null}, sxx: 0, syy: 0, sxy: 0}
  const meanX = sumX / n
  const meanY = sumY / n
  let sxx = 0
  let sxy = 0
  let syy = 0
  for (const p of points) {
    if (!Number.isFinite(p.value)) continue
    const dx = p.step - meanX
    const dy = p.value - meanY
    sxx += dx * dx
    sxy += dx * dy
    syy += dy * dy
  }
  return {stats: {n, mean: meanY, std: Math.sqrt(syy / n), slope: sxx === 0 ? 0 : sxy / sxx, first_step: first, last_step: last}, sxx, syy, sxy}
}

export function trendStats(points: readonly Point[]): TrendStats {
  return fit(points).stats
}

/**
 * What a trend says, in one word (the rule, also in the README, "Trends and verdicts"):
 * - `change` = slope × `window_steps` (the fitted change from the window's first step to its
 *   last) and `noise` = the standard deviation of the points around the fitted line;
 * - the metric is moving when |change| > TREND_NOISE_RATIO × noise and |change| >
 *   TREND_MIN_RELATIVE × |mean|: then `improving` or `worsening` by its goal (max: up is
 *   better; min: down), or `changing` for a metric without a goal;
 * - otherwise it is `noisy` when noise > NOISY_RELATIVE × |mean| (the points wander by more
 *   than half their level), else a `plateau`;
 * - null with fewer than VERDICT_MIN_POINTS finite points.
 */
export type TrendVerdict = 'improving' | 'worsening' | 'changing' | 'plateau' | 'noisy'

export const VERDICT_MIN_POINTS = 4
export const TREND_NOISE_RATIO = 2
export const TREND_MIN_RELATIVE = 0.01
export const NOISY_RELATIVE = 0.5

export interface TrendJudgement {
  /** Steps from the first point of the window to its last (null: no points). */
  window_steps: number | null
  /** The fitted change over the window: slope × window_steps. */
  change: number | null
  /** Standard deviation of the points around the fitted line. */
  noise: number | null
  verdict: TrendVerdict | null
}

export function judgeTrend(points: readonly Point[], goal: Goal): TrendStats & TrendJudgement {
  const {stats, sxx, syy, sxy} = fit(points)
  if (stats.n === 0) return {...stats, window_steps: null, change: null, noise: null, verdict: null}
  const windowSteps = stats.last_step! - stats.first_step!
  const change = stats.slope! * windowSteps
  // Residual sum of squares of the fit; rounding can take it a hair below zero.
  const residual = sxx === 0 ? syy : syy - (sxy * sxy) / sxx
  const noise = Math.sqrt(Math.max(0, residual) / stats.n)
  let verdict: TrendVerdict | null = null
  if (stats.n >= VERDICT_MIN_POINTS) {
    const level = Math.abs(stats.mean!)
    if (Math.abs(change) > TREND_NOISE_RATIO * noise && Math.abs(change) > TREND_MIN_RELATIVE * level) {
      verdict = goal === null ? 'changing' : (change > 0) === (goal === 'max') ? 'improving' : 'worsening'
    } else {
      verdict = noise > NOISY_RELATIVE * level ? 'noisy' : 'plateau'
    }
  }
  return {...stats, window_steps: windowSteps, change, noise, verdict}
}

/** Post-hoc statistics of a whole curve, for `show`. */
export interface CurveStats {
  n: number
  mean: number | null
  std: number | null
  /** Trapezoidal area under the curve over steps, divided by the step span (a time-average). */
  auc: number | null
  best: number | null
  best_step: number | null
  last: number | null
  last_step: number | null
}

/** The goal decides what "best" means (max: the highest, min: the lowest); without one there is no best. */
export function curveStats(points: readonly Point[], goal: Goal): CurveStats {
  const finite = points.filter((p) => Number.isFinite(p.value))
  const base = trendStats(finite)
  if (finite.length === 0) return {n: 0, mean: null, std: null, auc: null, best: null, best_step: null, last: null, last_step: null}
  let best = finite[0]
  let area = 0
  for (let i = 0; i < finite.length; i++) {
    const p = finite[i]
    if (goal === 'max' ? p.value > best.value : p.value < best.value) best = p
    if (i > 0) area += ((p.value + finite[i - 1].value) / 2) * (p.step - finite[i - 1].step)
  }
  const span = finite.at(-1)!.step - finite[0].step
  const lastPoint = points.at(-1)!
  return {
    n: base.n, mean: base.mean, std: base.std,
    auc: span > 0 ? area / span : finite[0].value,
    best: goal === null ? null : best.value, best_step: goal === null ? null : best.step,
    last: lastPoint.value, last_step: lastPoint.step,
  }
}
