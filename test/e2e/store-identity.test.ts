// A store knows its runs and its runs know their store: every run dir records the store_id
// (autolab-run.json) and every trainer carries it (AUTOLAB_STORE_ID); a run dir that exists is
// never reused; doctor reports directories and trainer processes of another (or a lost) store.
import Database from 'better-sqlite3'
import {existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {expectError, expectOk, waitFor} from '../helpers/cli.js'
import {processesWithEnvironMarker} from '../helpers/processes.js'
import {useSandboxes} from '../helpers/sandbox.js'

const sandbox = useSandboxes()

const LONG = {max_steps: 100_000, step_time_ms: 20, save_every: 0}

describe('store identity', () => {
  it('every run dir records its store and run; the trainer carries the store id', async () => {
    const sb = sandbox()
    const {run_id: id} = await sb.launch(LONG)
    const storeId = (await sb.ok(['doctor'])).store_id
    expect(storeId).toMatch(/^[0-9a-f-]{36}$/)
    const marker = JSON.parse(readFileSync(join(sb.runDir(id), 'autolab-run.json'), 'utf8'))
    expect(marker).toMatchObject({store_id: storeId, run_id: id, created_at: expect.any(String)})
    await sb.waitForSteps(id, 1)
    const trainers = processesWithEnvironMarker(sb.dir).filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/environ`, 'utf8').includes(`AUTOLAB_STORE_ID=${storeId}\0`)
      } catch {
        return false
      }
    })
    expect(trainers.length).toBeGreaterThan(0)
  })

  it('two stores sharing a root: a new run never takes an existing run dir; doctor reports the other store\'s dirs and trainers, and --fix stops them', async () => {
    const sb = sandbox()
    const other = join(sb.dir, 'other.db')
    // Both stores exist before any run (a store is not created next to another store's runs).
    expectOk(await sb.json(['runs']))
    expectOk(await sb.json(['init', '--no-project', '--store', other], {store: false}))
    const theirs = expectOk(await sb.json(['launch', '--recipe', 'toy', '--set', 'max_steps=100000', '--set', 'step_time_ms=20', '--store', other], {store: false}))
    expect(theirs.run_id).toBe('r1')
    await sb.waitForSteps('r1', 2)
    const before = readFileSync(join(sb.runDir('r1'), 'autolab-run.json'), 'utf8')

    const ours = await sb.launch({...LONG, max_steps: 3})
    expect(ours.run_id).toBe('r2')
    expect(readFileSync(join(sb.runDir('r1'), 'autolab-run.json'), 'utf8')).toBe(before)
    await sb.waitForExitCode('r2')

    const report = await sb.ok(['doctor'])
    expect(report.ok).toBe(false)
    expect(report.dirs_of_other_stores).toEqual([expect.objectContaining({run_dir: sb.runDir('r1'), run_id: 'r1'})])
    expect(report.dirs_of_other_stores[0].store_id).not.toBe(report.store_id)
    expect(report.stray_processes).toEqual([expect.objectContaining({run_dir: sb.runDir('r1'), run_id: null, stopped: false, why: expect.stringContaining('another store')})])

    const fixed = await sb.ok(['doctor', '--fix'])
    expect(fixed.stray_processes).toEqual([expect.objectContaining({run_dir: sb.runDir('r1'), stopped: true})])
    await waitFor(() => processesWithEnvironMarker(sb.dir).length === 0, {message: 'the other store\'s trainer to stop'})
    const logged = (await sb.ok(['log', '--kind', 'stray_process_stopped'])).events
    expect(logged).toHaveLength(1)
    expect(logged[0].args).toMatchObject({run_dir: sb.runDir('r1'), pgid: fixed.stray_processes[0].pgid})
    // The other store sees its run end (it was not killed through that store).
    const r1 = expectOk(await sb.json(['show', 'r1', '--store', other], {store: false})).run
    expect(['failed', 'lost']).toContain(r1.status)
  })

  it('the whole store directory deleted while a run trains: STORE_LOST naming the live trainers, never an empty answer', async () => {
    const sb = sandbox()
    // A trainer that survives its run dir being deleted (the toy trainer dies at its next append).
    writeFileSync(join(sb.dir, 'autolab.yaml'), 'recipes:\n  sleeper:\n    command: "exec sleep 120"\n')
    expectOk(await sb.json(['launch', '--recipe', 'sleeper']))
    await waitFor(() => processesWithEnvironMarker(sb.dir).some((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep')), {message: 'the sleeper'})
    for (const name of ['autolab.db', 'autolab.db-wal', 'autolab.db-shm', 'runs']) rmSync(`${sb.dir}/${name}`, {recursive: true, force: true})
    for (const args of [['runs'], ['status'], ['launch', '--recipe', 'toy']]) {
      const error = expectError(await sb.json(args), 'STORE_LOST', 3)
      expect(error.details.process_groups.length).toBe(1)
      expect(error.suggested_action).toContain(`kill -TERM -- -${error.details.process_groups[0]}`)
    }
    const pgid = expectError(await sb.json(['runs']), 'STORE_LOST', 3).details.process_groups[0]
    expect(await sb.runs().catch((e: Error) => e.message)).toContain('STORE_LOST')
    process.kill(-pgid, 'SIGTERM')
    await waitFor(() => processesWithEnvironMarker(sb.dir).length === 0, {message: 'the trainer to stop'})
    // Nothing of the old store is left: no store here, and init may start a new one.
    expectError(await sb.json(['runs']), 'STORE_NOT_FOUND', 3)
    expectOk(await sb.json(['init', '--no-project']))
    expect(await sb.runs()).toEqual([])
  })

  it('a store copied elsewhere launches its runs beside itself, not into the original\'s directory', async () => {
    const sb = sandbox()
    const first = await sb.launch({max_steps: 3, step_time_ms: 0})
    await sb.waitForExitCode(first.run_id)
    await sb.ok(['sync'])
    const copyDir = join(sb.dir, 'copy')
    mkdirSync(copyDir)
    // A consistent copy, as a backup tool would make it (the store is quiet: nothing is running).
    const source = new Database(sb.store, {readonly: true})
    await source.backup(join(copyDir, 'autolab.db'))
    source.close()
    const copied = await sb.ok(['launch', '--recipe', 'toy', '--set', 'max_steps=3', '--set', 'step_time_ms=0', '--store', join(copyDir, 'autolab.db')], {store: false})
    expect(copied.run_dir).toBe(join(copyDir, 'runs', copied.run_id))
    expect(existsSync(sb.runDir(copied.run_id))).toBe(false)
    expect(readdirSync(join(sb.dir, 'runs'))).toEqual([first.run_id])
    await waitFor(() => existsSync(join(copied.run_dir, 'exit_code')), {message: 'the copy\'s run to end'})
  })
})
