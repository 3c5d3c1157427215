import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {type Store, openStore} from '../../src/lib/store/open.js'
import {metricHistory, latestObservation} from '../../src/lib/telemetry/history.js'
import {completeLines, type IngestSource, ingestMetrics, ingestSamples, ingestTrainerEvents, SPIKE_STDS} from '../../src/lib/telemetry/ingest.js'
import {MAX_LINE_BYTES, Rejections} from '../../src/lib/telemetry/validate.js'

const line = (step: number, metrics: Record<string, unknown>) => `${JSON.stringify({step, time: 1000 + step, metrics})}\n`

describe('ingest', () => {
  let dir: string
  let store: Store
  const run = {run_id: 'r1', run_dir: '/runs/r1', observation_cadence: 5, trend_window: 4}
  const source = (file = 'metrics.jsonl', offset = 0): IngestSource => ({file, offset, rejections: new Rejections()})
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
    expect(completeLines(data)).toEqual({lines: [{text: line(1, {a: 1}).trimEnd(), offset: 0, tooLong: false}], consumed: line(1, {a: 1}).length, midLine: false})
    const result = store.write(() => ingestMetrics(store, run, data, null, source()))
    expect(result.consumed).toBe(line(1, {a: 1}).length)
    expect(result.points).toBe(1)
  })

  it('stores every point, merges a step logged twice (later value wins, other keys kept)', () => {
    store.write(() => ingestMetrics(store, run, Buffer.from(line(1, {loss: 2, reward: 0.1}) + line(2, {loss: 1.5, reward: 0.2})), null, source()))
    store.write(() => ingestMetrics(store, run, Buffer.from(line(2, {reward: 0.3}) + line(3, {loss: 1, reward: 0.4})), 1, source()))
    expect(metricHistory(store, 'r1').points).toEqual([
      {step: 1, loss: 2, reward: 0.1},
      {step: 2, loss: 1.5, reward: 0.3},
      {step: 3, loss: 1, reward: 0.4},
    ])
    expect(metricHistory(store, 'r1', {metrics: ['reward'], last: 2}).points).toEqual([{step: 2, reward: 0.3}, {step: 3, reward: 0.4}])
    expect(metricHistory(store, 'r1', {metrics: ['loss'], from: 2, to: 2}).points).toEqual([{step: 2, loss: 1.5}])
  })

  it('keeps each metric\'s latest value (latest_metrics): the step that last logged it, non-finite values as strings', () => {
    const latest = () => Object.fromEntries((store.prepare('SELECT key, step, value FROM latest_metrics WHERE run_id = ? ORDER BY key').all('r1') as {key: string; step: number; value: string}[]).map((r) => [r.key, [r.step, JSON.parse(r.value)]]))
    store.write(() => ingestMetrics(store, run, Buffer.from(line(1, {loss: 2, reward: 0.1}) + line(2, {loss: 1.5}) + line(2, {loss: 1.25})), null, source()))
    expect(latest()).toEqual({loss: [2, 1.25], reward: [1, 0.1]})
    // A later batch moves what it logs; an eval metric logged every k steps keeps its own step; a step logged again (a resume) does not move a metric back.
    store.write(() => ingestMetrics(store, run, Buffer.from(line(3, {loss: 'NaN', accuracy: 0.5}) + line(1, {reward: 0.9})), 2, source()))
    expect(latest()).toEqual({loss: [3, 'NaN'], reward: [1, 0.9], accuracy: [3, 0.5]})
    store.write(() => ingestMetrics(store, run, Buffer.from(line(2, {loss: 7})), 3, source()))
    expect(latest().loss).toEqual([3, 'NaN'])
  })

  it('raises one anomaly when a metric turns non-finite, not one per step', () => {
    const data = [line(1, {loss: 1}), line(2, {loss: 'NaN'}), line(3, {loss: 'NaN'}), line(4, {loss: 'Infinity'}), line(5, {loss: 1}), line(6, {loss: '-Infinity'})].join('')
    const result = store.write(() => ingestMetrics(store, run, Buffer.from(data), null, source()))
    expect(result.events.map((e) => e.data)).toEqual([
      {type: 'nan', severity: 'hard', metric: 'loss', step: 2, value: 'NaN', rule: 'not_finite'},
      {type: 'inf', severity: 'hard', metric: 'loss', step: 6, value: '-Infinity', rule: 'not_finite'},
    ])
    expect(metricHistory(store, 'r1').points.map((p) => p.loss)).toEqual([1, 'NaN', 'NaN', 'Infinity', 1, '-Infinity'])
  })

  it('accepts the bare NaN/Infinity that Python json writes, and counts garbage lines', () => {
    const data = '{"step": 1, "time": 1, "metrics": {"loss": NaN, "kl": -Infinity, "r": 1}}\nnot json\n{"no_step": 1}\n'
    const src = source('metrics.jsonl', 1000)
    store.write(() => ingestMetrics(store, run, Buffer.from(data), null, src))
    expect(src.rejections.count).toBe(2)
    const firstBad = data.indexOf('not json')
    expect(src.rejections.first).toEqual({file: 'metrics.jsonl', offset: 1000 + firstBad, reason: 'not valid JSON', line: 'not json'})
    expect(metricHistory(store, 'r1').points).toEqual([{step: 1, kl: '-Infinity', loss: 'NaN', r: 1}])
  })

  it('rejects every line that breaks the contract, keeps every line that does not, and never throws', () => {
    const good = [line(1, {loss: 1}), line(2, {loss: 0.5}), line(3, {loss: 0.25})]
    const bad = [
      'null', '[]', '42', '"text"', 'true', '{}', '{"step":-5,"metrics":{}}', '{"step":1e300,"metrics":{"a":1}}', '{"step":1.5,"metrics":{}}',
      '{"step":"1","metrics":{}}', '{"step":4,"metrics":null}', '{"step":4,"metrics":[1,2]}', '{"step":4,"metrics":{"a":"fast"}}',
      '{"step":4,"metrics":{"a":{"b":1}}}', '{"step":4,"metrics":{"a":true}}', '{"step":4,"time":"now","metrics":{}}', '{"step":4,"metrics":{"__proto__":1}}',
      '{"step":4,"metrics":{"":1}}', '{"step":4,"me', '\u0000\u0001garbage',
    ]
    const data = [good[0], ...bad.slice(0, 10).map((b) => `${b}\n`), good[1], ...bad.slice(10).map((b) => `${b}\n`), good[2]].join('')
    const src = source()
    const result = store.write(() => ingestMetrics(store, run, Buffer.from(data), null, src))
    expect(src.rejections.count).toBe(bad.length)
    expect(result.consumed).toBe(Buffer.byteLength(data))
    expect(result.lastStep).toBe(3)
    expect(metricHistory(store, 'r1').points).toEqual([{step: 1, loss: 1}, {step: 2, loss: 0.5}, {step: 3, loss: 0.25}])
    expect(src.rejections.first?.reason).toBe('a metrics line must be an object, not null')
  })

  it('rejects a line longer than the limit without parsing it, even before its newline arrives', () => {
    const huge = `{"step":5,"metrics":{"a":"${'x'.repeat(MAX_LINE_BYTES)}"}}`
    const src = source()
    const partial = store.write(() => ingestMetrics(store, run, Buffer.from(huge), null, src))
    expect(partial.consumed).toBe(huge.length)
    expect(src.rejections.count).toBe(1)
    expect(src.rejections.first?.line.length).toBeLessThan(300)
    expect(partial.midLine).toBe(true)
    // The rest of that line arrives with the next sync: skipped, not counted again.
    const rest = store.write(() => ingestMetrics(store, run, Buffer.from(`xxxx"}}\n${line(6, {a: 1})}`), null, {...source(), midLine: true, rejections: src.rejections}))
    expect(src.rejections.count).toBe(1)
    expect(rest).toMatchObject({lastStep: 6, midLine: false})
    const src2 = source()
    const whole = store.write(() => ingestMetrics(store, run, Buffer.from(`${huge}\n${line(7, {a: 1})}`), null, src2))
    expect(src2.rejections.count).toBe(1)
    expect(whole).toMatchObject({lastStep: 7, midLine: false})
  })

  it('validates samples: bad lines skipped, structured prompts kept as JSON', () => {
    const data = [
      JSON.stringify({step: 1, prompt: 'p', completion: 'c', reward: 1}),
      'null',
      JSON.stringify({step: -1, prompt: 'p'}),
      JSON.stringify({step: 2, prompt: [{role: 'user', content: 'hi'}], completion: 'c', reward: 'NaN'}),
      JSON.stringify({step: 3, prompt: 'p', reward: 'high'}),
    ].join('\n') + '\n'
    const src = source('samples.jsonl')
    store.write(() => ingestSamples(store, run, Buffer.from(data), src))
    expect(src.rejections.count).toBe(3)
    expect(store.sqlite.prepare('SELECT step, prompt, completion, reward FROM samples ORDER BY step').all()).toEqual([
      {step: 1, prompt: 'p', completion: 'c', reward: 1},
      {step: 2, prompt: '[{"role":"user","content":"hi"}]', completion: 'c', reward: null},
    ])
  })

  it('keeps samples of any shape: fields besides the convention are stored and returned', () => {
    const data = [
      JSON.stringify({step: 4, input: 'x = 3', prediction: '7', label: '9', correct: false, meta: {len: 5}}),
      '{"step":5,"prompt":"p","__proto__":{"polluted":true}}',
    ].join('\n') + '\n'
    const src = source('samples.jsonl')
    store.write(() => ingestSamples(store, run, Buffer.from(data), src))
    expect(src.rejections.count).toBe(1)
    expect(src.rejections.first?.reason).toContain('__proto__')
    const rows = store.sqlite.prepare('SELECT step, prompt, completion, reward, fields FROM samples').all() as {fields: string}[]
    expect(rows.map((r) => ({...r, fields: JSON.parse(r.fields)}))).toEqual([
      {step: 4, prompt: '', completion: '', reward: null, fields: {input: 'x = 3', prediction: '7', label: '9', correct: false, meta: {len: 5}}},
    ])
    expect(({} as {polluted?: boolean}).polluted).toBeUndefined()
  })

  it('writes cadence-spaced observations with window statistics', () => {
    const data = Array.from({length: 12}, (_, i) => line(i + 1, {reward: (i + 1) * 0.1})).join('')
    store.write(() => ingestMetrics(store, run, Buffer.from(data), null, source()))
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
    const checks = new Map([['checkpoints/step-10', {ok: true as const, path: '/runs/r1/checkpoints/step-10', bytes: 7}]])
    const result = store.write(() => ingestTrainerEvents(store, run, Buffer.from(events), checks, new Date(), source('events.jsonl')))
    expect(result.events.map((e) => e.kind)).toEqual(['checkpoint', 'modify_ack'])
    expect(store.sqlite.prepare('SELECT step, path, bytes FROM checkpoints').all()).toEqual([{step: 10, path: '/runs/r1/checkpoints/step-10', bytes: 123}])
  })

  it('rejects checkpoints the host refused or did not inspect, and malformed events; keeps unknown event types', () => {
    const events = [
      JSON.stringify({type: 'checkpoint', step: 10, path: '/etc'}),
      JSON.stringify({type: 'checkpoint', step: 11, path: 'checkpoints/step-11'}),
      JSON.stringify({type: 'checkpoint', step: -1, path: 'checkpoints/step-11'}),
      JSON.stringify({type: 'control_ack', version: 'two', step: 11}),
      JSON.stringify({type: 'control_ack', version: 2, step: 11, applied: [1]}),
      JSON.stringify({step: 3}),
      'null',
      JSON.stringify({type: 'my_trainer_note', step: 12, text: 'hello'}),
    ].join('\n') + '\n'
    const checks = new Map([['/etc', {ok: false as const, reason: 'it resolves outside the run directory'}]])
    const src = source('events.jsonl')
    const result = store.write(() => ingestTrainerEvents(store, run, Buffer.from(events), checks, new Date(), src))
    expect(src.rejections.count).toBe(7)
    expect(src.rejections.first).toMatchObject({offset: 0, reason: 'checkpoint "/etc": it resolves outside the run directory'})
    expect(store.sqlite.prepare('SELECT count(*) AS n FROM checkpoints').get()).toEqual({n: 0})
    expect(result.events).toEqual([{kind: 'trainer_event', step: 12, data: {type: 'my_trainer_note', step: 12, text: 'hello'}}])
  })

  describe('spikes', () => {
    // Goals as a recipe declares them: a spike is an anomaly only against its metric's goal.
    const wide = {run_id: 'r1', run_dir: '/runs/r1', observation_cadence: 5, trend_window: 20, recipe_spec: JSON.stringify({metrics: {accuracy: {goal: 'max'}, reward: {goal: 'max'}, loss: {goal: 'min'}, kl: {goal: 'min'}}})}
    const spikes = (metric: string, values: number[]) => {
      const data = values.map((v, i) => line(i + 1, {[metric]: v})).join('')
      return store.write(() => ingestMetrics(store, wide, Buffer.from(data), null, source())).events.filter((e) => e.data.type === 'spike')
    }
    // ±1e-4 around a level: a std of 1e-4.
    const jitter = (level: number, n: number) => Array.from({length: n}, (_, i) => level + (i % 2 === 0 ? 1e-4 : -1e-4))

    it('a bounded metric settling (accuracy 0.98 → 0.99 → 1.0, std 1e-4) is not a spike: the spread has a floor of 1% of the level', () => {
      // Each step is ~100 standard deviations of the window, but only 1% of the level.
      expect(spikes('accuracy', [...jitter(0.98, 15), ...jitter(0.99, 4), ...jitter(1, 6)])).toEqual([])
    })

    it('a real blow-up still spikes, once', () => {
      expect(spikes('loss', [...jitter(1, 15), 50, 1]).map((e) => e.data)).toEqual([{
        type: 'spike', severity: 'soft', metric: 'loss', step: 16, value: 50, previous: 1 + 1e-4, goal: 'min', rule: 'spike', threshold: {stds: SPIKE_STDS, floor_relative: 0.01},
      }])
    })

    it('a spike must also stand out from the median by the median absolute deviation: a lone value the std calls a spike in a window of two alternating levels still is one; a settling metric is quiet', () => {
      const twoLevels = Array.from({length: 15}, (_, i) => (i % 2 ? 0.5 : 0.52))
      expect(spikes('loss', [...twoLevels, 0.9]).map((e) => e.step)).toEqual([16])
      expect(spikes('accuracy', [...jitter(0.5, 8), ...jitter(0.51, 8), 0.52])).toEqual([])
    })

    it('a jump in the good direction is no anomaly: reward or accuracy rising sharply, loss falling sharply', () => {
      expect(spikes('reward', [...jitter(0.1, 15), 0.9, 0.95])).toEqual([])
      expect(spikes('accuracy', [...jitter(0.1, 15), 0.6])).toEqual([])
      expect(spikes('loss', [...jitter(5, 15), 0.2])).toEqual([])
    })

    it('no soft anomaly while a modify waits for its ack, nor for a window of steps after its effective step; after that, again', () => {
      const modifyAt = (effectiveStep: number | null) => store.sqlite.prepare("INSERT INTO run_configs (run_id, version, config_id, effective_step, control_version, created_at) VALUES ('r1', 2, 'c', ?, 2, ?)")
        .run(effectiveStep, new Date().toISOString())
      store.sqlite.exec('PRAGMA foreign_keys = OFF')
      modifyAt(null)
      expect(spikes('loss', [...jitter(1, 15), 50])).toEqual([])
      store.sqlite.exec("DELETE FROM run_configs WHERE run_id = 'r1'; DELETE FROM metric_steps")
      modifyAt(10)
      // Step 16 is within trend_window (20) steps of the effective step 10: the modify's doing.
      expect(spikes('loss', [...jitter(1, 15), 50])).toEqual([])
      store.sqlite.exec("DELETE FROM run_configs WHERE run_id = 'r1'; DELETE FROM metric_steps")
      modifyAt(-100)
      expect(spikes('loss', [...jitter(1, 15), 50]).map((e) => e.step)).toEqual([16])
    })

    it('a guard crossed raises one soft anomaly per excursion past its bound; wobbling at the bound is the same excursion', () => {
      const guarded = {...wide, recipe_spec: JSON.stringify({guards: {kl: {max: 1}, entropy: {min: 0.05}}})}
      // kl: out at step 4, wobbling around the bound, back inside for a whole window (20), out again at 30.
      const kl = [0.2, 0.5, 0.9, 1.2, 0.99, 1.01, 1.5, ...Array(22).fill(0.8), 1.1]
      const data = kl.map((v, i) => line(i + 1, {kl: v, entropy: i < 10 ? 1 : 0.01})).join('')
      const events = store.write(() => ingestMetrics(store, guarded, Buffer.from(data), null, source())).events
      expect(events.map((e) => [e.data.type, e.data.severity, e.data.metric, e.step])).toEqual([
        ['guard', 'soft', 'kl', 4], ['guard', 'soft', 'entropy', 11], ['guard', 'soft', 'kl', 30],
      ])
      expect(events[0].data).toMatchObject({value: 1.2, previous: 0.9, rule: 'guard', threshold: {max: 1}})
    })

    it('a metric without a goal raises no spike, however it jumps (learning_rate at a modify, entropy)', () => {
      expect(spikes('learning_rate', [...jitter(1e-5, 15), 0.05])).toEqual([])
      expect(spikes('entropy', [...jitter(2, 15), 0.01])).toEqual([])
    })

    it('a drop of half the level of a settled metric spikes', () => {
      expect(spikes('accuracy', [...jitter(0.98, 15), 0.5]).map((e) => e.step)).toEqual([16])
    })

    it(`a noisy metric spikes beyond ${SPIKE_STDS} of its standard deviations, not within`, () => {
      const alternating = Array.from({length: 15}, (_, i) => i % 2)
      expect(spikes('loss', [...alternating, 0.5 + 0.5 * (SPIKE_STDS - 0.5)])).toEqual([])
      expect(spikes('kl', [...alternating, 0.5 + 0.5 * (SPIKE_STDS + 0.5)]).map((e) => e.step)).toEqual([16])
    })
  })
})
