// The terminal chart (lib/output/chart.ts) and the axis arithmetic under it (lib/plots/scale.ts):
// series told apart by glyph without colour, fork markers in the right column, a log axis, bounds.
import chalk from 'chalk'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {layoutChart, lineChart, MARKER_GLYPH, MAX_CHART_WIDTH, MIN_CHART_HEIGHT, MIN_CHART_WIDTH, SERIES_GLYPHS} from '../../src/lib/output/chart.js'
import {extent, formatTick, niceTicks, valueScale} from '../../src/lib/plots/scale.js'

const line = (name: string, from: number, to: number, value: (step: number) => number) =>
  ({name, points: Array.from({length: to - from + 1}, (_, i) => ({step: from + i, value: value(from + i)}))})

let level: typeof chalk.level
beforeEach(() => {
  level = chalk.level
  chalk.level = 0
})
afterEach(() => {
  chalk.level = level
})

describe('series glyphs', () => {
  it('are distinct, and none is the fork marker or an axis character', () => {
    expect(new Set(SERIES_GLYPHS).size).toBe(SERIES_GLYPHS.length)
    for (const glyph of SERIES_GLYPHS) expect(['┆', '│', '┤', '└', '─', '┴', ' ', MARKER_GLYPH]).not.toContain(glyph)
  })

  it('tell every series apart without colour: each is drawn with its own glyph, and the legend names it', () => {
    const series = SERIES_GLYPHS.map((_, i) => line(`run${i}`, 0, 50, (s) => i * 100 + s))
    const text = lineChart(series, {width: 80, height: 40})
    expect(text).not.toMatch(/\u001B\[/)
    const [plot, legend] = [text.split('\n').filter((l) => /[│┤]/.test(l)).join('\n'), text.split('\n').filter((l) => !/[│┤└]/.test(l)).join('\n')]
    SERIES_GLYPHS.forEach((glyph, i) => {
      expect(plot.split(glyph).length - 1, `glyph ${glyph} of run${i}`).toBeGreaterThanOrEqual(10)
      expect(legend).toContain(`${glyph} run${i}`)
    })
  })

  it('gives each series its own colour when colour is on', () => {
    chalk.level = 1
    const text = lineChart([line('a', 0, 9, (s) => s), line('b', 0, 9, (s) => 10 - s)], {width: 40, height: 8})
    const colourOf = (glyph: string) => new Set([...text.matchAll(new RegExp(`\\u001B\\[(\\d+)m\\${glyph}`, 'g'))].map((m) => m[1]))
    const [a, b] = [colourOf(SERIES_GLYPHS[0]), colourOf(SERIES_GLYPHS[1])]
    expect(a.size).toBe(1)
    expect(b.size).toBe(1)
    expect([...a][0]).not.toBe([...b][0])
  })
})

describe('fork markers', () => {
  it('are a column of ┆ at the fork step, ┴ on the x axis under it, and a legend line', () => {
    const series = [line('r1', 0, 100, (s) => Math.sin(s / 10)), line('r2', 41, 100, (s) => Math.cos(s / 10))]
    const markers = [{step: 40, label: 'r2 forked from r1 at step 40'}]
    const layout = layoutChart(series, {width: 81, height: 10, markers})!
    const column = Math.round((40 / 100) * (layout.plotWidth - 1))
    expect(layout.markerColumns).toEqual([column])
    // Every cell of the column is the marker, unless a point sits there.
    for (const row of layout.grid) expect(row[column] === 'marker' || (row[column] !== null && typeof row[column] === 'object')).toBe(true)
    expect(layout.grid.filter((row) => row[column] === 'marker').length).toBeGreaterThan(5)
    // No other column has a marker.
    expect(layout.grid.flat().filter((c) => c === 'marker').length).toBe(layout.grid.filter((row) => row[column] === 'marker').length)

    const lines = lineChart(series, {width: 81, height: 10, markers}).split('\n')
    const axis = lines.find((l) => l.includes('└'))!
    expect(axis.indexOf('┴') - axis.indexOf('└') - 1).toBe(column)
    expect(axis.split('┴').length - 1).toBe(1)
    const plotRows = lines.filter((l) => /[│┤]/.test(l))
    const start = axis.indexOf('└') + 1
    expect(plotRows.filter((l) => l[start + column] === MARKER_GLYPH).length).toBeGreaterThan(5)
    expect(lines.map((l) => l.trim())).toContain(`${MARKER_GLYPH} r2 forked from r1 at step 40`)
  })

  it('outside the steps drawn are left out', () => {
    const layout = layoutChart([line('r1', 0, 10, (s) => s)], {markers: [{step: 50, label: 'far'}], stepRange: [0, 10]})!
    expect(layout.markerColumns).toEqual([])
  })
})

describe('log axis', () => {
  it('puts powers of ten at even intervals and labels them', () => {
    const series = [{name: 'loss', points: [1, 10, 100, 1000, 10000].map((value, step) => ({step, value}))}]
    const layout = layoutChart(series, {logY: true, height: 13, width: 60})!
    expect(layout.yTicks.map((t) => t.value)).toEqual([1, 10, 100, 1000, 10000])
    const rows = layout.yTicks.map((t) => t.row)
    const gaps = rows.slice(1).map((r, i) => rows[i] - r)
    expect(new Set(gaps)).toEqual(new Set([3]))
    // Each point sits on its decade's row.
    layout.yTicks.forEach((t, i) => expect(layout.grid[t.row][layout.columnOf(i)]).toEqual({series: 0}))
    expect(lineChart(series, {logY: true, height: 13, width: 60})).toMatch(/1e\+4 ┤|10000 ┤/)
  })

  it('labels a range narrower than one 1-2-5 interval with round values inside it', () => {
    const series = [{name: 'entropy', points: [2.071, 2.075, 2.083].map((value, step) => ({step, value}))}]
    const layout = layoutChart(series, {logY: true, height: 10, width: 50})!
    expect(layout.yTicks.length).toBeGreaterThanOrEqual(2)
    for (const t of layout.yTicks) expect(t.value >= 2.071 && t.value <= 2.083).toBe(true)
    for (const row of lineChart(series, {logY: true, height: 10, width: 50}).split('\n').filter((l) => /[│┤└]/.test(l))) expect(row.length).toBe(50)
  })

  it('never draws a value ≤ 0 on it: skipped and counted', () => {
    const series = [{name: 'r1', points: [{step: 0, value: -1}, {step: 1, value: 0}, {step: 2, value: 1}, {step: 3, value: 10}]}]
    const layout = layoutChart(series, {logY: true})!
    expect(layout.skipped).toEqual([2])
    expect(lineChart(series, {logY: true})).toContain('r1: 2 values ≤ 0 not drawn on the log axis')
  })
})

describe('bounds', () => {
  it('every line of the chart is exactly the width asked, clamped to the bounds', () => {
    const series = [line('a', 0, 500, (s) => s * s)]
    for (const [asked, expected] of [[100, 100], [5, MIN_CHART_WIDTH], [10_000, MAX_CHART_WIDTH]]) {
      const rows = lineChart(series, {width: asked, height: 6}).split('\n').filter((l) => /[│┤└]/.test(l))
      for (const row of rows) expect(row.length, `width ${asked}`).toBe(expected)
    }
    expect(layoutChart(series, {height: 1})!.grid.length).toBe(MIN_CHART_HEIGHT)
  })

  it('a chart with nothing finite to draw says so', () => {
    expect(lineChart([{name: 'a', points: [{step: 1, value: Number.NaN}]}])).toContain('(no data to draw)')
    expect(lineChart([])).toContain('(no data to draw)')
  })

  it('draws a long series at the chart\'s resolution (column means) without overflowing the stack', () => {
    const long = line('a', 0, 300_000, (s) => s % 7)
    const layout = layoutChart([long], {width: 50, height: 7})!
    expect(layout.grid.flat().filter((c) => c !== null && c !== 'marker').length).toBe(layout.plotWidth)
  })
})

describe('axis arithmetic', () => {
  it('round ticks, exact decimals, widened to round bounds', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.5, 1])
    expect(niceTicks(0.1, 0.7, 4)).toEqual([0.2, 0.4, 0.6])
    const scale = valueScale(0.13, 0.92, {ticks: 5})
    expect([scale.lo, scale.hi]).toEqual([0, 1])
    expect(scale.ticks).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1])
    expect(scale.position(0.5)).toBeCloseTo(0.5)
    // A flat series gets room around it.
    const flat = valueScale(3, 3)
    expect(flat.lo).toBeLessThan(3)
    expect(flat.hi).toBeGreaterThan(3)
    expect(extent([3, -1, 7])).toEqual([-1, 7])
    expect(extent([])).toBeNull()
    expect(formatTick(0.30000000000000004)).toBe('0.3')
    expect(formatTick(1e-5)).toBe('1e-5')
    expect(formatTick(2500000)).toBe('2.5e+6')
  })
})
