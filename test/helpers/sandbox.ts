// One temporary directory per test: the cwd of every CLI call, the home of its store
// (<dir>/autolab.db, so runs live in <dir>/runs/), and a marker in the environment of every
// process the test starts (AUTOLAB_E2E_SANDBOX=<dir>, inherited by the wrapper and trainer).
// After each test every run it launched is killed through the CLI (`kill <id> --grace 0`), then,
// as a last resort, any process still carrying the marker is SIGKILLed — and reported, because a
// process surviving `kill` is a bug. Nothing may outlive the suite.
import {existsSync, mkdtempSync, readFileSync, realpathSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, afterEach, expect} from 'vitest'
import {assertBuilt, type CliResult, createStore, expectOk, spawnCli, waitFor} from './cli.js'
import {describeProcess, processesWithEnvironMarker} from './processes.js'

export const TERMINAL_STATUSES = new Set(['completed', 'failed', 'lost', 'killed'])

export interface RunOptions {
  env?: Record<string, string | undefined>
  /**
   * Pass --store <dir>/autolab.db (default true). The store is created with `init` before the
   * first command that passes it (unless that command is init itself): no other command creates one.
   */
  store?: boolean
  cwd?: string
  timeoutMs?: number
}

export interface Sandbox {
  dir: string
  store: string
  /** Set once a command that starts runs was issued: cleanup then lists and kills runs. */
  mayHaveRuns: boolean
  /** The run directory of a run, per the contract: <store dir>/runs/<run id>. */
  runDir(runId: string): string
  /** `autolab …args --store <store>` in the sandbox. */
  run(args: string[], options?: RunOptions): Promise<CliResult>
  /** Start `autolab …args --store <store>` without waiting for it. */
  spawn(args: string[], options?: RunOptions): ReturnType<typeof spawnCli>
  /** The same with --json. */
  json(args: string[], options?: RunOptions): Promise<CliResult>
  /** --json, asserting a success envelope; returns data. */
  ok(args: string[], options?: RunOptions): Promise<any>
  /** `launch --recipe toy --set k=v …` with --json, asserting success; returns data. */
  launch(config: Record<string, unknown>, extra?: string[], options?: RunOptions): Promise<any>
  /** `show <run> --json` → data.run */
  show(runId: string): Promise<any>
  /** `runs --json` → data.runs */
  runs(extra?: string[]): Promise<any[]>
  /**
   * Wait (cheaply, on the file) until the trainer has logged `steps` metric lines. The CLI is
   * not involved: use it to let a run make progress before asking the CLI about it.
   */
  waitForSteps(runId: string, steps: number, timeoutMs?: number): Promise<void>
  /** Wait (on the file) until the launch wrapper has written the run's exit_code. */
  waitForExitCode(runId: string, timeoutMs?: number): Promise<number>
}

/** `--set` arguments for a config object: strings as-is, everything else as JSON. */
export function setArgs(config: Record<string, unknown>): string[] {
  return Object.entries(config).flatMap(([k, v]) => ['--set', `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`])
}

function createSandbox(): Sandbox {
  // realpath: the store's directory is what autolab reports, so compare like with like.
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'autolab-e2e-')))
  const store = join(dir, 'autolab.db')
  // Once: a test that deletes the store later must see what autolab says about that.
  let storeCreated = false
  const sb: Sandbox = {
    dir,
    store,
    mayHaveRuns: false,
    runDir: (runId) => join(dir, 'runs', runId),
    spawn(args, {env = {}, store: withStore = true, cwd = dir, timeoutMs} = {}) {
      if (args[0] === 'launch' || args[0] === 'demo') sb.mayHaveRuns = true
      if (withStore && !storeCreated) {
        storeCreated = true
        if (args[0] !== 'init') createStore(store, {cwd, env: {AUTOLAB_E2E_SANDBOX: dir}})
      }
      return spawnCli(withStore ? [...args, '--store', store] : args, {cwd, timeoutMs, env: {AUTOLAB_E2E_SANDBOX: dir, ...env}})
    },
    run: (args, options) => sb.spawn(args, options).result,
    json: (args, options) => sb.run([...args, '--json'], options),
    ok: async (args, options) => expectOk(await sb.json(args, options)),
    launch: (config, extra = [], options) => sb.ok(['launch', '--recipe', 'toy', ...setArgs(config), ...extra], options),
    show: async (runId) => (await sb.ok(['show', runId])).run,
    runs: async (extra = []) => (await sb.ok(['runs', ...extra])).runs,
    async waitForSteps(runId, steps, timeoutMs = 20_000) {
      const file = join(sb.runDir(runId), 'metrics.jsonl')
      await waitFor(() => existsSync(file) && readFileSync(file, 'utf8').split('\n').filter(Boolean).length >= steps,
        {timeoutMs, intervalMs: 20, message: `${steps} metric lines in ${file}`})
    },
    async waitForExitCode(runId, timeoutMs = 20_000) {
      const file = join(sb.runDir(runId), 'exit_code')
      const text = await waitFor(() => existsSync(file) && readFileSync(file, 'utf8').trim(), {timeoutMs, intervalMs: 20, message: `${file}`})
      return Number(text)
    },
  }
  return sb
}

/** Kill what the sandbox started; returns a description of anything that had to be force-killed. */
async function cleanupSandbox(sb: Sandbox): Promise<string[]> {
  const problems: string[] = []
  // Runs are listed and killed through the CLI when any process of the sandbox is still alive
  // (runs that completed, failed or were killed by the test leave nothing to do).
  if (sb.mayHaveRuns && existsSync(sb.store) && processesWithEnvironMarker(sb.dir).length > 0) {
    const listed = await sb.json(['runs'])
    if (listed.json?.ok) {
      const live = (listed.json.data.runs as any[]).filter((r) => !TERMINAL_STATUSES.has(r.status))
      const kills = await Promise.all(live.map((r) => sb.json(['kill', r.run_id, '--grace', '0', '--reason', 'e2e cleanup'])))
      for (const k of kills) if (!k.json?.ok) problems.push(`cleanup kill failed: ${k.stdout || k.stderr}`)
    } else {
      problems.push(`cleanup could not list runs: ${listed.stdout || listed.stderr}`)
    }
  }
  // Last resort: whatever still carries the sandbox in its environment.
  const leftovers = processesWithEnvironMarker(sb.dir)
  if (leftovers.length > 0) {
    problems.push(`processes left running after cleanup kills: ${leftovers.map(describeProcess).join('; ')}`)
    for (const pid of leftovers) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
    await waitFor(() => processesWithEnvironMarker(sb.dir).length === 0, {timeoutMs: 5000, message: `processes of ${sb.dir} to die`})
  }
  if (!process.env.AUTOLAB_E2E_KEEP) rmSync(sb.dir, {recursive: true, force: true})
  return problems
}

/**
 * Register per-test cleanup and return a factory of sandboxes. Call at the top of a test file.
 * Also asserts the CLI is built, before any test runs.
 */
export function useSandboxes(): () => Sandbox {
  assertBuilt()
  let current: Sandbox[] = []
  const all: string[] = []
  afterEach(async () => {
    const sandboxes = current
    current = []
    const problems = (await Promise.all(sandboxes.map(cleanupSandbox))).flat()
    expect(problems, 'cleanup found problems').toEqual([])
  })
  afterAll(() => {
    const survivors = all.flatMap((dir) => processesWithEnvironMarker(dir))
    for (const pid of survivors) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
    expect(survivors.map(describeProcess), 'processes outlived the test file').toEqual([])
  })
  return () => {
    const sb = createSandbox()
    current.push(sb)
    all.push(sb.dir)
    return sb
  }
}
