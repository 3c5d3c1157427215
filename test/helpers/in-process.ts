// Running the built CLI in this process, from a raw argv: the bundle's own `execute` (what
// bin/run.js calls), so argv goes through the same global-flag hoisting, oclif command
// resolution and hooks as in a real process, at a few milliseconds instead of ~150 ms a spawn.
// Output is captured; process.exit (oclif's last-resort error handler) is recorded, not obeyed.
import {createRequire} from 'node:module'
import {performance} from 'node:perf_hooks'
import {assertBuilt, bundlePath, type CliResult, REPO_ROOT} from './cli.js'

interface Bundle {
  execute(options: {args: string[]; loadOptions: {root: string; userPlugins: boolean; devPlugins: boolean}}): Promise<unknown>
}

let bundle: Bundle | undefined

function loadBundle(): Bundle {
  assertBuilt()
  bundle ??= createRequire(import.meta.url)(bundlePath()) as Bundle
  return bundle
}

/**
 * `autolab …args` in-process, in the current working directory and environment. Never throws:
 * an exception escaping the CLI is reported the way a crashing process would show it (its stack
 * on stderr, exit 1), for the caller's assertions to catch.
 */
export async function runInProcess(args: string[]): Promise<CliResult> {
  const cli = loadBundle()
  const stdout: string[] = []
  const stderr: string[] = []
  const capture = (into: string[]) => ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    into.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'))
    const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined
    callback?.()
    return true
  }) as typeof process.stdout.write
  const saved = {
    out: process.stdout.write, err: process.stderr.write, exit: process.exit,
    log: console.log, error: console.error, warn: console.warn, info: console.info,
    drain: new Set(process.stdout.listeners('drain')),
  }
  let exited: number | undefined
  process.stdout.write = capture(stdout)
  process.stderr.write = capture(stderr)
  // vitest replaces console with its own: route it to the captured streams, as in a process.
  console.log = console.info = (...a: unknown[]) => void stdout.push(`${a.map(String).join(' ')}\n`)
  console.error = console.warn = (...a: unknown[]) => void stderr.push(`${a.map(String).join(' ')}\n`)
  process.exit = ((code?: number) => {
    exited ??= Number(code ?? 0)
  }) as typeof process.exit
  process.exitCode = undefined
  const started = performance.now()
  try {
    await cli.execute({args, loadOptions: {root: REPO_ROOT, userPlugins: false, devPlugins: false}})
  } catch (error) {
    stderr.push(`${(error as Error)?.stack ?? String(error)}\n`)
    exited ??= 1
  } finally {
    Object.assign(process.stdout, {write: saved.out})
    Object.assign(process.stderr, {write: saved.err})
    Object.assign(console, {log: saved.log, error: saved.error, warn: saved.warn, info: saved.info})
    process.exit = saved.exit
    // oclif's flush() waits for a 'drain' that a captured write never emits: drop its listener.
    for (const listener of process.stdout.listeners('drain')) {
      if (!saved.drain.has(listener)) process.stdout.removeListener('drain', listener as () => void)
    }
  }
  const exitCode = exited ?? Number(process.exitCode ?? 0)
  process.exitCode = undefined
  const out = stdout.join('')
  let json: unknown
  try {
    json = JSON.parse(out)
  } catch {
    json = undefined
  }
  return {args, exitCode, stdout: out, stderr: stderr.join(''), json, durationMs: performance.now() - started}
}
