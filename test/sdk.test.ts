import {existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {
  applyOverrides,
  checkpointStep,
  decodeNumber,
  encodeNumber,
  getDotted,
  parseControl,
  setDotted,
  TrainerRun,
  type ControlFile,
} from '../src/sdk/index.js'

let dir: string
let seq = 0

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'autolab-sdk-'))
})
afterEach(() => {
  rmSync(dir, {recursive: true, force: true})
})

/** Write control.json the way autolab does: temp file + rename. */
function writeControl(c: Partial<ControlFile> & {version: number}): void {
  const full: ControlFile = {state: 'run', overrides: {}, save_at: [], save_now: 0, observation_cadence: 10, sample_cadence: 50, ...c}
  const tmp = join(dir, `.control.json.tmp-${seq++}`)
  writeFileSync(tmp, JSON.stringify(full))
  renameSync(tmp, join(dir, 'control.json'))
}

function lines(file: string): Record<string, unknown>[] {
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {AUTOLAB_RUN_DIR: dir, AUTOLAB_RUN_ID: 'r1', AUTOLAB_CONFIG: join(dir, 'config.json'), AUTOLAB_CONTROL: join(dir, 'control.json'), ...extra}
}

describe('TrainerRun.fromEnv', () => {
  it('throws a clear error without AUTOLAB_RUN_DIR', () => {
    expect(() => TrainerRun.fromEnv({})).toThrow(/AUTOLAB_RUN_DIR/)
  })

  it('reads id, config and resume path from the environment', () => {
    writeFileSync(join(dir, 'config.json'), JSON.stringify({learning_rate: 0.1, task: {modulus: 5}}))
    const run = TrainerRun.fromEnv(env({AUTOLAB_RESUME_FROM: ''}))
    expect(run.runId).toBe('r1')
    expect(run.runDir).toBe(dir)
    expect(run.config).toEqual({learning_rate: 0.1, task: {modulus: 5}})
    expect(run.resumeFrom).toBeNull()
    const resumed = TrainerRun.fromEnv(env({AUTOLAB_RESUME_FROM: '/x/checkpoints/step-40'}))
    expect(resumed.resumeFrom).toBe('/x/checkpoints/step-40')
    expect(checkpointStep(resumed.resumeFrom!)).toBe(40)
  })

  it('reports an unreadable config clearly', () => {
    writeFileSync(join(dir, 'config.json'), '{not json')
    expect(() => TrainerRun.fromEnv(env())).toThrow(/cannot read run config/)
    writeFileSync(join(dir, 'config.json'), '[1,2]')
    expect(() => TrainerRun.fromEnv(env())).toThrow(/not a JSON object/)
  })
})

describe('log / sample / events', () => {
  it('writes one complete JSON line per call and encodes non-finite numbers as strings', () => {
    const run = new TrainerRun({runDir: dir, config: {}})
    run.log(1, {loss: 0.5, kl: Number.NaN, a: Number.POSITIVE_INFINITY, b: Number.NEGATIVE_INFINITY})
    run.log(2, {loss: 0.25})
    run.sample(2, {prompt: 'p', completion: 'c', reward: 1})
    const text = readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    expect(text.endsWith('\n')).toBe(true)
    const ms = lines(join(dir, 'metrics.jsonl'))
    expect(ms).toHaveLength(2)
    expect(ms[0]).toMatchObject({step: 1, metrics: {loss: 0.5, kl: 'NaN', a: 'Infinity', b: '-Infinity'}})
    expect(typeof ms[0]!.time).toBe('number')
    expect(Math.abs((ms[0]!.time as number) - Date.now() / 1000)).toBeLessThan(60)
    expect(lines(join(dir, 'samples.jsonl'))).toEqual([{step: 2, prompt: 'p', completion: 'c', reward: 1}])
    expect(decodeNumber('NaN')).toBeNaN()
    expect(decodeNumber('-Infinity')).toBe(Number.NEGATIVE_INFINITY)
    expect(decodeNumber(3)).toBe(3)
    expect(decodeNumber('x')).toBeNull()
    expect(encodeNumber(Number.POSITIVE_INFINITY)).toBe('Infinity')
  })
})

describe('saveCheckpoint', () => {
  it('writes into a temp dir, renames, and only then appends the checkpoint event', () => {
    const run = new TrainerRun({runDir: dir, config: {}})
    const events = join(dir, 'events.jsonl')
    let tmpSeen = ''
    const final = run.saveCheckpoint(20, (tmp) => {
      tmpSeen = tmp
      expect(tmp).toBe(join(dir, 'checkpoints', `.tmp-step-20-${process.pid}`))
      expect(readdirSync(tmp)).toEqual([])
      // While the trainer writes, the checkpoint is neither visible nor announced.
      expect(existsSync(join(dir, 'checkpoints', 'step-20'))).toBe(false)
      expect(lines(events)).toEqual([])
      writeFileSync(join(tmp, 'weights.bin'), 'w')
    })
    expect(final).toBe(join(dir, 'checkpoints', 'step-20'))
    expect(readFileSync(join(final, 'weights.bin'), 'utf8')).toBe('w')
    expect(existsSync(tmpSeen)).toBe(false)
    expect(readdirSync(join(dir, 'checkpoints'))).toEqual(['step-20'])
    expect(lines(events)).toEqual([{type: 'checkpoint', step: 20, path: 'checkpoints/step-20'}])
    expect(run.hasCheckpoint(20)).toBe(true)
  })

  it('leaves no trace when the writer throws', () => {
    const run = new TrainerRun({runDir: dir, config: {}})
    expect(() =>
      run.saveCheckpoint(7, (tmp) => {
        writeFileSync(join(tmp, 'half'), 'x')
        throw new Error('disk full')
      }),
    ).toThrow('disk full')
    expect(readdirSync(join(dir, 'checkpoints'))).toEqual([])
    expect(lines(join(dir, 'events.jsonl'))).toEqual([])
  })

  it('never rewrites an existing checkpoint, and announces one left unannounced by a crash', () => {
    const run = new TrainerRun({runDir: dir, config: {}})
    run.saveCheckpoint(5, (tmp) => writeFileSync(join(tmp, 'v'), '1'))
    let called = false
    run.saveCheckpoint(5, () => {
      called = true
    })
    expect(called).toBe(false)
    expect(lines(join(dir, 'events.jsonl'))).toHaveLength(1)
    // A previous process renamed step-9 into place but died before its event.
    const other = new TrainerRun({runDir: dir, config: {}})
    other.saveCheckpoint(9, (tmp) => writeFileSync(join(tmp, 'v'), '9'))
    writeFileSync(join(dir, 'events.jsonl'), readFileSync(join(dir, 'events.jsonl'), 'utf8').split('\n').slice(0, 1).join('\n') + '\n')
    const fresh = new TrainerRun({runDir: dir, config: {}})
    fresh.saveCheckpoint(9, () => {
      throw new Error('must not be called')
    })
    fresh.saveCheckpoint(5, () => {
      throw new Error('must not be called')
    })
    expect(lines(join(dir, 'events.jsonl')).map((e) => e.step)).toEqual([5, 9])
  })

  it('supports asynchronous writers', async () => {
    const run = new TrainerRun({runDir: dir, config: {}})
    const final = await run.saveCheckpointAsync(3, async (tmp) => {
      await new Promise((r) => setImmediate(r))
      writeFileSync(join(tmp, 'a'), 'a')
    })
    expect(readdirSync(final)).toEqual(['a'])
    expect(lines(join(dir, 'events.jsonl'))).toEqual([{type: 'checkpoint', step: 3, path: 'checkpoints/step-3'}])
  })
})

describe('poll', () => {
  it('uses defaults without control.json', () => {
    const run = new TrainerRun({runDir: dir, config: {}})
    expect(run.poll(0)).toEqual({state: 'run', version: 0, overrides: null, saveNow: false})
    expect(run.shouldSample(50)).toBe(true)
    expect(run.shouldSample(49)).toBe(false)
  })

  it('detects a changed control.json and returns its overrides exactly once', () => {
    writeControl({version: 1})
    const run = new TrainerRun({runDir: dir, config: {}})
    expect(run.poll(1)).toEqual({state: 'run', version: 1, overrides: null, saveNow: false})
    writeControl({version: 2, overrides: {learning_rate: 2e-6}})
    utimesSync(join(dir, 'control.json'), 1000, 1000)
    expect(run.poll(2)).toEqual({state: 'run', version: 2, overrides: {learning_rate: 2e-6}, saveNow: false})
    expect(run.poll(3).overrides).toBeNull()
    expect(run.poll(4).overrides).toBeNull()
    run.acknowledge(2, 3, {learning_rate: 2e-6})
    // Same size, same mtime: still detected (a rename gives a new inode / ctime).
    writeControl({version: 3, overrides: {learning_rate: 3e-6}})
    utimesSync(join(dir, 'control.json'), 1000, 1000)
    const u = run.poll(5)
    expect(u.version).toBe(3)
    expect(u.overrides).toEqual({learning_rate: 3e-6})
    expect(run.poll(6).overrides).toBeNull()
    // A new version repeating an already returned value brings nothing new; only changed keys come back.
    writeControl({version: 4, state: 'pause', overrides: {learning_rate: 3e-6}})
    expect(run.poll(7)).toEqual({state: 'pause', version: 4, overrides: null, saveNow: false})
    writeControl({version: 5, overrides: {learning_rate: 3e-6, beta: 0.2}})
    expect(run.poll(7).overrides).toEqual({beta: 0.2})
    // A fresh process (a resumed trainer) gets every override of the file once.
    const fresh = new TrainerRun({runDir: dir, config: {}})
    expect(fresh.poll(7).overrides).toEqual({learning_rate: 3e-6, beta: 0.2})
    expect(fresh.poll(8).overrides).toBeNull()
    writeControl({version: 6, state: 'stop', overrides: {}})
    expect(run.poll(8)).toEqual({state: 'stop', version: 6, overrides: null, saveNow: false})
    expect(lines(join(dir, 'events.jsonl'))).toEqual([{type: 'control_ack', version: 2, step: 3, applied: {learning_rate: 2e-6}}])
  })

  it('readControl looks without consuming overrides', () => {
    const run = new TrainerRun({runDir: dir, config: {}})
    writeControl({version: 2, state: 'pause', overrides: {beta: 1}})
    expect(run.readControl()).toMatchObject({version: 2, state: 'pause', overrides: {beta: 1}})
    expect(run.poll(3)).toEqual({state: 'pause', version: 2, overrides: {beta: 1}, saveNow: false})
  })

  it('keeps the last good control when the file is torn, and re-reads once it is fixed', () => {
    writeControl({version: 1, sample_cadence: 5})
    const run = new TrainerRun({runDir: dir, config: {}})
    expect(run.poll(0).version).toBe(1)
    writeFileSync(join(dir, 'control.json'), '{"version": 2, "state": "st')
    expect(run.poll(1)).toMatchObject({version: 1, state: 'run'})
    writeControl({version: 3, state: 'stop'})
    expect(run.poll(2)).toMatchObject({version: 3, state: 'stop'})
  })

  it('asks for save_at checkpoints once, and follows the sample cadence', () => {
    writeControl({version: 1, save_at: [10, 20], sample_cadence: 4})
    const run = new TrainerRun({runDir: dir, config: {}})
    expect(run.poll(9).saveNow).toBe(false)
    expect(run.poll(10).saveNow).toBe(true)
    run.saveCheckpoint(10, () => {})
    expect(run.poll(10).saveNow).toBe(false)
    expect(run.poll(20).saveNow).toBe(true)
    expect(run.shouldSample(8)).toBe(true)
    expect(run.shouldSample(10)).toBe(false)
    writeControl({version: 2, sample_cadence: 0})
    run.poll(21)
    expect(run.shouldSample(0)).toBe(false)
  })

  it('writes rejected keys in the ack only when there are some', () => {
    const run = new TrainerRun({runDir: dir, config: {}})
    run.acknowledge(3, 11, {beta: 0.1}, {'task.modulus': 'not hot'})
    run.acknowledge(4, 12, {beta: 0.2}, {})
    expect(lines(join(dir, 'events.jsonl'))).toEqual([
      {type: 'control_ack', version: 3, step: 11, applied: {beta: 0.1}, rejected: {'task.modulus': 'not hot'}},
      {type: 'control_ack', version: 4, step: 12, applied: {beta: 0.2}},
    ])
  })
})

describe('tick', () => {
  it('runs a whole contract-abiding loop: overrides, save_at, pause', () => {
    writeControl({version: 1, save_at: [2]})
    const run = new TrainerRun({runDir: dir, config: {}})
    let lr = 0.1
    const hooks = {
      save: (d: string) => writeFileSync(join(d, 'lr'), String(lr)),
      apply: (o: Record<string, unknown>) => {
        const applied: Record<string, unknown> = {}
        const rejected: Record<string, string> = {}
        for (const [k, v] of Object.entries(o)) {
          if (k === 'learning_rate' && typeof v === 'number') applied[k] = lr = v
          else rejected[k] = 'not hot'
        }
        return {applied, rejected}
      },
    }
    const logged: [number, number][] = []
    let step = 0
    while (run.tick(step, hooks) && step < 100) {
      step++
      logged.push([step, lr])
      if (step === 3) writeControl({version: 2, save_at: [2], overrides: {learning_rate: 0.5, depth: 3}})
      if (step === 5) writeControl({version: 3, save_at: [2], state: 'pause', overrides: {learning_rate: 0.5, depth: 3}})
    }
    expect(step).toBe(5)
    expect(logged).toEqual([[1, 0.1], [2, 0.1], [3, 0.1], [4, 0.5], [5, 0.5]])
    expect(lines(join(dir, 'events.jsonl'))).toEqual([
      {type: 'checkpoint', step: 2, path: 'checkpoints/step-2'},
      {type: 'control_ack', version: 2, step: 4, applied: {learning_rate: 0.5}, rejected: {depth: 'not hot'}},
      {type: 'checkpoint', step: 5, path: 'checkpoints/step-5'},
      {type: 'paused', step: 5},
    ])
    expect(readFileSync(join(dir, 'checkpoints', 'step-5', 'lr'), 'utf8')).toBe('0.5')
  })

  it('returns false on stop without a checkpoint, and rejects overrides without an apply hook', () => {
    writeControl({version: 7, state: 'stop', overrides: {x: 1}})
    const run = new TrainerRun({runDir: dir, config: {}})
    expect(run.tick(12, {save: () => {}})).toBe(false)
    expect(lines(join(dir, 'events.jsonl'))).toEqual([
      {type: 'control_ack', version: 7, step: 13, applied: {}, rejected: {x: expect.any(String)}},
    ])
  })
})

describe('helpers', () => {
  it('gets and sets dotted keys', () => {
    const o: Record<string, unknown> = {optimizer: {lr: 1}, x: 3}
    expect(getDotted(o, 'optimizer.lr')).toBe(1)
    expect(getDotted(o, 'optimizer.nope')).toBeUndefined()
    expect(getDotted(o, 'x.y')).toBeUndefined()
    setDotted(o, 'optimizer.lr', 2)
    setDotted(o, 'a.b.c', true)
    expect(o).toEqual({optimizer: {lr: 2}, x: 3, a: {b: {c: true}}})
    const merged = applyOverrides(o, {'optimizer.lr': 5, x: 4})
    expect(merged).toEqual({optimizer: {lr: 5}, x: 4, a: {b: {c: true}}})
    expect(o.x).toBe(3)
  })

  it('parses control files leniently', () => {
    expect(parseControl('{"version":4,"state":"pause"}')).toEqual({
      version: 4,
      state: 'pause',
      overrides: {},
      save_at: [],
      save_now: 0,
      observation_cadence: 10,
      sample_cadence: 50,
    })
    expect(parseControl('{"save_now":3}').save_now).toBe(3)
    expect(() => parseControl('[]')).toThrow()
    expect(checkpointStep('/a/checkpoints/step-12/')).toBe(12)
    expect(checkpointStep('/a/checkpoints/latest')).toBeNull()
  })
})
