// Summary statistics of a metric over a window of points: what an agent reads instead of raw
// curves. Non-finite values are left out of the statistics (and reported as anomalies instead).

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

export function trendStats(points: readonly Point[]): TrendStats {
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
  if (n === 0) return {n, mean: null, std: null, slope: null, first_step: null, last_step: null}
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
  return {n, mean: meanY, std: Math.sqrt(syy / n), slope: sxx === 0 ? 0 : sxy / sxx, first_step: first, last_step: last}
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

/** `higherIsBetter` decides what "best" means (reward and accuracy up; loss down). */
export function curveStats(points: readonly Point[], higherIsBetter: boolean): CurveStats {
  const finite = points.filter((p) => Number.isFinite(p.value))
  const base = trendStats(finite)
  if (finite.length === 0) return {n: 0, mean: null, std: null, auc: null, best: null, best_step: null, last: null, last_step: null}
  let best = finite[0]
  let area = 0
  for (let i = 0; i < finite.length; i++) {
    const p = finite[i]
    if (higherIsBetter ? p.value > best.value : p.value < best.value) best = p
    if (i > 0) area += ((p.value + finite[i - 1].value) / 2) * (p.step - finite[i - 1].step)
  }
  const span = finite.at(-1)!.step - finite[0].step
  const lastPoint = points.at(-1)!
  return {
    n: base.n, mean: base.mean, std: base.std,
    auc: span > 0 ? area / span : finite[0].value,
    best: best.value, best_step: best.step,
    last: lastPoint.value, last_step: lastPoint.step,
  }
}

/** Metrics where lower is better, by name; everything else is higher-is-better. */
export function lowerIsBetter(metric: string): boolean {
  return /loss|error|perplexity|kl|regret|time/i.test(metric)
}
