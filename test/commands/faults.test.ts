// Crash recovery: the CLI is killed (SIGKILL, no cleanup) at each step of each journalled
// operation; the next command, whatever it is, must leave no process, no stray directory and no
// run stuck in a non-terminal state.
import {spawnSync} from 'node:child_process'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {removeDir, tempDir, waitFor} from './run-command.js'

const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

function cli(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [BIN, ...args, '--json'], {encoding: 'utf8', env: {...process.env, ...env}})
  return {status: result.status, signal: result.signal, json: result.stdout ? JSON.parse(result.stdout) : null}
}

/** Any process (wrapper or trainer) whose environment or command line names this run dir. */
function processesOf(runDir: string): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8')
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8')
      if (environ.includes(`AUTOLAB_RUN_DIR=${runDir}\0`) || cmdline.includes(`${runDir}/launch.sh`)) pids.push(Number(entry))
    } catch {
      // gone, or not ours to read
    }
  }
  return pids
}

describe('fault injection', () => {
  let dir: string
  let store: string
  beforeEach(() => {
    dir = tempDir('autolab-fault-')
    store = join(dir, 'autolab.db')
  })
  afterEach(() => {
    for (const pid of processesOf(join(dir, 'runs', 'r1'))) process.kill(pid, 'SIGKILL')
    removeDir(dir)
  })

  it.each(['reserve', 'spawn'])('launch killed after %s: the next command rolls it back completely', async (step) => {
    const crashed = cli(['launch', '--recipe', 'toy', '--set', 'step_time_ms=20', '--store', store], {AUTOLAB_FAULT: `launch:${step}`})
    expect(crashed.signal).toBe('SIGKILL')
    expect(crashed.json).toBeNull() // died before answering
    const runDir = join(dir, 'runs', 'r1')
    const next = cli(['runs', '--store', store])
    expect(next.status).toBe(0)
    expect(next.json.data.runs).toEqual([expect.objectContaining({run_id: 'r1', status: 'failed'})])
    expect(next.json.data.runs[0].error).toContain('rolled back')
    expect(next.json.status.warnings.join(' ')).toContain('rolled back an interrupted launch')
    expect(existsSync(runDir)).toBe(false)
    await waitFor(() => processesOf(runDir).length === 0, 'no process of the run')
    // The journal is closed: a second command has nothing left to do.
    expect(cli(['status', '--store', store]).json.status.warnings).toEqual([])
  })

  it.each(['mark-killing', 'stopped'])('kill killed after %s: the next command finishes the kill', async (step) => {
    const launched = cli(['launch', '--recipe', 'toy', '--set', 'step_time_ms=20', '--store', store])
    expect(launched.status).toBe(0)
    const {run_id: runId, run_dir: runDir} = launched.json.data
    const crashed = cli(['kill', runId, '--grace', '2', '--store', store], {AUTOLAB_FAULT: `kill:${step}`})
    expect(crashed.signal).toBe('SIGKILL')
    const next = cli(['show', runId, '--store', store])
    expect(next.json.data.run.status).toBe('killed')
    await waitFor(() => processesOf(runDir).length === 0, 'no process of the run')
    expect(cli(['kill', runId, '--store', store]).json.data).toMatchObject({status: 'killed', changed: false})
  })
})
