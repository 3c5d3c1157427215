import {describe, expect, it} from 'vitest'
import {declaredMetrics, goalOf, higherIsBetter} from '../../src/lib/telemetry/goals.js'
import {curveStats, judgeTrend, type Point, trendStats} from '../../src/lib/telemetry/trends.js'
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

  it('curve stats: best by the goal (none without one), time-averaged AUC, last', () => {
    const points = [{step: 0, value: 0}, {step: 10, value: 1}, {step: 20, value: 0.5}]
    const up = curveStats(points, 'max')
    expect(up).toMatchObject({best: 1, best_step: 10, last: 0.5, last_step: 20})
    expect(up.auc).toBeCloseTo((5 + 7.5) / 20, 12)
    expect(curveStats(points, 'min')).toMatchObject({best: 0, best_step: 0})
    expect(curveStats(points, null)).toMatchObject({best: null, best_step: null, last: 0.5, last_step: 20})
  })

  it('round-trips non-finite values through the JSON encoding', () => {
    for (const v of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1.5]) {
      expect(parseMetricValue(toJsonNumber(v))).toBe(v)
    }
    expect(parseMetricValue({})).toBeUndefined()
    expect(parseMetricValue('abc')).toBeUndefined()
  })
})

describe('metric goals come from the run\'s recipe, never from the name', () => {
  const spec = JSON.stringify({command: 'x', metrics: {reward: {goal: 'max'}, loss: {goal: 'min'}, entropy: {goal: null}}, primary_metric: 'reward'})

  it('declared goals, null for a metric declared without one or not declared', () => {
    const declared = declaredMetrics(spec)
    expect(declared.primary).toBe('reward')
    expect(['reward', 'loss', 'entropy', 'learning_rate', 'val/kl'].map((m) => goalOf(declared, m))).toEqual(['max', 'min', null, null, null])
    expect([higherIsBetter('max'), higherIsBetter('min'), higherIsBetter(null)]).toEqual([true, false, null])
  })

  it('a run recorded before metrics were declared (or an unreadable spec) declares nothing', () => {
    for (const old of [JSON.stringify({command: 'x', gpus: 0}), '', null, 'not json', JSON.stringify({metrics: {toString: {goal: 'max'}}, primary_metric: 'constructor'})]) {
      const declared = declaredMetrics(old)
      expect(declared.primary).toBeNull()
      expect(goalOf(declared, 'reward')).toBeNull()
    }
  })
})

describe('trend verdicts', () => {
  // Deterministic noise in [-1, 1).
  const noise = (i: number) => {
    const x = Math.sin((i + 1) * 12.9898) * 43_758.5453
    return 2 * (x - Math.floor(x)) - 1
  }
  const series = (n: number, value: (i: number) => number, every = 10): Point[] => Array.from({length: n}, (_, i) => ({step: (i + 1) * every, value: value(i)}))

  it('a climb well above its noise is improving with goal max, worsening with goal min, changing without a goal', () => {
    const climb = series(20, (i) => 0.2 + 0.04 * i + 0.03 * noise(i))
    const judged = judgeTrend(climb, 'max')
    expect(judged).toMatchObject({verdict: 'improving', window_steps: 190, n: 20})
    expect(judged.change).toBeCloseTo(judged.slope! * 190, 12)
    expect(judged.change!).toBeGreaterThan(0.7)
    expect(judged.noise!).toBeLessThan(0.03)
    expect(judgeTrend(climb, 'min').verdict).toBe('worsening')
    expect(judgeTrend(climb, null).verdict).toBe('changing')
    const fall = series(20, (i) => 2 - 0.05 * i + 0.02 * noise(i))
    expect([judgeTrend(fall, 'min').verdict, judgeTrend(fall, 'max').verdict, judgeTrend(fall, null).verdict]).toEqual(['improving', 'worsening', 'changing'])
  })

  it('a flat metric with sampling noise is a plateau, whatever its goal (reward at chance: 0.13 ± 0.04)', () => {
    const flat = series(20, (i) => 0.13 + 0.04 * noise(i))
    for (const goal of ['max', 'min', null] as const) expect(judgeTrend(flat, goal).verdict).toBe('plateau')
    // A settled metric with a drift far below its noise is still a plateau.
    expect(judgeTrend(series(20, (i) => 0.985 + 0.00002 * i + 0.01 * noise(i)), 'max').verdict).toBe('plateau')
  })

  it('a constant is a plateau with no change and no noise; float jitter below 1% of the level moves nothing', () => {
    expect(judgeTrend(series(10, () => 0.1), 'max')).toMatchObject({verdict: 'plateau', change: 0, noise: expect.closeTo(0, 12), std: expect.closeTo(0, 12)})
    // A smooth drift of 1e-12 per step: far above its (zero) noise, far below 1% of the level.
    expect(judgeTrend(series(10, (i) => 0.1 + 1e-12 * i), 'max').verdict).toBe('plateau')
  })

  it('points that wander by more than half their level, without a clear direction, are noisy', () => {
    expect(judgeTrend(series(20, (i) => 0.2 * noise(i)), 'min').verdict).toBe('noisy')
    expect(judgeTrend(series(20, (i) => 1 + 1.2 * noise(i)), 'max').verdict).toBe('noisy')
    expect(judgeTrend(series(20, (i) => 1 + 0.6 * noise(i)), 'max').verdict).toBe('plateau')
  })

  it('a trend judged against the noise around the line, not the raw std: a clean ramp is moving however long', () => {
    const ramp = series(50, (i) => i)
    expect(judgeTrend(ramp, 'max')).toMatchObject({verdict: 'improving', noise: expect.closeTo(0, 9)})
    expect(trendStats(ramp).std!).toBeGreaterThan(10)
  })

  it('no verdict from fewer than 4 points, nothing at all from none; non-finite points are left out', () => {
    expect(judgeTrend(series(3, (i) => i), 'max')).toMatchObject({n: 3, verdict: null, window_steps: 20, change: expect.closeTo(2, 9)})
    expect(judgeTrend([], 'max')).toEqual({n: 0, mean: null, std: null, slope: null, first_step: null, last_step: null, window_steps: null, change: null, noise: null, verdict: null})
    const withNaN = [...series(6, (i) => i), {step: 70, value: Number.NaN}]
    expect(judgeTrend(withNaN, 'max')).toMatchObject({n: 6, window_steps: 50, verdict: 'improving'})
  })
})
