import {describe, expect, it} from 'vitest'
import {curveStats, lowerIsBetter, trendStats} from '../../src/lib/telemetry/trends.js'
import {parseMetricValue, toJsonNumber} from '../../src/lib/telemetry/values.js'

describe('trend statistics', () => {
  it('computes slope per step, mean and std of a line', () => {
    const points = [0, 1, 2, 3, 4].map((i) => ({step: 10 + i * 10, value: 1 + 0.5 * (10 + i * 10)}))
    const s = trendStats(points)
    expect(s.n).toBe(5)
    expect(s.slope).toBeCloseTo(0.5, 12)
    expect(s.mean).toBeCloseTo(1 + 0.5 * 30, 12)
    expect(s.std).toBeCloseTo(0.5 * Math.sqrt(200), 12)
    expect([s.first_step, s.last_step]).toEqual([10, 50])
  })

  it('gives a zero slope for a plateau and leaves non-finite points out', () => {
    const s = trendStats([{step: 1, value: 0.2}, {step: 2, value: Number.NaN}, {step: 3, value: 0.2}, {step: 4, value: Number.POSITIVE_INFINITY}])
    expect(s).toMatchObject({n: 2, slope: 0, mean: 0.2, std: 0})
  })

  it('returns nulls for no data', () => {
    expect(trendStats([])).toEqual({n: 0, mean: null, std: null, slope: null, first_step: null, last_step: null})
  })

  it('curve stats: best by direction, time-averaged AUC, last', () => {
    const points = [{step: 0, value: 0}, {step: 10, value: 1}, {step: 20, value: 0.5}]
    const up = curveStats(points, true)
    expect(up).toMatchObject({best: 1, best_step: 10, last: 0.5, last_step: 20})
    expect(up.auc).toBeCloseTo((5 + 7.5) / 20, 12)
    expect(curveStats(points, false)).toMatchObject({best: 0, best_step: 0})
  })

  it('knows which metrics go down', () => {
    expect(lowerIsBetter('loss')).toBe(true)
    expect(lowerIsBetter('val/kl')).toBe(true)
    expect(lowerIsBetter('reward')).toBe(false)
  })

  it('round-trips non-finite values through the JSON encoding', () => {
    for (const v of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1.5]) {
      expect(parseMetricValue(toJsonNumber(v))).toBe(v)
    }
    expect(parseMetricValue({})).toBeUndefined()
    expect(parseMetricValue('abc')).toBeUndefined()
  })
})
