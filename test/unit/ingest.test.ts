import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {type Store, openStore} from '../../src/lib/store/open.js'
import {metricHistory, latestObservation} from '../../src/lib/telemetry/history.js'
import {completeLines, ingestMetrics, ingestTrainerEvents} from '../../src/lib/telemetry/ingest.js'

const line = (step: number, metrics: Record<string, unknown>) => `${JSON.stringify({step, time: 1000 + step, metrics})}\n`

describe('ingest', () => {
  let dir: string
  let store: Store
  const run = {run_id: 'r1', run_dir: '/runs/r1', observation_cadence: 5, trend_window: 4}
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'autolab-ingest-'))
    store = await openStore(join(dir, 'autolab.db'))
  })
  afterEach(() => {
    store.close()
    rmSync(dir, {recursive: true, force: true})
  })

  it('consumes complete lines only: a half-written last line waits for the next sync', () => {
    const data = Buffer.from(`${line(1, {a: 1})}{"step":2,"ti`)
    expect(completeLines(data)).toEqual({lines: [line(1, {a: 1}).trimEnd()], consumed: line(1, {a: 1}).length})
    const result = store.write(() => ingestMetrics(store, run, data, null))
    expect(result.consumed).toBe(line(1, {a: 1}).length)
    expect(result.points).toBe(1)
  })

  it('stores every point, merges a step logged twice (later value wins, other keys kept)', () => {
    store.write(() => ingestMetrics(store, run, Buffer.from(line(1, {loss: 2, reward: 0.1}) + line(2, {loss: 1.5, reward: 0.2})), null))
    store.write(() => ingestMetrics(store, run, Buffer.from(line(2, {reward: 0.3}) + line(3, {loss: 1, reward: 0.4})), 1))
    expect(metricHistory(store, 'r1').points).toEqual([
      {step: 1, loss: 2, reward: 0.1},
      {step: 2, loss: 1.5, reward: 0.3},
      {step: 3, loss: 1, reward: 0.4},
    ])
    expect(metricHistory(store, 'r1', {metrics: ['reward'], last: 2}).points).toEqual([{step: 2, reward: 0.3}, {step: 3, reward: 0.4}])
    expect(metricHistory(store, 'r1', {metrics: ['loss'], from: 2, to: 2}).points).toEqual([{step: 2, loss: 1.5}])
  })

  it('raises one anomaly when a metric turns non-finite, not one per step', () => {
    const data = [line(1, {loss: 1}), line(2, {loss: 'NaN'}), line(3, {loss: 'NaN'}), line(4, {loss: 'Infinity'}), line(5, {loss: 1}), line(6, {loss: '-Infinity'})].join('')
    const result = store.write(() => ingestMetrics(store, run, Buffer.from(data), null))
    expect(result.events.map((e) => e.data)).toEqual([
      {type: 'nan', metric: 'loss', step: 2, value: 'NaN'},
      {type: 'inf', metric: 'loss', step: 6, value: '-Infinity'},
    ])
    expect(metricHistory(store, 'r1').points.map((p) => p.loss)).toEqual([1, 'NaN', 'NaN', 'Infinity', 1, '-Infinity'])
  })

  it('accepts the bare NaN/Infinity that Python json writes, and counts garbage lines', () => {
    const data = '{"step": 1, "time": 1, "metrics": {"loss": NaN, "kl": -Infinity, "r": 1}}\nnot json\n{"no_step": 1}\n'
    const result = store.write(() => ingestMetrics(store, run, Buffer.from(data), null))
    expect(result.badLines).toBe(2)
    expect(metricHistory(store, 'r1').points).toEqual([{step: 1, kl: '-Infinity', loss: 'NaN', r: 1}])
  })

  it('writes cadence-spaced observations with window statistics', () => {
    const data = Array.from({length: 12}, (_, i) => line(i + 1, {reward: (i + 1) * 0.1})).join('')
    store.write(() => ingestMetrics(store, run, Buffer.from(data), null))
    const steps = (store.sqlite.prepare('SELECT step FROM observations ORDER BY step').all() as {step: number}[]).map((r) => r.step)
    expect(steps).toEqual([1, 5, 10])
    const obs = latestObservation(store, 'r1')!
    expect(obs.step).toBe(10)
    expect(obs.metrics.reward.window).toBe(4) // trend_window
    expect(obs.metrics.reward.slope).toBeCloseTo(0.1, 10)
    expect(obs.metrics.reward.mean).toBeCloseTo(0.85, 10)
  })

  it('records checkpoints once (immutable once announced) and passes acknowledgements on', () => {
    const events = [
      JSON.stringify({type: 'checkpoint', step: 10, path: 'checkpoints/step-10', bytes: 123}),
      JSON.stringify({type: 'checkpoint', step: 10, path: 'checkpoints/step-10', bytes: 999}),
      JSON.stringify({type: 'control_ack', version: 2, step: 11, applied: {learning_rate: 0.1}}),
    ].join('\n') + '\n'
    const result = store.write(() => ingestTrainerEvents(store, run, Buffer.from(events), () => 0, new Date()))
    expect(result.events.map((e) => e.kind)).toEqual(['checkpoint', 'modify_ack'])
    expect(store.sqlite.prepare('SELECT step, path, bytes FROM checkpoints').all()).toEqual([{step: 10, path: '/runs/r1/checkpoints/step-10', bytes: 123}])
  })
})
