/**
 * The toy trainer's eval suite (`heldout`): how well a checkpoint answers prompts of a fixed
 * held-out split, greedily (the argmax answer, no sampling) unless the settings give a
 * temperature. Training reward is the mean reward of answers *sampled* at the training
 * temperature over random prompts, so the two can honestly disagree: a policy can already put
 * the most mass on the right answer (greedy accuracy 1) while its samples still miss often.
 *
 *   node eval.js --checkpoint DIR --n N --out result.json --examples-out examples.jsonl --settings settings.json
 *
 * settings.json (optional keys): {"split": "heldout" | "all", "temperature": T, "seed": S}.
 * Writes result.json `{"score", "metrics": {…}, "breakdown": {…}}` (atomically: temp + rename,
 * last) and one `{"prompt", "output", "expected", "correct", "a", "b"}` line per example.
 * Exits 2 on bad arguments, 1 when the checkpoint cannot be read.
 */
import {readFileSync, renameSync, writeFileSync} from 'node:fs'
import {readState} from './checkpoint.js'
import {argmax, sampleIndex, softmax} from './policy.js'
import {Rng, seedWord} from './rng.js'

interface Settings {
  split: 'heldout' | 'all'
  /** Sample at this temperature instead of answering greedily. */
  temperature: number | null
  seed: number
}

/** The held-out split: a fixed fifth of the m² prompts, chosen by a hash of the pair. */
export function inHeldout(a: number, b: number): boolean {
  return seedWord(a * 7919 + b, 17) % 5 === 0
}

function parseArgs(argv: string[]): Record<string, string> {
  const args: Record<string, string> = {}
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]
    const value = argv[i + 1]
    if (!key?.startsWith('--') || value === undefined) throw new Error(`expected --name value pairs, got ${JSON.stringify(argv.slice(i))}`)
    args[key.slice(2)] = value
  }
  for (const required of ['checkpoint', 'out']) if (!(required in args)) throw new Error(`--${required} is required`)
  return args
}

function readSettings(path: string | undefined): Settings {
  const raw = path ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : {}
  const split = raw.split ?? 'heldout'
  if (split !== 'heldout' && split !== 'all') throw new Error(`settings.split must be "heldout" or "all", got ${JSON.stringify(split)}`)
  const temperature = raw.temperature ?? null
  if (temperature !== null && (typeof temperature !== 'number' || !(temperature > 0))) throw new Error('settings.temperature must be a positive number')
  const seed = raw.seed ?? 0
  if (typeof seed !== 'number' || !Number.isInteger(seed)) throw new Error('settings.seed must be an integer')
  return {split, temperature, seed}
}

export function main(argv: string[]): number {
  let args: Record<string, string>
  let settings: Settings
  try {
    args = parseArgs(argv)
    settings = readSettings(args.settings)
  } catch (error) {
    process.stderr.write(`toy-rl eval: ${(error as Error).message}\n`)
    return 2
  }
  const n = args.n === undefined ? Number.POSITIVE_INFINITY : Number(args.n)
  if (!(n > 0)) {
    process.stderr.write(`toy-rl eval: --n must be a positive number, got ${args.n}\n`)
    return 2
  }
  let state
  try {
    state = readState(args.checkpoint)
  } catch (error) {
    process.stderr.write(`toy-rl eval: ${(error as Error).message}\n`)
    return 1
  }
  const m = state.modulus
  const prompts: [number, number][] = []
  for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) if (settings.split === 'all' || inHeldout(a, b)) prompts.push([a, b])
  const chosen = prompts.slice(0, Math.min(prompts.length, n))
  const rng = new Rng(settings.seed)
  const q = new Float64Array(m)
  const lines: string[] = []
  let correct = 0
  const byRow: Record<string, {n: number; correct: number}> = {}
  for (const [a, b] of chosen) {
    const off = (a * m + b) * m
    let output: number
    if (settings.temperature === null) output = argmax(state.params, off, m)
    else {
      softmax(state.params, off, m, settings.temperature, q)
      output = sampleIndex(q, rng.float())
    }
    const expected = (a + b) % m
    const ok = output === expected
    if (ok) correct++
    const row = (byRow[`a=${a}`] ??= {n: 0, correct: 0})
    row.n++
    if (ok) row.correct++
    lines.push(JSON.stringify({prompt: `${a} + ${b} mod ${m}`, output: String(output), expected: String(expected), correct: ok, a, b}))
  }
  const accuracy = chosen.length === 0 ? 0 : correct / chosen.length
  const result = {
    score: accuracy,
    metrics: {accuracy, n: chosen.length, chance: 1 / m, step: state.step},
    breakdown: Object.fromEntries(Object.entries(byRow).map(([key, r]) => [key, r.correct / r.n])),
  }
  if (args['examples-out']) writeFileSync(args['examples-out'], lines.length ? `${lines.join('\n')}\n` : '')
  // result.json last, whole: its presence means the eval finished.
  writeFileSync(`${args.out}.tmp`, `${JSON.stringify(result)}\n`)
  renameSync(`${args.out}.tmp`, args.out)
  return 0
}

if (process.argv[1] && /eval\.[cm]?js$/.test(process.argv[1])) process.exitCode = main(process.argv.slice(2))
