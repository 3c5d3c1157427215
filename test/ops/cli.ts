// Spawning the built CLI and inspecting processes, for crash and concurrency tests.
import {spawn, spawnSync} from 'node:child_process'
import {readdirSync, readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {afterEach, beforeEach} from 'vitest'
import {createStore, removeDir, tempDir} from '../commands/run-command.js'

const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

export interface CliResult {
  status: number | null
  signal: NodeJS.Signals | null
  json: any
  stderr: string
}

export function cli(args: string[], env: Record<string, string> = {}): CliResult {
  const result = spawnSync(process.execPath, [BIN, ...args, '--json'], {encoding: 'utf8', env: {...process.env, ...env}})
  return {status: result.status, signal: result.signal, json: result.stdout ? JSON.parse(result.stdout) : null, stderr: result.stderr}
}

export function cliAsync(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args, '--json'], {env: {...process.env, ...env}})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('close', (status, signal) => resolve({status, signal, json: stdout ? JSON.parse(stdout) : null, stderr}))
  })
}

/** Every process (wrapper or trainer) whose environment or command line names this run dir. */
export function processesOf(runDir: string): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8')
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8')
      if (cmdline !== '' && (environ.includes(`AUTOLAB_RUN_DIR=${runDir}\0`) || cmdline.includes(`${runDir}/launch.sh`))) pids.push(Number(entry))
    } catch {
      // gone, or not ours to read
    }
  }
  return pids
}

export function killAllUnder(dir: string): void {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const marked = readFileSync(`/proc/${entry}/environ`, 'utf8').includes(`AUTOLAB_RUN_DIR=${dir}`) || readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(dir)
      if (marked) process.kill(Number(entry), 'SIGKILL')
    } catch {
      // gone
    }
  }
}

/**
 * A scratch directory and a store created in it (by `init`) for each test of the calling suite; afterwards, processes of runs
 * the test left behind are killed and the directory removed.
 */
export function useScratchStore(prefix: string): {readonly dir: string; readonly store: string} {
  const scratch = {dir: '', store: ''}
  beforeEach(async () => {
    scratch.dir = tempDir(prefix)
    // Only init creates a store (in-process: milliseconds, not a spawn).
    scratch.store = await createStore(scratch.dir)
  })
  afterEach(() => {
    killAllUnder(scratch.dir)
    removeDir(scratch.dir)
  })
  return scratch
}
