// One metric of a campaign's runs as an inline SVG chart, drawn here (no script, nothing loaded):
// a curve per run with its own colour, dash pattern and marker shape (so runs stay apart in grey
// print and for colour-blind readers), a min–max band where a run was downsampled, a dashed
// vertical line at each fork step with a dot on the parent's curve, round ticks on both axes.
import {extent, formatTick, stepTicks, valueScale} from '../plots/scale.js'
import type {BucketPoint, SeriesPoint} from '../plots/series.js'
import {type Html, html, joinHtml} from './html.js'

export interface SvgSeries {
  run_id: string
  /** The legend's text for the run (name, status…). */
  label: string
  points: readonly (SeriesPoint | BucketPoint)[]
  downsampled: boolean
  non_finite: number
}

export interface SvgFork {
  run_id: string
  parent_run_id: string
  step: number
}

/** Tableau 10: distinct hues that survive most colour-vision deficiencies better than a rainbow. */
const COLOURS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#7f7f7f']
const DASHES = ['', '7 4', '2 3', '9 3 2 3']
const MARKERS = ['circle', 'square', 'triangle', 'diamond', 'cross', 'plus'] as const

/** Run i's look: colour, dash and marker cycle at different lengths, so the first 60 runs never share all three. */
export function seriesStyle(index: number): {colour: string; dash: string; marker: (typeof MARKERS)[number]} {
  return {colour: COLOURS[index % COLOURS.length], dash: DASHES[index % DASHES.length], marker: MARKERS[index % MARKERS.length]}
}

const [WIDTH, HEIGHT] = [880, 340]
const PAD = {left: 64, right: 20, top: 14, bottom: 40}
/** Markers drawn per curve: enough to tell curves apart, few enough not to hide them. */
const MARKERS_PER_CURVE = 7

const round = (v: number) => Math.round(v * 10) / 10

function markerShape(shape: (typeof MARKERS)[number], x: number, y: number, colour: string): Html {
  const s = 4
  switch (shape) {
    case 'circle': return html`<circle class="marker" cx="${round(x)}" cy="${round(y)}" r="${s - 0.5}" fill="${colour}"/>`
    case 'square': return html`<rect class="marker" x="${round(x - s + 0.5)}" y="${round(y - s + 0.5)}" width="${2 * s - 1}" height="${2 * s - 1}" fill="${colour}"/>`
    case 'triangle': return html`<path class="marker" d="M${round(x)} ${round(y - s)}L${round(x + s)} ${round(y + s)}L${round(x - s)} ${round(y + s)}Z" fill="${colour}"/>`
    case 'diamond': return html`<path class="marker" d="M${round(x)} ${round(y - s)}L${round(x + s)} ${round(y)}L${round(x)} ${round(y + s)}L${round(x - s)} ${round(y)}Z" fill="${colour}"/>`
    case 'cross': return html`<path class="marker" d="M${round(x - s)} ${round(y - s)}L${round(x + s)} ${round(y + s)}M${round(x - s)} ${round(y + s)}L${round(x + s)} ${round(y - s)}" stroke="${colour}" stroke-width="2"/>`
    case 'plus': return html`<path class="marker" d="M${round(x - s)} ${round(y)}L${round(x + s)} ${round(y)}M${round(x)} ${round(y - s)}L${round(x)} ${round(y + s)}" stroke="${colour}" stroke-width="2"/>`
  }
}

/** A small sample of the run's look, for the legend. */
export function swatch(index: number): Html {
  const style = seriesStyle(index)
  return html`<svg class="swatch" width="40" height="12" viewBox="0 0 40 12" aria-hidden="true"><line x1="1" y1="6" x2="39" y2="6" stroke="${style.colour}" stroke-width="2" stroke-dasharray="${style.dash}"/>${markerShape(style.marker, 20, 6, style.colour)}</svg>`
}

const finiteValue = (p: SeriesPoint): number | null => (typeof p.value === 'number' ? p.value : null)

/**
 * The chart of `series` (each drawn in the style of its index in `styleIndex`, default its
 * position); null when no run has a finite point to draw.
 */
export function svgChart(series: readonly SvgSeries[], forks: readonly SvgFork[], options: {title: string; styleIndex?: (runId: string) => number}): Html | null {
  const range = extent(series.flatMap((s) => s.points.flatMap((p) => [finiteValue(p), 'min' in p ? p.min : null, 'max' in p ? p.max : null]))
    .filter((v): v is number => v !== null && Number.isFinite(v)))
  if (range === null) return null
  const scale = valueScale(range[0], range[1], {ticks: 6})
  const [first, last] = extent([...series.flatMap((s) => s.points.map((p) => p.step)), ...forks.map((f) => f.step)])!
  const plot = {w: WIDTH - PAD.left - PAD.right, h: HEIGHT - PAD.top - PAD.bottom}
  const x = (step: number) => PAD.left + (last === first ? plot.w / 2 : ((step - first) / (last - first)) * plot.w)
  const y = (value: number) => PAD.top + (1 - scale.position(value)) * plot.h
  const styleOf = (runId: string, i: number) => seriesStyle(options.styleIndex?.(runId) ?? i)

  const grid = scale.ticks.map((t) => html`<line class="grid" x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${round(y(t))}" y2="${round(y(t))}"/><text class="tick" x="${PAD.left - 6}" y="${round(y(t) + 4)}" text-anchor="end">${formatTick(t)}</text>`)
  const xTicks = stepTicks(first, last, 8).map((s) => html`<line class="axis" x1="${round(x(s))}" x2="${round(x(s))}" y1="${PAD.top + plot.h}" y2="${PAD.top + plot.h + 4}"/><text class="tick" x="${round(x(s))}" y="${PAD.top + plot.h + 17}" text-anchor="middle">${s}</text>`)

  const bands: Html[] = []
  const curves: Html[] = []
  series.forEach((s, i) => {
    const style = styleOf(s.run_id, i)
    // A non-finite value breaks the curve: the next finite point starts a new piece.
    let d = ''
    let pen = 'M'
    const drawn: {x: number; y: number}[] = []
    for (const p of s.points) {
      const v = finiteValue(p)
      if (v === null || !Number.isFinite(v)) {
        pen = 'M'
        continue
      }
      const point = {x: x(p.step), y: y(v)}
      d += `${pen}${round(point.x)} ${round(point.y)}`
      pen = 'L'
      drawn.push(point)
    }
    if (s.downsampled) {
      const spread = s.points.filter((p): p is BucketPoint => 'min' in p && p.min !== null && p.max !== null)
      if (spread.length > 1) {
        const upper = spread.map((p, k) => `${k === 0 ? 'M' : 'L'}${round(x(p.step))} ${round(y(p.max!))}`).join('')
        const lower = [...spread].reverse().map((p) => `L${round(x(p.step))} ${round(y(p.min!))}`).join('')
        bands.push(html`<path class="band" data-run="${s.run_id}" d="${upper + lower}Z" fill="${style.colour}"/>`)
      }
    }
    if (drawn.length === 0) return
    const every = Math.max(1, Math.ceil(drawn.length / MARKERS_PER_CURVE))
    const marks = drawn.filter((_, k) => k % every === 0 || k === drawn.length - 1).map((p) => markerShape(style.marker, p.x, p.y, style.colour))
    curves.push(html`<g class="run" data-run="${s.run_id}"><title>${s.label}</title><path class="series" data-run="${s.run_id}" data-points="${drawn.length}" d="${d}" stroke="${style.colour}" stroke-dasharray="${style.dash}"/>${marks}</g>`)
  })

  const forkMarks = forks.filter((f) => f.step >= first && f.step <= last).map((f) => {
    const index = series.findIndex((s) => s.run_id === f.run_id)
    const style = styleOf(f.run_id, Math.max(0, index))
    // The dot sits on the parent's curve at its last point at or before the fork step.
    const parent = series.find((s) => s.run_id === f.parent_run_id)
    const at = parent?.points.filter((p) => p.step <= f.step && finiteValue(p) !== null && Number.isFinite(finiteValue(p)!)).at(-1)
    const label = `${f.run_id} forked from ${f.parent_run_id} at step ${f.step}`
    return html`<g class="fork" data-run="${f.run_id}" data-step="${f.step}"><title>${label}</title><line class="fork-line" x1="${round(x(f.step))}" x2="${round(x(f.step))}" y1="${PAD.top}" y2="${PAD.top + plot.h}" stroke="${style.colour}"/>${at ? html`<circle class="fork-point" cx="${round(x(f.step))}" cy="${round(y(finiteValue(at)!))}" r="5" stroke="${style.colour}"/>` : ''}<text class="fork-label" x="${round(x(f.step) + 3)}" y="${PAD.top + 10}">${f.run_id}</text></g>`
  })

  return html`<svg class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="${options.title}">
<title>${options.title}</title>
<g class="grid">${grid}</g>
<line class="axis" x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${PAD.top + plot.h}" y2="${PAD.top + plot.h}"/>
<line class="axis" x1="${PAD.left}" x2="${PAD.left}" y1="${PAD.top}" y2="${PAD.top + plot.h}"/>
<g class="x-ticks">${xTicks}</g>
<text class="axis-label" x="${PAD.left + plot.w / 2}" y="${HEIGHT - 4}" text-anchor="middle">step</text>
<g class="bands">${bands}</g>
<g class="forks">${forkMarks}</g>
<g class="curves">${joinHtml(curves, '\n')}</g>
</svg>`
}
