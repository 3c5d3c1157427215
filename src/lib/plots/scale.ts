// Axis arithmetic shared by the terminal chart (lib/output/chart.ts) and the report's SVG charts
// (lib/report/svg-chart.ts): where a value or a step lands, and which round numbers label the
// axes. Pure functions, no colour, no output.

/** A value axis: maps a value to [0, 1] (0 = bottom), linear or log10, with its tick values. */
export interface ValueScale {
  lo: number
  hi: number
  log: boolean
  ticks: number[]
  /** Where v sits on the axis, 0 (bottom) to 1 (top); NaN for a value the axis cannot show (≤ 0 on a log axis, non-finite). */
  position(v: number): number
}

/** The smallest and largest of the numbers (a loop: Math.min(...xs) overflows the stack on long series); null when there are none. */
export function extent(values: Iterable<number>): [number, number] | null {
  let [lo, hi] = [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]
  for (const v of values) {
    if (v < lo) lo = v
    if (v > hi) hi = v
  }
  return lo <= hi ? [lo, hi] : null
}

/** Round steps (1, 2 or 5 × a power of ten) from lo to hi: at most about `count` of them, within [lo, hi]. */
export function niceTicks(lo: number, hi: number, count: number): number[] {
  if (!(hi > lo) || count < 2) return Number.isFinite(lo) ? [lo] : []
  return ticksEvery(lo, hi, niceStep((hi - lo) / (count - 1)))
}

/** The multiples of `step` from lo to hi. */
function ticksEvery(lo: number, hi: number, step: number): number[] {
  const ticks: number[] = []
  // Multiply, never accumulate: 0.1 + 0.2 is not 0.3.
  for (let i = Math.ceil(lo / step - 1e-9); i * step <= hi + step * 1e-9; i++) ticks.push(cleanFloat(i * step))
  return ticks
}

function niceStep(rough: number): number {
  const power = 10 ** Math.floor(Math.log10(rough))
  const fraction = rough / power
  return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power
}

/** 0.30000000000000004 → 0.3: tick values print as the round numbers they are. */
function cleanFloat(v: number): number {
  return Number.parseFloat(v.toPrecision(12))
}

/**
 * The axis for values in [lo, hi]. Linear: widened to round tick bounds (a flat series gets ±0.5,
 * or ±5% of its level). Log: lo and hi must be > 0; ticks at powers of ten inside the range, or at
 * 1-2-5 multiples when the range spans less than a decade.
 */
export function valueScale(lo: number, hi: number, options: {log?: boolean; ticks?: number} = {}): ValueScale {
  const count = options.ticks ?? 5
  if (options.log) {
    let [a, b] = [Math.log10(lo), Math.log10(hi)]
    if (b - a < 1e-9) [a, b] = [a - 0.5, b + 0.5]
    const decades: number[] = []
    for (let k = Math.ceil(a - 1e-9); k <= b + 1e-9; k++) decades.push(cleanFloat(10 ** k))
    const stride = Math.max(1, Math.ceil(decades.length / count))
    let ticks = decades.filter((_, i) => i % stride === 0)
    if (ticks.length < 2) {
      ticks = []
      for (let k = Math.floor(a); k <= Math.ceil(b); k++) for (const m of [1, 2, 5]) ticks.push(cleanFloat(m * 10 ** k))
      ticks = ticks.filter((t) => Math.log10(t) >= a - 1e-9 && Math.log10(t) <= b + 1e-9)
    }
    // A range within one 1-2-5 interval (2.07 to 2.09): round values inside it, as a linear axis has.
    if (ticks.length < 2) ticks = niceTicks(10 ** a, 10 ** b, count)
    return {lo: 10 ** a, hi: 10 ** b, log: true, ticks, position: (v) => (v > 0 && Number.isFinite(v) ? (Math.log10(v) - a) / (b - a) : Number.NaN)}
  }
  if (!(hi > lo)) {
    const pad = lo === 0 ? 0.5 : Math.abs(lo) * 0.05
    ;[lo, hi] = [lo - pad, hi + pad]
  }
  const step = niceStep((hi - lo) / Math.max(1, count - 1))
  const [top, bottom] = [cleanFloat(Math.ceil(hi / step - 1e-9) * step), cleanFloat(Math.floor(lo / step + 1e-9) * step)]
  return {lo: bottom, hi: top, log: false, ticks: ticksEvery(bottom, top, step), position: (v) => (Number.isFinite(v) ? (v - bottom) / (top - bottom) : Number.NaN)}
}

/** Integer steps to label an x axis from lo to hi: round numbers, never fractions of a step. */
export function stepTicks(lo: number, hi: number, count: number): number[] {
  if (hi <= lo) return [lo]
  const ticks = niceTicks(lo, hi, Math.min(count, hi - lo + 1)).filter((t) => Number.isInteger(t))
  return ticks.length > 0 ? ticks : [lo, hi]
}

/** A number for an axis label: short, exact for round numbers (0.25, 1e-5, 12000, 1.5e+6). */
export function formatTick(v: number): string {
  if (v === 0) return '0'
  const abs = Math.abs(v)
  if (abs >= 1e6 || abs < 1e-3) return v.toExponential(Number.isInteger(cleanFloat(v / 10 ** Math.floor(Math.log10(abs)))) ? 0 : 1)
  return String(cleanFloat(Number(v.toPrecision(4))))
}
