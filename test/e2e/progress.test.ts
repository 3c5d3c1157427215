// Progress for people on long work: a line on stderr, rewritten in place, only when stderr is a
// terminal (a pty from script(1)) and never with --json — where stdout stays exactly one JSON
// document and no progress text appears anywhere. An agent's stderr (a pipe) never gets any.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {useSandboxes} from '../helpers/sandbox.js'
import {onTerminal} from '../helpers/terminal.js'

const sandbox = useSandboxes()

const WAITING = 'waiting for anomaly, exit, message'

describe('progress on a terminal', () => {
  it('wait shows how long it has waited, on stderr, and erases the line before the answer', async () => {
    const sb = sandbox()
    await sb.ok(['runs'])
    const out = join(sb.dir, 'stdout.txt')
    // stdout to a file: what the terminal shows is stderr alone.
    const onStderr = await onTerminal(['wait', '--timeout', '2', '--store', sb.store], {cwd: sb.dir, stdoutFile: out})
    expect(onStderr.exitCode).toBe(0)
    expect(onStderr.shown).toContain(`\r${WAITING}… 0s of 2s\u001B[K`)
    expect(onStderr.shown).toMatch(/waiting for anomaly, exit, message… 1s of 2s/)
    const stdout = readFileSync(out, 'utf8')
    expect(stdout).toContain('timed out; nothing happened')
    expect(stdout).not.toContain('waiting for')
    // Both on the terminal: the line is erased, then the answer is written where it was.
    const both = await onTerminal(['wait', '--timeout', '1', '--store', sb.store], {cwd: sb.dir})
    expect(both.shown).toContain(WAITING)
    expect(both.shown).toMatch(/\r\u001B\[K(\u001B\[[0-9;]*m)*timed out; nothing happened/)
  })

  it('with --json there is none: stdout is exactly one JSON document, on a terminal too', async () => {
    const sb = sandbox()
    await sb.ok(['runs'])
    const all = await onTerminal(['wait', '--timeout', '1', '--json', '--store', sb.store], {cwd: sb.dir})
    expect(all.exitCode).toBe(0)
    expect(all.shown).not.toContain('waiting for')
    expect(all.shown).not.toContain('\u001B')
    expect(JSON.parse(all.shown)).toMatchObject({ok: true, data: {woken_by: 'timer'}})
    const out = join(sb.dir, 'stdout.json')
    const onStderr = await onTerminal(['wait', '--timeout', '1', '--json', '--store', sb.store], {cwd: sb.dir, stdoutFile: out})
    expect(onStderr.shown).toBe('')
    const stdout = readFileSync(out, 'utf8')
    expect(stdout.endsWith('}\n')).toBe(true)
    expect(JSON.parse(stdout)).toMatchObject({ok: true, data: {woken_by: 'timer'}})
  })

  it('pause says it waits for the trainer to checkpoint and exit', async () => {
    const sb = sandbox()
    const run = await sb.launch({step_time_ms: 200, max_steps: 5000, save_every: 0})
    await sb.waitForSteps(run.run_id, 1)
    const out = join(sb.dir, 'stdout.txt')
    const paused = await onTerminal(['pause', run.run_id, '--store', sb.store], {cwd: sb.dir, stdoutFile: out, env: {AUTOLAB_E2E_SANDBOX: sb.dir}})
    expect(paused.exitCode).toBe(0)
    expect(paused.shown).toMatch(new RegExp(`\\rpausing ${run.run_id}: waiting for the trainer to checkpoint and exit… 0s of 60s`))
    expect((await sb.show(run.run_id)).status).toBe('paused')
    expect(readFileSync(out, 'utf8')).not.toContain('waiting for')
  })

  it('demo shows both runs\' progress and keeps the last line', async () => {
    const sb = sandbox()
    sb.mayHaveRuns = true
    const demo = await onTerminal(['demo', '--steps', '10', '--step-time-ms', '0', '--store', join(sb.dir, 'demo.db')], {cwd: sb.dir, env: {AUTOLAB_E2E_SANDBOX: sb.dir}, timeoutMs: 60_000})
    expect(demo.exitCode).toBe(0)
    expect(demo.shown).toMatch(/\rlow-lr \[#*\s*\] \d+\/10 reward .* {3}good-lr \[/)
    expect(demo.shown).toMatch(/good-lr \[#{20}\] 10\/10 reward \d\.\d\d\u001B\[K\r?\n/)
  })
})

describe('progress without a terminal', () => {
  it('stderr that is a pipe gets none', async () => {
    const sb = sandbox()
    const r = await sb.run(['wait', '--timeout', '1'])
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toContain('timed out')
    expect(r.stderr).not.toContain('waiting for')
    expect(r.stderr).not.toContain('\r')
    expect(r.stderr).not.toContain('\u001B')
  })
})
