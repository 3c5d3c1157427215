// Spawning the built CLI (`node bin/run.js …`) and checking its output contract. These helpers
// know nothing about how autolab is implemented: they speak only the documented contract.
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {performance} from 'node:perf_hooks'
import {fileURLToPath} from 'node:url'
import {execa, type ResultPromise} from 'execa'
import {expect} from 'vitest'

/**
 * The package under test: this checkout, or AUTOLAB_E2E_ROOT (a built copy or an installed
 * package, e.g. a snapshot of dist/ to test while the checkout is being rebuilt).
 */
export const REPO_ROOT = process.env.AUTOLAB_E2E_ROOT
  ? resolve(process.env.AUTOLAB_E2E_ROOT)
  : resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const BIN = join(REPO_ROOT, 'bin', 'run.js')

/** The bundle bin/run.js loads: dist/cli.js, or whatever dist/cli.* file it names (e.g. cli.cjs). */
export function bundlePath(): string {
  let named = 'cli.js'
  try {
    named = /dist\/(cli\.[cm]?js)/.exec(readFileSync(BIN, 'utf8'))?.[1] ?? named
  } catch {
    // no bin/run.js: report the conventional path
  }
  return join(REPO_ROOT, 'dist', named)
}

/** Fail loudly (once, clearly) when the CLI has not been built: `npm test` builds first. */
export function assertBuilt(): void {
  const bundle = bundlePath()
  if (!existsSync(bundle)) {
    throw new Error(`The CLI is not built: ${bundle} (loaded by bin/run.js) is missing. Run \`npm run build\` (or \`npm test\`, which builds first).`)
  }
}

export interface CliResult {
  args: string[]
  exitCode: number
  stdout: string
  stderr: string
  /** stdout parsed as JSON, or undefined when it is not exactly one JSON document. */
  json: any
  durationMs: number
}

export interface CliOptions {
  cwd: string
  /** Added to the environment (after every inherited AUTOLAB_* variable is removed). */
  env?: Record<string, string | undefined>
  timeoutMs?: number
}

/**
 * Start `node bin/run.js …args` without waiting: `process` is the child (for signals), `result`
 * resolves to the captured CliResult. Never rejects on a non-zero exit.
 */
export function spawnCli(args: string[], {cwd, env = {}, timeoutMs = 30_000}: CliOptions): {process: ResultPromise; result: Promise<CliResult>} {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AUTOLAB_')))
  const started = performance.now()
  const child = execa(process.execPath, [BIN, ...args], {
    cwd,
    env: {...base, ...env},
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    timeout: timeoutMs,
    stripFinalNewline: false,
  })
  const result = child.then((r) => {
    const durationMs = performance.now() - started
    if (r.timedOut) throw new Error(`autolab ${args.join(' ')} timed out after ${timeoutMs} ms\nstderr: ${r.stderr}`)
    let json: unknown
    try {
      json = JSON.parse(String(r.stdout))
    } catch {
      json = undefined
    }
    return {args, exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), json, durationMs}
  })
  return {process: child, result}
}

/**
 * Create a store the documented way, `autolab init --no-project --store <store> --json`: no other
 * command creates one. Synchronous (one spawn), so that helpers which hand out a ready store stay so.
 */
export function createStore(store: string, {cwd = dirname(store), env = {}}: Partial<CliOptions> = {}): void {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AUTOLAB_')))
  const r = spawnSync(process.execPath, [BIN, 'init', '--no-project', '--store', store, '--json'], {cwd, env: {...base, ...env}, encoding: 'utf8', timeout: 30_000})
  if (r.status !== 0) throw new Error(`autolab init --store ${store} failed (exit ${r.status}):\n${r.stdout}${r.stderr}`)
}

/** Run `node bin/run.js …args` and capture everything. Never throws on a non-zero exit. */
export function runCli(args: string[], options: CliOptions): Promise<CliResult> {
  return spawnCli(args, options).result
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001B\[|\u009B/
const STACK_LINE = /^ {4}at /m

/** Asserts stdout is exactly one JSON document (the whole of stdout parses) with no ANSI escapes. */
export function expectOneJsonDocument(r: CliResult): any {
  const where = `autolab ${r.args.join(' ')} (exit ${r.exitCode})\nstdout: ${r.stdout}\nstderr: ${r.stderr}`
  expect(ANSI.test(r.stdout), `ANSI escape in stdout of ${where}`).toBe(false)
  expect(r.stdout.trim().length, `empty stdout: ${where}`).toBeGreaterThan(0)
  let doc: unknown
  expect(() => {
    doc = JSON.parse(r.stdout)
  }, `stdout is not exactly one JSON document: ${where}`).not.toThrow()
  expect(doc !== null && typeof doc === 'object' && !Array.isArray(doc), `stdout JSON is not an object: ${where}`).toBe(true)
  return doc
}

/** No stack trace lines ("    at …") anywhere in stdout or stderr. */
export function expectNoStackTrace(r: CliResult): void {
  expect(STACK_LINE.test(r.stdout), `stack trace in stdout of autolab ${r.args.join(' ')}:\n${r.stdout}`).toBe(false)
  expect(STACK_LINE.test(r.stderr), `stack trace in stderr of autolab ${r.args.join(' ')}:\n${r.stderr}`).toBe(false)
}

const SNAKE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/

/** Every object key, at any depth, is snake_case. Returns the offending paths (for messages). */
export function nonSnakeKeys(value: unknown, path = '$'): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => nonSnakeKeys(v, `${path}[${i}]`))
  if (value === null || typeof value !== 'object') return []
  return Object.entries(value).flatMap(([k, v]) => [...(SNAKE.test(k) ? [] : [`${path}.${k}`]), ...nonSnakeKeys(v, `${path}.${k}`)])
}

/** The status bar every envelope carries. */
export function expectStatusBar(status: any): void {
  expect(status, 'status bar').toBeTypeOf('object')
  expect(status.runs).toBeTypeOf('object')
  for (const key of ['running', 'queued', 'paused']) expect(status.runs[key], `status.runs.${key}`).toBeTypeOf('number')
  for (const v of Object.values(status.runs)) expect(Number.isInteger(v) && (v as number) >= 0).toBe(true)
  expect(status.gpus).toEqual({free: expect.any(Number), total: expect.any(Number)})
  expect(Array.isArray(status.warnings), 'status.warnings is an array').toBe(true)
  expect(status.staleness).toBeTypeOf('object')
  expect(status.staleness).not.toBeNull()
  for (const [host, v] of Object.entries(status.staleness)) {
    expect(v === null || (typeof v === 'number' && v >= 0), `staleness.${host} = ${String(v)}`).toBe(true)
  }
}

/** A success envelope: exit 0, one JSON document, {ok: true, data, status}. Returns data. */
export function expectOk(r: CliResult): any {
  const doc = expectOneJsonDocument(r)
  expectNoStackTrace(r)
  expect(doc.ok, `expected ok:true from autolab ${r.args.join(' ')}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(true)
  expect(r.exitCode, `exit code of autolab ${r.args.join(' ')}; stderr: ${r.stderr}`).toBe(0)
  expect(Object.keys(doc).sort()).toEqual(['data', 'ok', 'status'])
  expectStatusBar(doc.status)
  return doc.data
}

/** A failure envelope with the given error code and exit class. Returns the error object. */
export function expectError(r: CliResult, code: string, exitCode: number): any {
  const doc = expectOneJsonDocument(r)
  expectNoStackTrace(r)
  const where = `autolab ${r.args.join(' ')}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`
  expect(doc.ok, where).toBe(false)
  expect(Object.keys(doc).sort(), where).toEqual(['error', 'ok', 'status'])
  expect(doc.error, where).toMatchObject({
    code: expect.any(String),
    message: expect.any(String),
    retryable: expect.any(Boolean),
    suggested_action: expect.any(String),
  })
  expect(doc.error.code, where).toBe(code)
  expect(doc.error.message.length).toBeGreaterThan(0)
  expect(r.exitCode, where).toBe(exitCode)
  expectStatusBar(doc.status)
  return doc.error
}

export interface WaitOptions {
  timeoutMs?: number
  intervalMs?: number
  /** What was awaited, for the timeout message. */
  message?: string
}

/**
 * Poll `fn` until it returns a truthy value (returned) or the bound passes (throws, with the last
 * value or error seen). Never a fixed sleep: the tests wait on conditions.
 */
export async function waitFor<T>(fn: () => T | Promise<T>, {timeoutMs = 15_000, intervalMs = 100, message = 'condition'}: WaitOptions = {}): Promise<NonNullable<T>> {
  const deadline = performance.now() + timeoutMs
  let last: unknown
  let lastError: unknown
  for (;;) {
    try {
      const value = await fn()
      last = value
      lastError = undefined
      if (value) return value as NonNullable<T>
    } catch (error) {
      lastError = error
    }
    if (performance.now() >= deadline) {
      const detail = lastError ? `last error: ${(lastError as Error).message ?? String(lastError)}` : `last value: ${JSON.stringify(last)}`
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${message}; ${detail}`)
    }
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}
