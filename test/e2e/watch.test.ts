// `watch` as a person uses it: in a real tmux pane (a private tmux server, its socket in the
// sandbox) it shows a toy run training, updates as the run's step grows, redraws on resize, and
// quits on q or Ctrl-C with exit 0, the alternate screen left and the cursor shown again. Piped, it
// prints plain timestamped blocks (no ANSI) until --count; with --json, one envelope. A host that
// cannot be reached is a warning, never the end of the view. Nothing it starts outlives a test.
import {join} from 'node:path'
import Database from 'better-sqlite3'
import {describe, expect, it} from 'vitest'
import {expectError, expectOk, nonSnakeKeys, waitFor} from '../helpers/cli.js'
import {isProcessRunning} from '../helpers/processes.js'
import {type Sandbox, useSandboxes} from '../helpers/sandbox.js'
import {TmuxPane, cliCommandLine, onTerminal} from '../helpers/terminal.js'

const sandbox = useSandboxes()

// eslint-disable-next-line no-control-regex
const ANSI = /\u001B\[|\u009B/

/** The step the pane shows for a running run, or null when it does not show one. */
function shownStep(screen: string, runId: string): number | null {
  const match = new RegExp(`^${runId}\\s+\\S+\\s+running\\s+(\\d+)\\s`, 'm').exec(screen)
  return match ? Number(match[1]) : null
}

/**
 * Run `fn` with a tmux pane running `watch …args` in the sandbox. Every watch process the pane
 * started must be gone at the end, once the tmux server is killed.
 */
async function inTmux(sb: Sandbox, args: string[], size: {width: number; height: number}, fn: (pane: TmuxPane) => Promise<void>): Promise<void> {
  const pane = new TmuxPane(sb.dir, {AUTOLAB_E2E_SANDBOX: sb.dir})
  const pids = new Set<number>()
  try {
    await pane.start(cliCommandLine(['watch', '--store', sb.store, ...args]), {...size, cwd: sb.dir})
    for (const pid of await pane.commandPids()) pids.add(pid)
    await fn(pane)
  } finally {
    await pane.kill()
    await waitFor(() => [...pids].every((pid) => !isProcessRunning(pid)), {timeoutMs: 5000, message: `the watch processes ${[...pids]} to be gone`})
  }
}

/** Wait until the watch process in the pane has ended; its exit status. */
async function watchEnded(pane: TmuxPane): Promise<number> {
  return waitFor(async () => {
    const status = await pane.exitStatus()
    return status === null ? undefined : {status}
  }, {timeoutMs: 10_000, message: 'the watch process to exit'}).then((r) => r.status)
}

describe('watch in a terminal (tmux)', () => {
  it('updates as a run trains and exits cleanly on q', async () => {
    const sb = sandbox()
    const run = await sb.launch({step_time_ms: 100, max_steps: 5000, save_every: 0})
    await inTmux(sb, ['--interval', '1'], {width: 120, height: 40}, async (pane) => {
      const first = await waitFor(async () => shownStep(await pane.capture(), run.run_id), {timeoutMs: 20_000, message: `${run.run_id} shown running with a step`})
      const screen = await pane.capture()
      expect(screen).toContain('autolab watch · campaign default')
      expect(screen).toMatch(/STEPS\/S/)
      expect(screen).toMatch(/reward -?\d\.\d{4}/)
      expect(await pane.state()).toMatchObject({dead: false, alternateScreen: true, cursorVisible: false})
      // The same pane, redrawn in place: the step it shows grows as the run trains.
      const later = await waitFor(async () => {
        const step = shownStep(await pane.capture(), run.run_id)
        return step !== null && step > first ? step : undefined
      }, {timeoutMs: 20_000, message: `the step shown for ${run.run_id} to grow past ${first}`})
      expect(later).toBeGreaterThan(first)
      const watching = await pane.commandPids()
      expect(watching.length).toBeGreaterThan(0)
      await pane.sendKeys('q')
      expect(await watchEnded(pane)).toBe(0)
      expect(watching.every((pid) => !isProcessRunning(pid))).toBe(true)
      expect(await pane.state()).toMatchObject({alternateScreen: false, cursorVisible: true})
      // The normal screen is back, with the one-line summary after it; the frame is gone.
      const after = await pane.capture()
      expect(after).toMatch(/watched campaign default: \d+ refreshes/)
      expect(after).not.toContain('autolab watch ·')
    })
    // The run was only watched: it still trains.
    expect((await sb.show(run.run_id)).status).toBe('running')
  })

  it('redraws to fit when the terminal is resized, and Ctrl-C quits with exit 0', async () => {
    const sb = sandbox()
    const runs: {run_id: string}[] = []
    for (let i = 0; i < 8; i++) runs.push(await sb.launch({step_time_ms: 0, max_steps: 2}))
    for (const r of runs) expect(await sb.waitForExitCode(r.run_id)).toBe(0)
    // An hour between refreshes: only the resize can redraw the screen.
    await inTmux(sb, ['--interval', '3600'], {width: 100, height: 30}, async (pane) => {
      await waitFor(async () => (await pane.capture()).includes(runs[0].run_id), {timeoutMs: 20_000, message: 'the runs shown'})
      expect(await pane.capture()).not.toContain('more runs')
      await pane.resize(100, 10)
      const small = await waitFor(async () => {
        const screen = await pane.capture()
        return /… \d+ more runs/.test(screen) ? screen : undefined
      }, {timeoutMs: 10_000, message: 'the frame redrawn for 10 rows'})
      expect(small.split('\n').filter((l) => l.trim() !== '').length).toBeLessThanOrEqual(10)
      await pane.sendKeys('C-c')
      expect(await watchEnded(pane)).toBe(0)
      expect(await pane.state()).toMatchObject({alternateScreen: false, cursorVisible: true})
    })
  })

  it('refuses an unknown campaign before taking the screen', async () => {
    const sb = sandbox()
    await sb.ok(['runs'])
    const {shown, exitCode} = await onTerminal(['watch', '--campaign', 'nope', '--store', sb.store], {cwd: sb.dir})
    expect(exitCode).toBe(3)
    expect(shown).toContain('Error [CAMPAIGN_NOT_FOUND]')
    expect(shown).not.toContain('\u001B[?1049h')
  })
})

describe('watch without a terminal', () => {
  it('prints a plain timestamped block per refresh, no ANSI, until --count', async () => {
    const sb = sandbox()
    const run = await sb.launch({step_time_ms: 50, max_steps: 5000, save_every: 0})
    await sb.waitForSteps(run.run_id, 2)
    const r = await sb.run(['watch', '--count', '2', '--interval', '1'], {env: {FORCE_COLOR: undefined, NO_COLOR: undefined}})
    expect(r.exitCode, r.stderr).toBe(0)
    expect(ANSI.test(r.stdout), r.stdout).toBe(false)
    const blocks = r.stdout.split('\n').filter((l) => /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] campaign default: /.test(l))
    expect(blocks).toHaveLength(2)
    const steps = [...r.stdout.matchAll(new RegExp(`^  ${run.run_id} running step (\\d+)`, 'gm'))].map((m) => Number(m[1]))
    expect(steps).toHaveLength(2)
    expect(steps[1]).toBeGreaterThan(steps[0])
    expect(r.stdout).toContain('watched campaign default: 2 refreshes')
  })

  it('stops on SIGTERM with exit 0', async () => {
    const sb = sandbox()
    await sb.ok(['runs'])
    const child = sb.spawn(['watch', '--interval', '1'])
    let out = ''
    child.process.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8')
    })
    await waitFor(() => out.includes('campaign default:'), {timeoutMs: 20_000, message: 'the first block'})
    child.process.kill('SIGTERM')
    const r = await child.result
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/watched campaign default: \d+ refresh/)
  })

  it('--json is one envelope holding one snapshot; bad flags and an unknown campaign are refused', async () => {
    const sb = sandbox()
    const run = await sb.launch({step_time_ms: 20, max_steps: 5000, save_every: 0})
    await sb.waitForSteps(run.run_id, 3)
    const data = expectOk(await sb.json(['watch']))
    expect(nonSnakeKeys(data)).toEqual([])
    expect(data).toMatchObject({campaign: {name: 'default', status: 'active'}, run_counts: {running: 1, total: 1}, runs_not_ended: 1, runs_not_shown: 0, refreshes: 1, budget: null, pending_evals: []})
    expect(data.runs[0]).toMatchObject({run_id: run.run_id, status: 'running', host: 'local', primary_metric: 'reward'})
    expect(data.runs[0].step).toBeGreaterThanOrEqual(3)
    expect(data.runs[0].primary_recent.length).toBeGreaterThanOrEqual(3)
    expect(data.runs[0].steps_per_second).toBeGreaterThan(0)
    expect(data.hosts[0]).toMatchObject({host: 'local', gpus_total: expect.any(Number), gpus_used: expect.any(Number)})
    expect(data.recent_events.map((e: any) => e.kind)).toContain('launch')
    expectError(await sb.json(['watch', '--interval', '0']), 'INVALID_ARGUMENT', 2)
    expectError(await sb.json(['watch', '--count', '0']), 'INVALID_ARGUMENT', 2)
    const error = expectError(await sb.json(['watch', '--campaign', 'nope']), 'CAMPAIGN_NOT_FOUND', 3)
    expect(error.suggested_action).toContain('campaign list')
  })

  it('shows a host that cannot be reached as a warning, and goes on', async () => {
    const sb = sandbox()
    await sb.ok(['runs'])
    // A live run on an SSH host nobody listens on (127.0.0.1 port 1: refused at once).
    const db = new Database(sb.store)
    const now = new Date().toISOString()
    db.prepare("INSERT INTO hosts (host_id, kind, address, user, port, root, gpus, created_at) VALUES ('gone', 'ssh', 'root@127.0.0.1:1', NULL, NULL, '/srv/autolab', '[\"0\"]', ?)").run(now)
    const configId = (db.prepare('SELECT config_id FROM configs LIMIT 1').get() as {config_id: string} | undefined)?.config_id
    db.prepare("INSERT OR IGNORE INTO configs (config_id, body, created_at) VALUES ('c0', '{}', ?)").run(now)
    const specId = db.prepare("INSERT INTO recipe_specs (body) VALUES ('{\"command\":\"true\"}')").run().lastInsertRowid
    db.prepare(`INSERT INTO runs (run_id, name, campaign_id, parent_run_id, fork_step, host_id, recipe, spec_id, gpus, config_id, status, pid, exit_code, error, step,
      run_dir, observation_cadence, sample_cadence, trend_window, stall_seconds, control, created_at, started_at, ended_at, synced_at)
      VALUES ('r1', NULL, 'default', NULL, NULL, 'gone', 'toy', ${Number(specId)}, '["0"]', ?, 'running', 4242, NULL, NULL, 10, '/srv/autolab/runs/r1', 10, 50, 20, 60, '{}', ?, ?, NULL, NULL)`)
      .run(configId ?? 'c0', now, now)
    db.close()
    const env = {AUTOLAB_SSH_CONFIG: join(sb.dir, 'no-ssh-config')}
    const data = expectOk(await sb.json(['watch'], {env}))
    expect(data.warnings.join('\n')).toMatch(/host gone: 1 live run\(s\) not synced \(HOST_UNREACHABLE\)/)
    expect(data.runs[0]).toMatchObject({run_id: 'r1', status: 'running', host: 'gone', gpus: ['0']})
    const r = await sb.run(['watch', '--count', '2', '--interval', '1'], {env})
    expect(r.exitCode, r.stderr).toBe(0)
    // In each of the two blocks (the status line after them says it once more).
    expect(r.stdout.match(/^ {2}warning: host gone: .*HOST_UNREACHABLE/gm)).toHaveLength(2)
  })
})
