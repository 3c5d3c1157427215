// Terminal line charts: several series of (step, value) on one grid, a y axis with round tick
// labels (linear or log), an x axis with step labels, and vertical markers at fork steps. Each
// series has a colour *and* a glyph of its own, and the fork marker a glyph no series uses, so a
// chart reads the same without colour (NO_COLOR, --no-color, a pipe).
import chalk from 'chalk'
import {extent, formatTick, stepTicks, valueScale} from '../plots/scale.js'

export interface Series {
  name: string
  points: readonly {step: number; value: number}[]
}

export interface ChartMarker {
  step: number
  /** One legend line, e.g. "r2 forked from r1 at step 20". */
  label: string
}

export interface ChartOptions {
  /** Total columns, axis labels included (bounded to [MIN_CHART_WIDTH, MAX_CHART_WIDTH]). Default 60. */
  width?: number
  /** Rows of the plot area (bounded to [MIN_CHART_HEIGHT, MAX_CHART_HEIGHT]). Default 12. */
  height?: number
  title?: string
  logY?: boolean
  /** Vertical markers (fork points), drawn where no series has a point. */
  markers?: readonly ChartMarker[]
  /** The steps the x axis spans; default: the points' and markers' extent. */
  stepRange?: readonly [number, number]
  /** Extra legend lines (e.g. "r3: 2 NaN values not drawn"). */
  notes?: readonly string[]
}

export const MIN_CHART_WIDTH = 30
export const MAX_CHART_WIDTH = 1000
export const MIN_CHART_HEIGHT = 5
export const MAX_CHART_HEIGHT = 200

/** A glyph per series as well as a colour: without colour the series stay apart. Never MARKER_GLYPH or an axis character. */
export const SERIES_GLYPHS = ['•', '+', 'x', 'o', '*', '#', '@', '%', '=', '~', '&', '$'] as const
export const MARKER_GLYPH = '┆'
const SERIES_COLOURS = [chalk.green, chalk.yellow, chalk.cyan, chalk.magenta, chalk.blue, chalk.red,
  chalk.greenBright, chalk.yellowBright, chalk.cyanBright, chalk.magentaBright, chalk.blueBright, chalk.redBright]

export const seriesGlyph = (index: number): string => SERIES_GLYPHS[index % SERIES_GLYPHS.length]
export const seriesColour = (index: number): ((text: string) => string) => SERIES_COLOURS[index % SERIES_COLOURS.length]

/** One cell of the plot area: a series' point (its index), a fork marker, or nothing. */
export type Cell = {series: number} | 'marker' | null

/** The chart before it is turned into text: what the tests inspect. */
export interface ChartLayout {
  /** Rows top to bottom, `plotWidth` cells each. */
  grid: Cell[][]
  plotWidth: number
  stepRange: [number, number]
  /** The column a step falls in. */
  columnOf(step: number): number
  /** Tick values with the row they label. */
  yTicks: {value: number; row: number}[]
  /** Tick steps with their column. */
  xTicks: {step: number; column: number}[]
  markerColumns: number[]
  /** Columns the y labels take. */
  labelWidth: number
  /** Points a log axis could not show (≤ 0), per series; the caller refuses them first (plot), this is the last guard. */
  skipped: number[]
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, Math.round(v)))

/**
 * Lay a chart out. Each column averages the points of a series that fall in it (on the axis's
 * scale: a log axis averages logarithms), so a long series is drawn at the chart's resolution.
 * Returns null when no series has a finite point to draw.
 */
export function layoutChart(series: readonly Series[], options: ChartOptions = {}): ChartLayout | null {
  const height = clamp(options.height ?? 12, MIN_CHART_HEIGHT, MAX_CHART_HEIGHT)
  const drawable = (v: number) => Number.isFinite(v) && (!options.logY || v > 0)
  const range = extent(series.flatMap((s) => s.points.filter((p) => drawable(p.value)).map((p) => p.value)))
  if (range === null) return null
  const scale = valueScale(range[0], range[1], {log: options.logY, ticks: Math.max(2, Math.min(6, Math.floor(height / 3) + 1))})
  // valueScale always gives ticks; the ends are the fallback that keeps the layout sound.
  const ticks = scale.ticks.length > 0 ? scale.ticks : [scale.lo, scale.hi]
  const labelWidth = Math.max(...ticks.map((t) => formatTick(t).length))
  const plotWidth = clamp(options.width ?? 60, MIN_CHART_WIDTH, MAX_CHART_WIDTH) - labelWidth - 2
  const [first, last] = options.stepRange ?? extent([...series.flatMap((s) => s.points.map((p) => p.step)), ...(options.markers ?? []).map((m) => m.step)])!
  const columnOf = (step: number) => (last === first ? 0 : clamp(((step - first) / (last - first)) * (plotWidth - 1), 0, plotWidth - 1))
  const rowOf = (position: number) => clamp((1 - position) * (height - 1), 0, height - 1)
  const grid: Cell[][] = Array.from({length: height}, () => Array.from({length: plotWidth}, (): Cell => null))
  const markerColumns = [...new Set((options.markers ?? []).filter((m) => m.step >= first && m.step <= last).map((m) => columnOf(m.step)))]
  for (const column of markerColumns) for (const row of grid) row[column] = 'marker'
  const skipped = series.map(() => 0)
  series.forEach((s, index) => {
    const columns = new Map<number, {sum: number; n: number}>()
    for (const p of s.points) {
      if (p.step < first || p.step > last || !Number.isFinite(p.value)) continue
      if (!drawable(p.value)) {
        skipped[index]++
        continue
      }
      const column = columnOf(p.step)
      const cell = columns.get(column) ?? {sum: 0, n: 0}
      cell.sum += scale.position(p.value)
      cell.n++
      columns.set(column, cell)
    }
    for (const [column, {sum, n}] of columns) grid[rowOf(sum / n)][column] = {series: index}
  })
  const yTicks = ticks.map((value) => ({value, row: rowOf(scale.position(value))}))
  // The first step is always labelled; round steps after it where they fit (stepLabels drops any that would touch).
  const xTicks = [...new Set([first, ...stepTicks(first, last, Math.max(2, Math.floor(plotWidth / 12)))])].map((step) => ({step, column: columnOf(step)}))
  return {grid, plotWidth, stepRange: [first, last], columnOf, yTicks, xTicks, markerColumns, labelWidth, skipped}
}

/** The chart as text: title, plot area with its y axis, x axis and labels, legend. */
export function lineChart(series: readonly Series[], options: ChartOptions = {}): string {
  const layout = layoutChart(series, options)
  if (layout === null) return [options.title ? chalk.bold(options.title) : '', chalk.dim('(no data to draw)'), ...(options.notes ?? []).map((n) => chalk.dim(n))].filter(Boolean).join('\n')
  const labels = new Map(layout.yTicks.map((t) => [t.row, formatTick(t.value)]))
  const {labelWidth} = layout
  const lines = layout.grid.map((row, r) => {
    const label = labels.get(r)
    const axis = chalk.dim(`${(label ?? '').padStart(labelWidth)} ${label === undefined ? '│' : '┤'}`)
    return axis + row.map((cell) => (cell === null ? ' ' : cell === 'marker' ? chalk.dim(MARKER_GLYPH) : seriesColour(cell.series)(seriesGlyph(cell.series)))).join('')
  })
  const axis = Array.from({length: layout.plotWidth}, (_, c) => (layout.markerColumns.includes(c) ? '┴' : '─')).join('')
  lines.push(chalk.dim(`${' '.repeat(labelWidth)} └${axis}`))
  lines.push(chalk.dim(`${' '.repeat(labelWidth + 2)}${stepLabels(layout)}`))
  const legend = series.map((s, i) => seriesColour(i)(`${seriesGlyph(i)} ${s.name}`))
  const indent = ' '.repeat(labelWidth + 2)
  const notes = [
    ...(options.markers ?? []).map((m) => chalk.dim(`${MARKER_GLYPH} ${m.label}`)),
    ...layout.skipped.flatMap((n, i) => (n > 0 ? [chalk.dim(`${seriesGlyph(i)} ${series[i].name}: ${n} value${n === 1 ? '' : 's'} ≤ 0 not drawn on the log axis`)] : [])),
    ...(options.notes ?? []).map((n) => chalk.dim(n)),
  ]
  return [options.title ? chalk.bold(options.title) : '', ...lines, ...legend.map((l) => indent + l), ...notes.map((n) => indent + n)].filter((l) => l !== '').join('\n')
}

/** Step labels under their columns, left to right, skipping any that would touch the previous one. */
function stepLabels(layout: ChartLayout): string {
  let text = ''
  for (const {step, column} of layout.xTicks) {
    const label = String(step)
    // Centred on its column, kept inside the plot width.
    const start = Math.min(Math.max(0, column - Math.floor(label.length / 2)), Math.max(0, layout.plotWidth - label.length))
    if (start < text.length + (text.length ? 1 : 0)) continue
    text = text.padEnd(start) + label
  }
  return text
}
