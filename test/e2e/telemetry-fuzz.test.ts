// Telemetry fuzz: while a real toy run trains, a seeded generator appends to its three JSONL
// files everything a broken or hostile trainer could — random bytes, null, JSON of the wrong
// shape, impossible steps, huge lines, half lines, checkpoint events pointing anywhere — mixed
// with valid marker lines. After every round, every command still answers ok; at the end the run
// is still killable, every line that is valid in the final files was kept, and no checkpoint
// outside the run dir was accepted (nor any outside file's mode changed).
import {appendFileSync, chmodSync, mkdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {expectOk} from '../helpers/cli.js'
import {processesWithEnvironMarker} from '../helpers/processes.js'
import {useSandboxes} from '../helpers/sandbox.js'

const sandbox = useSandboxes()

/** mulberry32: a tiny seeded PRNG, so a failure replays exactly. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

const MARKER_BASE = 10_000_000
const isStep = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0

/** The contract, restated independently of the implementation: is this metrics line valid? */
function validMetricLine(line: string): {step: number; metrics: Record<string, unknown>} | null {
  let r: any
  try {
    r = JSON.parse(line)
  } catch {
    return null
  }
  if (r === null || typeof r !== 'object' || Array.isArray(r) || !isStep(r.step)) return null
  if (r.time !== undefined && !(typeof r.time === 'number' && r.time >= 0)) return null
  if (r.metrics === null || typeof r.metrics !== 'object' || Array.isArray(r.metrics)) return null
  for (const v of Object.values(r.metrics)) if (!(typeof v === 'number' || v === null || ['NaN', 'Infinity', '-Infinity', 'inf', '-inf'].includes(v as string))) return null
  return r
}

describe('telemetry fuzz', () => {
  it('garbage, null, huge and half lines and hostile checkpoint events while a run trains: every command answers, every valid line is kept', async () => {
    const sb = sandbox()
    const random = prng(20261127)
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]
    const outside = join(sb.dir, 'outside')
    mkdirSync(outside)
    writeFileSync(join(outside, 'weights.bin'), 'precious')
    chmodSync(join(outside, 'weights.bin'), 0o644)

    const {run_id: id} = await sb.launch({max_steps: 100_000, step_time_ms: 15, save_every: 10})
    await sb.waitForSteps(id, 3)
    const dir = sb.runDir(id)
    const files = {metrics: join(dir, 'metrics.jsonl'), samples: join(dir, 'samples.jsonl'), events: join(dir, 'events.jsonl')}

    const randomBytes = () => Buffer.from(Array.from({length: 1 + Math.floor(random() * 200)}, () => Math.floor(random() * 256)).filter((b) => b !== 0x0a)).toString('latin1')
    const hostilePaths = ['/', '/etc', outside, '../../..', 'checkpoints/../../../..', 'checkpoints/step-999999', '', 'x'.repeat(5000), '\u0000', `${dir}/../..`]
    const junk = (): string => pick([
      () => 'null', () => '[]', () => '"x"', () => '1e999', () => '{}', () => randomBytes(),
      () => JSON.stringify({step: pick([-5, 1e300, 1.5, '3', null, Number.MAX_SAFE_INTEGER + 2]), metrics: {reward: 1}}),
      () => JSON.stringify({step: 3, metrics: pick([null, [1], {a: 'fast'}, {a: {b: 1}}, {a: true}, 'x'])}),
      () => JSON.stringify({step: 3, metrics: {a: 1}, time: pick(['now', -1, null])}),
      () => `{"step": ${Math.floor(random() * 100)}, "metrics": {"a": `, // a half line, completed by whatever comes next
      () => `{"step":1,"metrics":{"a":"${'y'.repeat(2 << 20)}"}}`, // 2 MiB
      () => JSON.stringify({type: 'checkpoint', step: pick([5, -1, 1e300, '7']), path: pick(hostilePaths)}),
      () => JSON.stringify({type: 'control_ack', version: pick(['1', -1, null]), step: 4}),
      () => JSON.stringify({type: pick([null, 7, '', {}]), step: 2}),
    ])()

    const injected = {metrics: [] as number[], samples: [] as string[], notes: [] as number[]}
    let marker = 0
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 40; i++) {
        const file = pick(['metrics', 'samples', 'events'] as const)
        if (random() < 0.35) {
          marker++
          // Always start a valid line on a fresh line: a half line written before it must not swallow it.
          if (file === 'metrics') {
            appendFileSync(files.metrics, `\n${JSON.stringify({step: MARKER_BASE + marker, time: 1, metrics: {fuzz: marker}})}\n`)
            injected.metrics.push(marker)
          } else if (file === 'samples') {
            appendFileSync(files.samples, `\n${JSON.stringify({step: 1, prompt: `fuzz-${marker}`, completion: 'c', reward: 0})}\n`)
            injected.samples.push(`fuzz-${marker}`)
          } else {
            appendFileSync(files.events, `\n${JSON.stringify({type: 'fuzz_note', n: marker})}\n`)
            injected.notes.push(marker)
          }
        } else {
          const text = junk()
          appendFileSync(files[file], text.endsWith(': ') ? text : `${text}\n`)
        }
      }
      const answers = await Promise.all([['runs'], ['show', id], ['status'], ['log', '--run', id], ['history', id, '--metric', 'fuzz'], ['samples', id], ['tick'], ['doctor'], ['export'], ['tree']].map((args) => sb.json(args)))
      for (const answer of answers) expectOk(answer)
    }
    for (const list of Object.values(injected)) expect(list.length, 'the generator injected marker lines of each kind').toBeGreaterThan(5)
    // Terminate any half line, so the last valid lines are complete.
    for (const file of Object.values(files)) appendFileSync(file, '\n')
    const before = await sb.show(id)
    expect(before.status).toBe('running')
    expect((await sb.ok(['kill', id, '--grace', '0'])).status).toBe('killed')
    expect(processesWithEnvironMarker(sb.dir)).toEqual([])

    // Every marker line that is still valid in the final file (a half line may have swallowed
    // none: each starts on a fresh line) was kept.
    const finalLines = readFileSync(files.metrics, 'utf8').split('\n')
    const validMarkers = finalLines.map(validMetricLine).filter((r) => r && r.step >= MARKER_BASE).map((r) => r!.metrics.fuzz)
    expect(validMarkers).toEqual(injected.metrics)
    const fuzz = (await sb.ok(['history', id, '--metric', 'fuzz'])).points.map((p: any) => p.fuzz)
    expect(fuzz).toEqual(injected.metrics)
    // The trainer's own valid lines were all kept too.
    const trainerSteps = new Set(finalLines.map(validMetricLine).filter((r) => r && r.step < MARKER_BASE && 'reward' in r.metrics).map((r) => r!.step))
    const stored = new Set((await sb.ok(['history', id, '--metric', 'reward'])).points.map((p: any) => p.step))
    expect([...trainerSteps].filter((s) => !stored.has(s))).toEqual([])
    const prompts = (await sb.ok(['samples', id, '-n', '100000'])).samples.map((s: any) => s.prompt).filter((p: string) => p.startsWith('fuzz-'))
    expect(prompts.sort()).toEqual([...injected.samples].sort())
    const notes = (await sb.ok(['log', '--run', id, '--kind', 'trainer_event', '--limit', '100000'])).events.map((e: any) => e.args?.n).filter((n: unknown) => n !== undefined)
    expect(notes.sort((a: number, b: number) => a - b)).toEqual(injected.notes)

    const run = await sb.show(id)
    expect(run.telemetry_rejected.total).toBeGreaterThan(50)
    for (const checkpoint of run.checkpoints) expect(checkpoint.path.startsWith(`${dir}/`), checkpoint.path).toBe(true)
    expect(statSync(join(outside, 'weights.bin')).mode & 0o777).toBe(0o644)
  })
})
