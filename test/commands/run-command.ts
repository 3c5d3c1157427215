// Running a command class in-process, as oclif would, capturing its one JSON document.
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import Init from '../../src/commands/init.js'
import {recipeSpecId} from '../../src/lib/runs/queries.js'
import {type Store, openStore} from '../../src/lib/store/open.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

export interface CommandOutput<T = any> {
  exitCode: number
  stdout: string
  json: {ok: boolean; data: T; error: {code: string; message: string; retryable: boolean; suggested_action: string; details?: any}; status: any}
}

type Runnable = {run(argv: string[], root: string): Promise<unknown>}

export async function runCommand<T = any>(command: Runnable, argv: string[]): Promise<CommandOutput<T>> {
  const chunks: string[] = []
  const write = process.stdout.write
  process.stdout.write = ((chunk: string | Uint8Array) => {
    chunks.push(String(chunk))
    return true
  }) as typeof process.stdout.write
  process.exitCode = undefined
  try {
    await command.run([...argv, '--json'], ROOT)
  } finally {
    process.stdout.write = write
  }
  const exitCode = Number(process.exitCode ?? 0)
  process.exitCode = undefined
  const stdout = chunks.join('')
  return {exitCode, stdout, json: JSON.parse(stdout)}
}

export function tempDir(prefix = 'autolab-cmd-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

/** A store at <dir>/autolab.db, created the only way there is: `init` (here with --no-project). */
export async function createStore(dir: string): Promise<string> {
  const store = join(dir, 'autolab.db')
  const init = await runCommand(Init, ['--no-project', '--store', store])
  if (!init.json.ok) throw new Error(`init --store ${store} failed: ${init.stdout}`)
  return store
}

export function removeDir(dir: string): void {
  // A killed wrapper may still be writing its exit_code: retry.
  rmSync(dir, {recursive: true, force: true, maxRetries: 5, retryDelay: 50})
}

export async function waitFor<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Alive with the run's marker: the wrapper's command line names the run directory. */
export function wrapperAlive(pid: number, runDir: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`${runDir}/launch.sh`)
  } catch {
    return false
  }
}

/** The error `fn` throws (the test fails when it throws none). */
export function errorOf(fn: () => unknown): {code: string; message: string; details?: Record<string, unknown>} {
  try {
    fn()
  } catch (error) {
    return error as {code: string; message: string; details?: Record<string, unknown>}
  }
  throw new Error('expected an error')
}

export interface BareRun {
  run_id: string
  parent_run_id?: string | null
  fork_step?: number | null
  recipe?: string
  status?: string
}

/**
 * Runs written straight into the store (no trainer, no run directory), in order (seq 1, 2, …),
 * sharing one recipe spec: for reads of many runs (pages, trees). `extra` writes more rows in the
 * same transaction.
 */
export async function insertBareRuns(storePath: string, runs: readonly BareRun[], spec: Record<string, unknown> = {command: 'true'}, extra?: (store: Store) => void): Promise<void> {
  const store = await openStore(storePath)
  try {
    store.write(() => {
      store.sqlite.prepare("INSERT OR IGNORE INTO configs VALUES ('c', '{}', 'now')").run()
      const specId = recipeSpecId(store, JSON.stringify(spec))
      const insert = store.sqlite.prepare(`INSERT INTO runs (seq, run_id, campaign_id, parent_run_id, fork_step, host_id, recipe, spec_id, config_id, status, run_dir,
        observation_cadence, sample_cadence, control, trend_window, stall_seconds, created_at)
        VALUES (?, ?, 'default', ?, ?, 'local', ?, ?, 'c', ?, '/nowhere', 10, 50, '{}', 20, 60, 'now')`)
      runs.forEach((run, i) => insert.run(i + 1, run.run_id, run.parent_run_id ?? null, run.fork_step ?? null, run.recipe ?? 'toy', specId, run.status ?? 'completed'))
      extra?.(store)
    })
  } finally {
    store.close()
  }
}
