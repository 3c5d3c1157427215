// Reading curves for drawing (lib/plots/series.ts) on a store holding 100,000 steps: a long run is
// folded into at most maxPoints buckets on a grid shared with the other long runs, a short run
// keeps every point as logged, and counts (points, non-finite values) cover every step.
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {performance} from 'node:perf_hooks'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {type BucketPoint, firstNonPositive, readSeries} from '../../src/lib/plots/series.js'
import {openStore, type Store} from '../../src/lib/store/open.js'

const LONG = 100_000
const reward = (step: number) => Math.sin(step / 1000) + (step % 7) / 100

describe('readSeries', () => {
  let dir: string
  let store: Store
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'autolab-series-'))
    store = await openStore(join(dir, 'autolab.db'))
    const insert = store.prepare('INSERT INTO metric_steps (run_id, step, time, record) VALUES (?, ?, ?, ?)')
    store.write(() => {
      for (let step = 1; step <= LONG; step++) {
        // loss is logged every other step; step 5000 diverged (NaN), step 6000 is -Infinity.
        const metrics: Record<string, unknown> = {reward: reward(step)}
        if (step % 2 === 0) metrics.loss = step === 5000 ? 'NaN' : step === 6000 ? '-Infinity' : 1 / step
        insert.run('long', step, step, JSON.stringify({step, time: step, metrics}))
      }
      // A second long run starting later, and a short fork.
      for (let step = 50_001; step <= 150_000; step++) insert.run('late', step, step, JSON.stringify({step, time: step, metrics: {reward: 0.5}}))
      for (let step = 21; step <= 40; step++) insert.run('short', step, step, JSON.stringify({step, time: step, metrics: {reward: step === 30 ? 0 : 1}}))
    })
  })
  afterAll(() => {
    store.close()
    rmSync(dir, {recursive: true, force: true})
  })

  it('folds 100,000 steps into at most maxPoints buckets on one grid, in one pass, quickly; short runs stay as logged', () => {
    const started = performance.now()
    const read = readSeries(store, ['long', 'late', 'short'], ['reward', 'loss'], {maxPoints: 1000})
    const seconds = (performance.now() - started) / 1000
    // Generous: a pass over 200,000 rows takes a fraction of that; an accidental quadratic would not.
    expect(seconds).toBeLessThan(10)
    const rewards = read.get('reward')!
    // The grid spans both long runs: steps 1..150000 in 1000 buckets of 150.
    expect(rewards.bucket_steps).toBe(150)
    const [long, late, short] = rewards.runs
    for (const run of [long, late]) {
      expect(run.downsampled).toBe(true)
      expect(run.points.length).toBeLessThanOrEqual(1000)
      for (const p of run.points) expect((p.step - 1) % 150).toBe(0)
    }
    expect(long.total).toBe(LONG)
    expect(late.total).toBe(LONG)
    // A bucket is the mean, min and max of its steps.
    const bucket = long.points[10] as BucketPoint
    const values = Array.from({length: 150}, (_, i) => reward(bucket.step + i))
    expect(bucket.n).toBe(150)
    expect(bucket.value).toBeCloseTo(values.reduce((a, b) => a + b, 0) / 150, 12)
    expect([bucket.min, bucket.max]).toEqual([Math.min(...values), Math.max(...values)])
    expect(short).toMatchObject({downsampled: false, total: 20})
    expect(short.points.slice(8, 11)).toEqual([{step: 29, value: 1}, {step: 30, value: 0}, {step: 31, value: 1}])

    // Every other step for loss, non-finite values counted (and never averaged in).
    const loss = read.get('loss')!.runs[0]
    expect(loss).toMatchObject({total: LONG / 2, non_finite: 2, first_non_finite_step: 5000})
    const withNaN = loss.points.find((p) => p.step <= 5000 && p.step + 150 > 5000) as BucketPoint
    expect(withNaN.n).toBe(75)
    expect(typeof withNaN.value).toBe('number')
    expect(read.get('loss')!.runs[2]).toMatchObject({total: 0, points: []})
  })

  it('keeps every point when no run has more than maxPoints steps in the range', () => {
    const read = readSeries(store, ['long', 'short'], ['reward'], {from: 21, to: 40, maxPoints: 1000}).get('reward')!
    expect(read.bucket_steps).toBeNull()
    expect(read.runs[0].points).toEqual(Array.from({length: 20}, (_, i) => ({step: 21 + i, value: reward(21 + i)})))
  })

  it('finds the first value a log axis cannot show', () => {
    expect(firstNonPositive(store, 'short', 'reward', {})).toEqual({step: 30, value: 0})
    expect(firstNonPositive(store, 'short', 'reward', {from: 31})).toBeNull()
    // -Infinity is not finite: never drawn, so never refused.
    expect(firstNonPositive(store, 'long', 'loss', {})).toBeNull()
  })
})
