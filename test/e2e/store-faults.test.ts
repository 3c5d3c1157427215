// The store's own faults through the built CLI: a read-only store (file, then directory), a lost
// store (emptied or deleted beside its run directories) and a full disk. File modes mean nothing
// to root, so when the suite runs as root the read-only commands run as `nobody` (setpriv); the
// full disk is a small tmpfs, mounted when this process may mount.
import {execFileSync, spawnSync} from 'node:child_process'
import {chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import {execa} from 'execa'
import {afterAll, describe, expect, it} from 'vitest'
import {BIN, type CliResult, expectError, expectNoStackTrace, expectOk, runCli} from '../helpers/cli.js'
import {type Sandbox, useSandboxes} from '../helpers/sandbox.js'

const sandbox = useSandboxes()
const EXIT = {notFound: 3, conflict: 4, transient: 5}

// ---- running as a user that file modes apply to ----

const NOBODY = 65534
const isRoot = process.getuid?.() === 0
const setpriv = spawnSync('setpriv', ['--version']).status === 0
/** Why the read-only tests cannot run here, or null. */
const readOnlySkip = isRoot && !setpriv ? 'running as root without setpriv: file modes cannot be made to apply' : null

/** `autolab …args --json --store <store>` as a user without root's override of file modes. */
async function asUser(sb: Sandbox, args: string[]): Promise<CliResult> {
  const argv = [...args, '--json', '--store', sb.store]
  if (!isRoot) return runCli(argv, {cwd: sb.dir, env: {AUTOLAB_E2E_SANDBOX: sb.dir}})
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AUTOLAB_')))
  const r = await execa('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, BIN, ...argv], {
    cwd: sb.dir, env: {...base, HOME: sb.dir, AUTOLAB_E2E_SANDBOX: sb.dir}, extendEnv: false, reject: false, stdin: 'ignore', timeout: 30_000,
  })
  let json: unknown
  try {
    json = JSON.parse(String(r.stdout))
  } catch {
    json = undefined
  }
  return {args: argv, exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), json, durationMs: 0}
}

/** Hand the sandbox to the user asUser runs as (when that is not us). */
function giveAway(sb: Sandbox): void {
  if (!isRoot) return
  for (const entry of ['', ...readdirSync(sb.dir, {recursive: true, encoding: 'utf8'})]) chownSync(join(sb.dir, entry), NOBODY, NOBODY)
}

const mode = (path: string) => statSync(path).mode & 0o777
const sidecarModes = (store: string) => ['-wal', '-shm'].filter((s) => existsSync(store + s)).map((s) => [s, mode(store + s)])

/**
 * A store with a campaign and a run that has finished but was not synced yet: a read command's
 * start-of-command sync would have to write (the original failure: INTERNAL even for reads).
 */
async function storeWithUnsyncedExit(sb: Sandbox) {
  await sb.ok(['campaign', 'create', 'precious', '--reason', 'setup'])
  const run = await sb.launch({max_steps: 3, step_time_ms: 5, save_every: 0})
  expect(await sb.waitForExitCode(run.run_id)).toBe(0)
  giveAway(sb)
  return run
}

describe.skipIf(readOnlySkip !== null)(`a read-only store${readOnlySkip ? ` (skipped: ${readOnlySkip})` : ''}`, () => {
  it('db file 0444: reads work (sync skipped, with a warning); writes are STORE_READONLY (exit 4) and change nothing', async () => {
    const sb = sandbox()
    const run = await storeWithUnsyncedExit(sb)
    chmodSync(sb.store, 0o444)

    const listed = expectOk(await asUser(sb, ['runs']))
    expect(listed.runs.map((r: any) => [r.run_id, r.status])).toEqual([[run.run_id, 'running']])
    const status = (await asUser(sb, ['runs'])).json.status
    expect(status.warnings.join(' ')).toMatch(/store is read-only.*telemetry not synced/)
    expect(expectOk(await asUser(sb, ['show', run.run_id])).run.run_id).toBe(run.run_id)
    expect(expectOk(await asUser(sb, ['export'])).format).toBe('autolab-export/1')
    const events = expectOk(await asUser(sb, ['log'])).events.length
    expect(expectOk(await asUser(sb, ['wait', '--for', 'exit', '--timeout', '0'])).woken_by, 'wait works on a read-only store').toBe('timer')

    for (const args of [['campaign', 'create', 'other'], ['note', 'hello'], ['launch', '--recipe', 'toy'], ['sync']]) {
      const error = expectError(await asUser(sb, args), 'STORE_READONLY', EXIT.conflict)
      expect(error.message).toContain(sb.store)
      expect(error.retryable).toBe(false)
    }
    expect(existsSync(sb.runDir('r2')), 'a refused launch creates no run directory').toBe(false)
    expect(expectOk(await asUser(sb, ['campaign', 'list'])).campaigns.map((c: any) => c.name).sort()).toEqual(['default', 'precious'])
    expect(expectOk(await asUser(sb, ['log'])).events).toHaveLength(events)

    // Writable again: the -shm and -wal a read-only open left at 0444 must not keep writes failing.
    chmodSync(sb.store, 0o644)
    expectOk(await asUser(sb, ['campaign', 'create', 'after']))
    expect((expectOk(await asUser(sb, ['runs'])).runs)[0].status, 'the sync runs again').toBe('completed')
    for (const [suffix, m] of sidecarModes(sb.store)) expect(m, `mode of ${suffix}`).toBe(mode(sb.store))
  })

  it('store directory 0555 (SQLite cannot create -wal/-shm): reads work, writes are STORE_READONLY naming the directory', async () => {
    const sb = sandbox()
    const run = await storeWithUnsyncedExit(sb)
    chmodSync(sb.dir, 0o555)
    try {
      expect(expectOk(await asUser(sb, ['show', run.run_id])).run.status).toBe('running')
      expect(expectOk(await asUser(sb, ['campaign', 'list'])).campaigns.map((c: any) => c.name).sort()).toEqual(['default', 'precious'])
      const error = expectError(await asUser(sb, ['campaign', 'create', 'other']), 'STORE_READONLY', EXIT.conflict)
      expect(error.message).toContain(`directory ${sb.dir}`)
      expect(readdirSync(sb.dir).filter((f) => f.startsWith('autolab.db-'))).toEqual([])
    } finally {
      chmodSync(sb.dir, 0o755)
    }
    expectOk(await asUser(sb, ['campaign', 'create', 'after']))
  })
})

describe('a lost store', () => {
  it('an emptied store file beside run directories is STORE_LOST (exit 3); nothing is created and r1 is not reused', async () => {
    const sb = sandbox()
    const run = await sb.launch({max_steps: 3, step_time_ms: 5, save_every: 0})
    await sb.waitForExitCode(run.run_id)
    const before = readdirSync(sb.runDir(run.run_id)).sort()
    truncateSync(sb.store, 0)
    const error = expectError(await sb.json(['runs']), 'STORE_LOST', EXIT.notFound)
    expect(error.message).toContain(sb.store)
    expect(error.message).toContain('1 run directory')
    expect(error.suggested_action).toMatch(/backup/)
    expectError(await sb.json(['launch', '--recipe', 'toy']), 'STORE_LOST', EXIT.notFound)
    expect(statSync(sb.store).size).toBe(0)
    expect(readdirSync(join(sb.dir, 'runs'))).toEqual([run.run_id])
    expect(readdirSync(sb.runDir(run.run_id)).sort()).toEqual(before)
  })

  it('a deleted store file: STORE_LOST, no file created; with runs/ moved aside it is STORE_NOT_FOUND until init starts a new store', async () => {
    const sb = sandbox()
    const run = await sb.launch({max_steps: 3, step_time_ms: 5, save_every: 0})
    await sb.waitForExitCode(run.run_id)
    rmSync(sb.store)
    const human = await sb.run(['runs'])
    expect(human.exitCode).toBe(EXIT.notFound)
    expect(human.stderr).toMatch(/^Error \[STORE_LOST\]: /m)
    expectNoStackTrace(human)
    expect(existsSync(sb.store)).toBe(false)
    execFileSync('mv', [join(sb.dir, 'runs'), join(sb.dir, 'runs.old')])
    expectError(await sb.json(['runs']), 'STORE_NOT_FOUND', EXIT.notFound)
    expect(existsSync(sb.store)).toBe(false)
    expect(expectOk(await sb.json(['init', '--no-project'])).store).toBe(sb.store)
    expect(await sb.runs()).toEqual([])
  })
})

// ---- a full disk: a tmpfs of 1 MiB ----

function mountTmpfs(): {dir: string} | {skip: string} {
  if (!isRoot) return {skip: 'not root: cannot mount a tmpfs'}
  const dir = mkdtempSync(join(tmpdir(), 'autolab-full-'))
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], {encoding: 'utf8'})
  if (r.status !== 0) {
    rmSync(dir, {recursive: true, force: true})
    return {skip: `mount -t tmpfs not permitted here (${(r.stderr || r.error?.message || '').trim()})`}
  }
  return {dir}
}
const tmpfs = mountTmpfs()
afterAll(() => {
  if ('dir' in tmpfs) {
    spawnSync('umount', [tmpfs.dir]) // eslint-disable-line
    if (spawnSync('mountpoint', ['-q', tmpfs.dir]).status === 0) spawnSync('umount', ['-l', tmpfs.dir])
    rmSync(tmpfs.dir, {recursive: true, force: true})
  }
})

describe.skipIf('skip' in tmpfs)(`a full disk${'skip' in tmpfs ? ` (skipped: ${tmpfs.skip})` : ''}`, () => {
  const fill = (file: string) => {
    // Write until the filesystem refuses: ENOSPC is the point.
    try {
      writeFileSync(file, Buffer.alloc(2 * 1024 * 1024))
    } catch (error) {
      expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC')
    }
  }

  it('is DISK_FULL (exit 5, retryable, saying what to free); once space is freed the same command works', async () => {
    const dir = (tmpfs as {dir: string}).dir
    const store = join(dir, 'autolab.db')
    const cli = (args: string[]) => runCli([...args, '--json', '--store', store], {cwd: dir})
    expectOk(await cli(['init', '--no-project']))
    expectOk(await cli(['campaign', 'create', 'before']))
    fill(join(dir, 'filler'))
    const error = expectError(await cli(['campaign', 'create', 'during']), 'DISK_FULL', EXIT.transient)
    expect(error.retryable).toBe(true)
    expect(error.message).toContain(dir)
    expect(error.suggested_action).toMatch(/Free space/)
    unlinkSync(join(dir, 'filler'))
    expectOk(await cli(['campaign', 'create', 'during']))
    expect(expectOk(await cli(['campaign', 'list'])).campaigns.map((c: any) => c.name).sort()).toEqual(['before', 'default', 'during'])
  })

  it('export --output onto the full disk is DISK_FULL and leaves no partial file', async () => {
    const dir = (tmpfs as {dir: string}).dir
    const out = join(dir, 'out')
    mkdirSync(out, {recursive: true})
    // The store elsewhere, with more in it than the tmpfs can hold: 2 MiB of notes.
    const sb = sandbox()
    await sb.ok(['status'])
    const db = new BetterSqlite3(sb.store)
    const insert = db.prepare("INSERT INTO events (time, campaign_id, kind, actor, reason) VALUES ('2026-01-01T00:00:00Z', 'default', 'note', 'test', ?)")
    for (let i = 0; i < 16; i++) insert.run('y'.repeat(128 * 1024))
    db.close()
    const error = expectError(await sb.json(['export', '--output', join(out, 'big.json')]), 'DISK_FULL', EXIT.transient)
    expect(error.retryable).toBe(true)
    expect(readdirSync(out)).toEqual([])
  })
})
