// argv fuzz: thousands of generated command lines, over every command and flag of the manifest,
// each answered with --json. Whatever argv holds — unknown or misordered command words, global
// flags anywhere, hostile values, missing values, duplicated and unknown flags, extra
// arguments — the answer is exactly one JSON envelope, a stable error code (never INTERNAL),
// an exit code of the contract and no stack trace.
//
// The cases run in-process through the built bundle's entry point (test/helpers/in-process.ts):
// spawning node 2,000 times would take minutes. A sample is also spawned through bin/run.js.
// Cases run in batches; each batch has its own directory (the working directory, so relative
// paths in hostile values land there) and a copy of a seeded store holding a finished toy run
// r1 with checkpoints, metrics and samples, so run-taking commands reach their queries.
// Blocking flags (wait/fork/pause/modify --timeout, kill --grace, demo --steps) are bounded;
// runs the cases start are killed through the CLI, and any process left carrying the fuzz
// directory in its environment is killed before the next batch.
import {copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import Database from 'better-sqlite3'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {ERROR_CODES} from '../../src/lib/output/errors.js'
import {type CliResult, REPO_ROOT, runCli, waitFor} from '../helpers/cli.js'
import {runInProcess} from '../helpers/in-process.js'
import {processesWithEnvironMarker} from '../helpers/processes.js'

// Fixed, so every run tries the same cases; FUZZ_SEED and FUZZ_CASES explore further by hand.
const SEED = Number(process.env.FUZZ_SEED ?? 20_260_501)
const CASES = Number(process.env.FUZZ_CASES ?? 2000)
const BATCH = 25
const SPAWNED = 30

// ---- the generator -------------------------------------------------------------------------

/** mulberry32: a small seeded PRNG, so every run of this file tries the same cases. */
function prng(seed: number): () => number {
  let state = seed | 0
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

interface FlagSpec {
  type: 'boolean' | 'option'
  required?: boolean
  multiple?: boolean
  char?: string
  options?: string[]
}
interface CommandSpec {
  args: Record<string, {required?: boolean}>
  flags: Record<string, FlagSpec>
}

const GLOBAL_FLAGS = new Set(['json', 'store', 'project', 'actor', 'debug'])
const NESTED = `${'['.repeat(5000)}${']'.repeat(5000)}`

/** Values that have broken, or could break, a CLI: numbers past every bound, junk, paths, injections. */
const HOSTILE = [
  '99999999999999999999', '9223372036854775808', '18446744073709551616', '-9223372036854775809', '9007199254740992',
  '9007199254740991', '2147483648', '-1', '0', '1', '007', '1e400', '-1e400', '1e-400', 'NaN', 'Infinity', '-0', '0x1F', '1.5', '٣',
  '', ' ', 'x'.repeat(20_000), '🧪 réseau ℝ', 'e\u0301', '\u202Eevil', '\uFEFFbom', '\uD800', '\u0001\u0002\u0003', '\t\n\r', '\u001B[31mred',
  '../../etc/passwd', '..', '.', '$(touch PWNED)', '`touch PWNED`', "'; touch PWNED; '", '{run_dir}', '%s%n', '-', '--', '-x',
  NESTED, '{"a":{"__proto__":{"polluted":1}}}', '__proto__.x=1', 'constructor.prototype.x=1', 'null', 'true', '[]', '{}',
]

/** Plausible values per flag or argument name (the mutations bring in HOSTILE ones). */
function plausible(fixtures: string): Record<string, string[]> {
  const files = ['patch.json', 'deep.json', 'proto.json', 'big.json', 'missing.json', 'list.json'].map((f) => join(fixtures, f))
  return {
    set: ['learning_rate=0.05', 'step_time_ms=1', 'task.modulus=11', 'x=1', 'a.b.c=[1,2]', '__proto__.x=1', 'constructor.prototype.x=1', 'x.prototype=1',
      'x={"__proto__":{"polluted":1}}', `x=${NESTED}`, `${'a.'.repeat(100)}a=1`, 'x=1e400', 'x=', '=1', 'x', 'x=y=z', 'learning_rate=-1', 'learning_rate=1e400'],
    recipe: ['toy', 'toy', 'toy', 'nope'],
    metric: ['reward', 'loss', 'nope'],
    run: ['r1', 'r2', 'r3', 'r999'],
    runs: ['r1', 'r2', 'r1,r2'],
    a: ['r1', 'r2'], b: ['r1', 'r2'],
    campaign: ['default', 'sweep'],
    name: ['default', 'sweep', 'c2', 'lr05'],
    winner: ['r1', 'r999'],
    config_id: ['abcdef', 'abc'],
    for: ['exit', 'anomaly,exit,message', 'step', 'checkpoint', 'nope', ','],
    kind: ['launch', 'kill', 'nope'],
    status: ['running', 'completed', 'nope'],
    host: ['local', 'nope'],
    patch: files, config: files,
    output: ['out.json', 'out/deeper/x.json', 'x'.repeat(300)],
    out: ['report.html', 'out/deeper/x.html', 'x'.repeat(300)],
    width: ['80', '30', '5'], height: ['10', '0'], 'max-points': ['10', '1000'],
    deadline: ['2030-01-01T00:00:00Z', '2000-01-01', 'tomorrow', '-1'],
    'budget-gpu-hours': ['1', '0', '-1', '1e400', 'NaN', '0.5'],
    'low-lr': ['0.00001', '-1', 'NaN'], 'good-lr': ['0.05', '1e400'],
    'idempotency-key': ['k1', 'k2'],
    text: ['lr looks high', 'hello'], reason: ['baseline', 'plateau'], goal: ['reward > 0.7'], criterion: ['reward'], summary: ['done'],
    step: ['0', '1', '5', '20'], from: ['0', '5'], to: ['5', '0'], last: ['1', '3'], limit: ['1', '5'], n: ['1', '3'], window: ['2', '5'],
    since: ['0', '3'], observe: ['1', '5'], sample: ['1', '5'], grace: ['0'], timeout: ['0', '1'], steps: ['10', '2'],
  }
}

const UNKNOWN_WORDS = ['nope', 'lanch', 'CAMPAIGN', 'campaign:nope', 'help', '🧪', '', 'run', 'r1', '../../etc/passwd']

/** One piece of argv that stays together when pieces are shuffled: a word, a flag with its value. */
interface Unit {
  tokens: string[]
  flag?: string
  value?: string
}

/**
 * One case: a plausible command line (command words, its arguments, a few of its flags with
 * plausible values), then zero to three mutations that make it hostile, then the global flags
 * scattered anywhere — before, between and after the command words and other flags.
 */
function generate(rand: () => number, commands: Record<string, CommandSpec>, values: Record<string, string[]>, store: string): {id: string; argv: string[]} {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]
  const chance = (p: number) => rand() < p
  const plausibleValue = (name: string) => pick(values[name] ?? ['abc', 'hello there'])
  const flagUnit = (name: string, spec: FlagSpec, value = plausibleValue(name)): Unit => {
    if (spec.type === 'boolean') return {tokens: [`--${name}`], flag: name}
    const v = spec.options && chance(0.5) ? pick(spec.options) : value
    if (chance(0.15)) return {tokens: [`--${name}=${v}`], flag: name, value: v}
    if (spec.char && chance(0.5)) return {tokens: [`-${spec.char}`, v], flag: name, value: v}
    return {tokens: [`--${name}`, v], flag: name, value: v}
  }

  const id = pick(Object.keys(commands))
  const spec = commands[id]
  let words: string[] = id.split(':')
  const units: Unit[] = []
  for (const [name, arg] of Object.entries(spec.args)) if (arg.required || chance(0.5)) units.push({tokens: [plausibleValue(name)]})
  const own = Object.entries(spec.flags).filter(([name]) => !GLOBAL_FLAGS.has(name))
  for (const [name, flag] of own) if (flag.required) units.push(flagUnit(name, flag))
  for (let n = own.length > 0 ? Math.floor(rand() * 4) : 0; n > 0; n--) {
    const [name, flag] = pick(own)
    if (!units.some((u) => u.flag === name) || flag.multiple) units.push(flagUnit(name, flag))
  }
  const globals: Unit[] = [{tokens: ['--json']}, chance(0.2) ? {tokens: [`--store=${store}`]} : {tokens: ['--store', store]}]

  const mutations: (() => void)[] = [
    // a hostile value for a flag, present or added
    () => {
      const flags = units.filter((u) => u.value !== undefined)
      if (flags.length > 0 && chance(0.6)) {
        const u = pick(flags)
        Object.assign(u, flagUnit(u.flag!, spec.flags[u.flag!], pick(HOSTILE)))
      } else if (own.length > 0) {
        const [name, flag] = pick(own)
        units.push(flagUnit(name, flag, pick(HOSTILE)))
      }
    },
    // a hostile argument, or one too many
    () => {
      const args = units.filter((u) => u.flag === undefined)
      if (args.length > 0 && chance(0.6)) pick(args).tokens = [pick(HOSTILE)]
      else units.push({tokens: [pick(HOSTILE)]})
    },
    // a boolean flag given a value
    () => {
      const booleans = own.filter(([, f]) => f.type === 'boolean')
      if (booleans.length > 0) units.push({tokens: [`--${pick(booleans)[0]}=${pick(HOSTILE)}`]})
    },
    // a duplicated flag or argument
    () => units.length > 0 && units.push({...pick(units)}),
    // an unknown flag
    () => units.push({tokens: [pick(['--nope', '-z', '--nope=1', '--no-json', '--JSON', '--json=false', '---', '--st', '-', '-nope'])]}),
    // a flag missing its value (last, or followed by another flag)
    () => {
      const options = own.filter(([, f]) => f.type === 'option')
      if (options.length > 0) units.push({tokens: [`--${pick(options)[0]}`], flag: 'missing value'})
    },
    // the end of flags, then a hostile word
    () => units.push({tokens: ['--', pick(HOSTILE)]}),
    // command words: none, unknown, reversed, the topic alone, colon form, one word too many
    () => {
      const canonical = id.split(':')
      words = pick([[], [pick(UNKNOWN_WORDS)], [...canonical].reverse(), [canonical[0]], [id], [...canonical, pick(UNKNOWN_WORDS)]])
    },
    // hostile global flag values, a duplicated global flag, --debug
    () => {
      globals[1] = {tokens: ['--store', pick(['.', '..', 'a b.db', '../../etc/passwd', '$(touch PWNED).db', 'dir/', '', 'x'.repeat(300), '\n.db', '-'])]}
    },
    () => globals.push({tokens: ['--actor', pick(HOSTILE)]}),
    () => globals.push({tokens: ['--project', pick([...HOSTILE, ...values.config])]}),
    () => globals.push({...pick(globals)}),
    () => globals.push({tokens: ['--debug']}),
  ]
  for (let k = pick([0, 1, 1, 1, 2, 2, 3]); k > 0; k--) pick(mutations)()

  for (let i = units.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    ;[units[i], units[j]] = [units[j], units[i]]
  }
  tame(id, words, units)
  const all: Unit[] = [...words.map((w) => ({tokens: [w]})), ...units]
  for (const g of globals) all.splice(Math.floor(rand() * (all.length + 1)), 0, g)
  return {id, argv: all.flatMap((u) => u.tokens)}
}

const isInteger = (v: string | undefined) => v !== undefined && /^-?\d+$/.test(v) && Number.isSafeInteger(Number(v))

/**
 * Keep every case short: flags that make a command wait are bounded (added when absent), and
 * demo — which trains two runs to the end — never gets a valid --steps.
 */
function tame(id: string, words: string[], units: Unit[]): void {
  const bound = (flag: string, ok: (v: string) => boolean, fallback: string) => {
    let seen = false
    for (const u of units) {
      if (u.flag !== flag || u.value === undefined) continue
      seen = true
      if (!ok(u.value)) u.tokens = [`--${flag}`, fallback]
    }
    // First, so that no `--` unit can make it an argument.
    if (!seen) units.unshift({tokens: [`--${flag}`, fallback], flag, value: fallback})
  }
  const short = (v: string) => !isInteger(v) || Number(v) <= 1
  if (!words.includes(id.split(':').at(-1)!)) return
  if (id === 'wait') bound('timeout', short, '0')
  if (id === 'fork' || id === 'modify') bound('timeout', short, '1')
  if (id === 'pause') bound('timeout', short, '0')
  if (id === 'kill') bound('grace', short, '0')
  if (id === 'demo') bound('steps', (v) => !isInteger(v) || Number(v) < 10, '9')
}

// ---- the assertions ------------------------------------------------------------------------

const STACK = /^\s+at .+(\(|:\d+)/m
// eslint-disable-next-line no-control-regex
const ANSI = /\u001B\[|\u009B/

/** What is wrong with one answer, or [] when it keeps the contract. */
function violations(r: CliResult): string[] {
  const problems: string[] = []
  const debug = r.args.includes('--debug')
  if (r.json === undefined || r.json === null || typeof r.json !== 'object' || Array.isArray(r.json)) problems.push('stdout is not exactly one JSON object')
  else {
    const doc = r.json
    if (typeof doc.ok !== 'boolean') problems.push('no boolean ok')
    else if (doc.ok) {
      if (!('data' in doc) || typeof doc.status !== 'object') problems.push('success envelope without data or status')
      if (r.exitCode !== 0) problems.push(`ok:true with exit ${r.exitCode}`)
    } else {
      const code = doc.error?.code
      if (!Object.hasOwn(ERROR_CODES, code)) problems.push(`unknown error code ${code}`)
      else if (r.exitCode !== ERROR_CODES[code as keyof typeof ERROR_CODES].exit) problems.push(`exit ${r.exitCode} for ${code}`)
      if (code === 'INTERNAL') problems.push(`INTERNAL: ${doc.error.message}`)
      if (typeof doc.error?.message !== 'string' || typeof doc.error?.retryable !== 'boolean' || typeof doc.error?.suggested_action !== 'string') problems.push('malformed error body')
      if (typeof doc.status !== 'object') problems.push('error envelope without status')
    }
  }
  if (!Number.isInteger(r.exitCode) || r.exitCode < 0 || r.exitCode > 6) problems.push(`exit code ${r.exitCode} outside 0-6`)
  if (ANSI.test(r.stdout)) problems.push('ANSI escape in stdout')
  if (!debug) {
    for (const [name, text] of [['stdout', r.stdout], ['stderr', r.stderr]] as const) {
      if (STACK.test(text) || text.includes('node_modules')) problems.push(`stack trace in ${name}`)
    }
  }
  return problems
}

/** One answer: any broken part of the contract is a failure. */
function check(r: CliResult, failures: string[]): void {
  const problems = violations(r)
  if (problems.length > 0) failures.push(describeCase(r, problems))
}

function describeCase(r: CliResult, problems: string[]): string {
  const shown = r.args.map((a) => (a.length > 80 ? `${a.slice(0, 40)}…(${a.length} chars)` : a))
  return `${problems.join('; ')}\n  argv: ${JSON.stringify(shown)}\n  exit: ${r.exitCode}\n  stdout: ${r.stdout.slice(0, 600)}\n  stderr: ${r.stderr.slice(0, 600)}`
}

// ---- the run -------------------------------------------------------------------------------

const TERMINAL = new Set(['completed', 'failed', 'lost', 'killed'])
const START_COMMANDS = new Set(['launch', 'fork', 'resume', 'demo', 'tick'])

describe('argv fuzz', () => {
  let root: string
  let fixtures: string
  let seedStore: string
  const savedEnv = {...process.env}
  const savedCwd = process.cwd()

  beforeAll(async () => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'autolab-fuzz-')))
    for (const key of Object.keys(process.env)) if (key.startsWith('AUTOLAB_')) delete process.env[key]
    // Every process a case starts inherits this, so leftovers can be found (and killed).
    process.env.AUTOLAB_E2E_SANDBOX = root
    fixtures = join(root, 'fixtures')
    mkdirSync(fixtures)
    writeFileSync(join(fixtures, 'patch.json'), '{"learning_rate": 0.02}')
    writeFileSync(join(fixtures, 'deep.json'), `{"x": ${NESTED}}`)
    writeFileSync(join(fixtures, 'proto.json'), '{"x": {"__proto__": {"polluted": 1}}}')
    writeFileSync(join(fixtures, 'list.json'), '[1, 2]')
    writeFileSync(join(fixtures, 'big.json'), `{"x": "${'y'.repeat(1_100_000)}"}`)
    // The seeded store: one finished toy run with checkpoints, metrics and samples, and a campaign.
    const seedDir = join(root, 'seed')
    mkdirSync(seedDir)
    seedStore = join(seedDir, 'autolab.db')
    process.chdir(seedDir)
    expect((await runInProcess(['init', '--no-project', '--json', '--store', seedStore])).json?.ok).toBe(true)
    const launched = await runInProcess(['launch', '--recipe', 'toy', '--set', 'max_steps=30', '--set', 'save_every=10', '--set', 'step_time_ms=0', '--name', 'lr05', '--json', '--store', seedStore])
    expect(launched.json?.ok, launched.stdout).toBe(true)
    await waitFor(async () => (await runInProcess(['show', 'r1', '--json', '--store', seedStore])).json?.data?.run?.status === 'completed', {timeoutMs: 30_000, message: 'the seed run to complete'})
    expect((await runInProcess(['campaign', 'create', 'sweep', '--goal', 'g', '--json', '--store', seedStore])).json?.ok).toBe(true)
    expect((await runInProcess(['campaign', 'use', 'default', '--json', '--store', seedStore])).json?.ok).toBe(true)
    expect(existsSync(`${seedStore}-wal`) && readFileSync(`${seedStore}-wal`).length > 0, 'the seed store is checkpointed').toBe(false)
  })

  afterAll(() => {
    process.chdir(savedCwd)
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key]
    Object.assign(process.env, savedEnv)
    killLeftovers(root)
    rmSync(root, {recursive: true, force: true, maxRetries: 5, retryDelay: 50})
  })

  /**
   * A batch directory with a copy of the seeded store; returns [dir, store]. The copy's local
   * host is re-rooted there (a store records its work root when created), so the runs a batch
   * starts live in its own directory; r1's files stay in the seed's, shared and only read.
   */
  function batchDir(name: string): [string, string] {
    const dir = join(root, 'batches', name, 'cwd')
    mkdirSync(dir, {recursive: true})
    const store = join(dir, 'autolab.db')
    copyFileSync(seedStore, store)
    const db = new Database(store)
    db.prepare("UPDATE hosts SET root = ? WHERE host_id = 'local'").run(dir)
    db.close()
    return [dir, store]
  }

  /** Kill the live runs of a store through the CLI, as an agent would. */
  async function killRuns(store: string): Promise<void> {
    const listed = await runInProcess(['runs', '--json', '--store', store])
    const live = (listed.json?.data?.runs ?? []).filter((run: {status: string}) => !TERMINAL.has(run.status))
    for (const run of live) await runInProcess(['kill', run.run_id, '--grace', '0', '--reason', 'fuzz cleanup', '--json', '--store', store])
  }

  it(`${CASES} generated command lines, in-process: one envelope each, never INTERNAL, no stack trace`, async () => {
    const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, CommandSpec>}
    expect(Object.keys(manifest.commands).length).toBeGreaterThan(25)
    const values = plausible(fixtures)
    const rand = prng(SEED)
    const failures: string[] = []
    const seen = {commands: new Map<string, number>(), codes: new Map<string, number>()}
    const started = performance.now()
    for (let b = 0; b * BATCH < CASES; b++) {
      const [dir, store] = batchDir(`b${b}`)
      process.chdir(dir)
      for (let i = 0; i < BATCH && b * BATCH + i < CASES; i++) {
        const {id, argv} = generate(rand, manifest.commands, values, store)
        seen.commands.set(id, (seen.commands.get(id) ?? 0) + 1)
        const r = await runInProcess(argv)
        check(r, failures)
        const code = r.json?.ok ? 'ok' : String(r.json?.error?.code)
        seen.codes.set(code, (seen.codes.get(code) ?? 0) + 1)
        // Runs the cases start are killed before they pile up (two processes a run: wrapper and
        // trainer), and all of them at the batch's end.
        if (START_COMMANDS.has(id.split(':')[0]) && processesWithEnvironMarker(dir).length > 4) await killRuns(store)
      }
      await killRuns(store)
      killLeftovers(dir)
    }
    const seconds = (performance.now() - started) / 1000
    // Visible in the test output: how much was tried and what came back.
    console.info(`argv fuzz: ${CASES} cases in ${seconds.toFixed(1)} s; answers: ${JSON.stringify(Object.fromEntries([...seen.codes].sort()))}`)
    expect(failures, `${failures.length} of ${CASES} cases broke the contract:\n${failures.slice(0, 30).join('\n')}`).toEqual([])
    // The generator reached the whole CLI, successes and many kinds of errors.
    expect(seen.codes.get('ok') ?? 0).toBeGreaterThan(100)
    expect(seen.codes.get('INVALID_ARGUMENT') ?? 0).toBeGreaterThan(100)
    expect(seen.codes.get('UNKNOWN_COMMAND') ?? 0).toBeGreaterThan(20)
    expect(seen.codes.size).toBeGreaterThan(6)
    for (const id of Object.keys(manifest.commands)) expect(seen.commands.get(id) ?? 0, `cases of ${id}`).toBeGreaterThan(20)
    // Nothing hostile took effect: no prototype was polluted, no injected command ran.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(({} as Record<string, unknown>).x).toBeUndefined()
    expect(findFiles(root, 'PWNED')).toEqual([])
  }, 240_000)

  it(`${SPAWNED} of the same command lines through bin/run.js: the real process keeps the contract too`, async () => {
    const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, CommandSpec>}
    const values = plausible(fixtures)
    const rand = prng(SEED + 1)
    const [dir, store] = batchDir('spawned')
    // Real processes have a limit on one argument (128 KiB on Linux): keep within it.
    const cases = Array.from({length: SPAWNED}, () => generate(rand, manifest.commands, values, store).argv.map((a) => (a.length > 100_000 ? a.slice(0, 100_000) : a)))
    const failures: string[] = []
    for (let i = 0; i < cases.length; i += 3) {
      const results = await Promise.all(cases.slice(i, i + 3).map((args) => runCli(args, {cwd: dir, env: {AUTOLAB_E2E_SANDBOX: root}, timeoutMs: 30_000})))
      for (const r of results) {
        if (process.env.FUZZ_VERBOSE) console.info(`${r.durationMs.toFixed(0)} ms ${r.exitCode} ${JSON.stringify(r.args).slice(0, 200)}`)
        check(r, failures)
      }
    }
    await killRuns(store)
    killLeftovers(dir)
    expect(failures, failures.join('\n')).toEqual([])
  }, 120_000)
})

/** SIGKILL whatever still carries `dir` in its environment (runs started in stores no case names). */
function killLeftovers(dir: string): void {
  for (const pid of processesWithEnvironMarker(dir)) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
}

function findFiles(dir: string, name: string): string[] {
  const found: string[] = []
  for (const entry of readdirSync(dir, {withFileTypes: true})) {
    const path = join(dir, entry.name)
    if (entry.name === name) found.push(path)
    if (entry.isDirectory() && !entry.isSymbolicLink()) found.push(...findFiles(path, name))
  }
  return found
}
