// Finding the store the way git finds .git: --store, else AUTOLAB_STORE, else .autolab/autolab.db
// in the working directory or the nearest parent that has one. A command that finds none says so
// (STORE_NOT_FOUND, naming where it looked) and creates nothing: only init creates a store (and
// demo its own). Before, `tick` from the wrong folder made an empty store there and reported
// "synced 0 runs", exit 0. Also: the status bar of an error raised before the store is opened (a
// parse error, an unknown command) is the store's real one, read without syncing.
import {existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {expectError, expectOk, waitFor} from '../helpers/cli.js'
import {useSandboxes} from '../helpers/sandbox.js'

const sandbox = useSandboxes()
const NOT_FOUND = 3

/** Stores in dir's ancestors: one would be found from dir, and these tests would mean nothing. */
function ancestorStores(dir: string): string[] {
  const found: string[] = []
  for (let d = dirname(dir); ; d = dirname(d)) {
    if (existsSync(join(d, '.autolab', 'autolab.db'))) found.push(join(d, '.autolab', 'autolab.db'))
    if (dirname(d) === d) return found
  }
}

/** A directory with no store in it or above it. */
function emptyDir(sb: {dir: string}, name = 'nowhere'): string {
  const dir = join(sb.dir, name)
  mkdirSync(dir)
  expect(ancestorStores(dir), 'a store above the temp directory would be found by every test here').toEqual([])
  return dir
}

describe('finding the store', () => {
  it('runs in a folder with no store above it is STORE_NOT_FOUND naming where it looked, and creates no file', async () => {
    const sb = sandbox()
    const cwd = emptyDir(sb)
    const error = expectError(await sb.json(['runs'], {store: false, cwd}), 'STORE_NOT_FOUND', NOT_FOUND)
    expect(error.message).toContain(cwd)
    expect(error.suggested_action).toContain('autolab init')
    // The working directory, then every parent up to /.
    const levels = cwd.split('/').length
    expect(error.details.searched).toHaveLength(levels)
    expect(error.details.searched[0]).toBe(join(cwd, '.autolab', 'autolab.db'))
    expect(error.details.searched[1]).toBe(join(dirname(cwd), '.autolab', 'autolab.db'))
    expect(error.details.searched.at(-1)).toBe('/.autolab/autolab.db')
    expect(readdirSync(cwd)).toEqual([])
    expect(readdirSync(sb.dir)).toEqual(['nowhere'])
  })

  it('no command but init creates a store: reads, mutations, tick and wait all answer STORE_NOT_FOUND; then init creates it here', async () => {
    const sb = sandbox()
    const cwd = emptyDir(sb)
    const commands = [
      ['tick'], ['status'], ['sync'], ['log'], ['tree'], ['doctor'], ['export'], ['campaign', 'list'],
      ['wait', '--timeout', '0'], ['show', 'r1'], ['history', 'r1'], ['note', 'hello'], ['launch', '--recipe', 'toy'],
    ]
    for (let i = 0; i < commands.length; i += 4) {
      const answers = await Promise.all(commands.slice(i, i + 4).map((args) => sb.json(args, {store: false, cwd})))
      for (const answer of answers) expectError(answer, 'STORE_NOT_FOUND', NOT_FOUND)
    }
    // For a person too: the error on stderr, exit 3, nothing on stdout.
    const human = await sb.run(['tick'], {store: false, cwd})
    expect(human.exitCode).toBe(NOT_FOUND)
    expect(human.stdout).toBe('')
    expect(human.stderr).toMatch(/^Error \[STORE_NOT_FOUND\]: No store found/m)
    expect(readdirSync(cwd)).toEqual([])

    const created = expectOk(await sb.json(['init', '--no-project'], {store: false, cwd}))
    expect(created).toMatchObject({store: join(cwd, '.autolab', 'autolab.db'), project_file: null, project_written: false})
    expect(readdirSync(cwd)).toEqual(['.autolab'])
    expect(expectOk(await sb.json(['tick'], {store: false, cwd}))).toMatchObject({skipped: false, synced_runs: 0})
  })

  it('a store is found from any directory below it, and runs launched from there live beside the store', async () => {
    const sb = sandbox()
    const project = emptyDir(sb, 'project')
    expectOk(await sb.json(['init', '--no-project'], {store: false, cwd: project}))
    const deep = join(project, 'src', 'deeper')
    mkdirSync(deep, {recursive: true})
    const run = expectOk(await sb.json(['launch', '--recipe', 'toy', '--set', 'max_steps=3', '--set', 'step_time_ms=0'], {store: false, cwd: deep}))
    expect(run.run_dir).toBe(join(project, '.autolab', 'runs', run.run_id))
    await waitFor(() => existsSync(join(run.run_dir, 'exit_code')), {message: 'the run to end'})
    const listed = expectOk(await sb.json(['runs'], {store: false, cwd: join(project, 'src')}))
    expect(listed.runs.map((r: any) => r.run_id)).toEqual([run.run_id])
    expect(readdirSync(deep)).toEqual([])
    expect(readdirSync(join(project, 'src'))).toEqual(['deeper'])

    // init below a store makes a new one there (like git init), and says which one it shadows.
    const nested = await sb.json(['init', '--no-project'], {store: false, cwd: deep})
    expect(expectOk(nested).store).toBe(join(deep, '.autolab', 'autolab.db'))
    expect(nested.json.status.warnings.join(' ')).toContain(`another store exists at ${join(project, '.autolab', 'autolab.db')}`)
    const again = await sb.json(['init', '--no-project'], {store: false, cwd: deep})
    expect(expectOk(again).store).toBe(join(deep, '.autolab', 'autolab.db'))
    expect(again.json.status.warnings).toEqual([])
    expect(expectOk(await sb.json(['runs'], {store: false, cwd: deep})).runs).toEqual([])
  })

  it('--store or AUTOLAB_STORE naming no store is STORE_NOT_FOUND, even where a store would be found; nothing is created', async () => {
    const sb = sandbox()
    const project = emptyDir(sb, 'project')
    expectOk(await sb.json(['init', '--no-project'], {store: false, cwd: project}))
    const missing = join(sb.dir, 'elsewhere', 'autolab.db')
    const byFlag = expectError(await sb.json(['runs', '--store', missing], {store: false, cwd: project}), 'STORE_NOT_FOUND', NOT_FOUND)
    expect(byFlag.message).toContain(missing)
    expect(byFlag.details).toMatchObject({store: missing, from: '--store'})
    expect(byFlag.suggested_action).toContain(`autolab init --store ${missing}`)
    const byEnv = expectError(await sb.json(['tick'], {store: false, cwd: project, env: {AUTOLAB_STORE: missing}}), 'STORE_NOT_FOUND', NOT_FOUND)
    expect(byEnv.details).toMatchObject({store: missing, from: 'AUTOLAB_STORE'})
    expect(existsSync(join(sb.dir, 'elsewhere'))).toBe(false)

    // An empty file is no store either, and stays empty.
    const empty = join(sb.dir, 'empty.db')
    writeFileSync(empty, '')
    const emptied = expectError(await sb.json(['launch', '--recipe', 'toy', '--store', empty], {store: false, cwd: project}), 'STORE_NOT_FOUND', NOT_FOUND)
    expect(emptied.message).toContain('is empty')
    expect(statSync(empty).size).toBe(0)

    // init is the one command that creates it.
    expect(expectOk(await sb.json(['init', '--no-project', '--store', missing], {store: false, cwd: sb.dir})).store).toBe(missing)
    expect(expectOk(await sb.json(['runs', '--store', missing], {store: false, cwd: project})).runs).toEqual([])
  })

  it('a missing store beside run directories is STORE_LOST there, not the store of a parent directory', async () => {
    const sb = sandbox()
    const project = emptyDir(sb, 'project')
    expectOk(await sb.json(['init', '--no-project'], {store: false, cwd: project}))
    const child = join(project, 'old-campaign')
    mkdirSync(join(child, '.autolab', 'runs', 'r1'), {recursive: true})
    const error = expectError(await sb.json(['runs'], {store: false, cwd: child}), 'STORE_LOST', NOT_FOUND)
    expect(error.message).toContain(join(child, '.autolab', 'autolab.db'))
    expect(existsSync(join(child, '.autolab', 'autolab.db'))).toBe(false)
  })

  it('guide and recipe show/list need no store and create none; demo makes its own', async () => {
    const sb = sandbox()
    const cwd = emptyDir(sb)
    const guided = await sb.json(['guide'], {store: false, cwd})
    expect(expectOk(guided).commands.length).toBeGreaterThan(20)
    expect(guided.json.status.warnings.join(' ')).toContain('no store')
    expect(readdirSync(cwd)).toEqual([])
    // recipe show / list read only the project file: an agent learns the keys before any init.
    expect(expectOk(await sb.json(['recipe', 'show', 'toy'], {store: false, cwd})).schema.learning_rate.type).toBe('number')
    expect(expectOk(await sb.json(['recipe', 'list'], {store: false, cwd})).recipes.map((r: any) => r.name)).toEqual(['toy'])
    expect(readdirSync(cwd)).toEqual([])
    const store = join(cwd, 'demo', 'autolab.db')
    const demo = expectOk(await sb.json(['demo', '--steps', '10', '--step-time-ms', '0', '--store', store], {store: false, cwd}))
    expect(demo.store).toBe(store)
    expect(demo.runs.map((r: any) => r.status)).toEqual(['completed', 'completed'])
  })
})

describe('the status bar of an error raised before the store is opened', () => {
  it('a parse error or an unknown command carries the real status bar, read without syncing or creating anything', async () => {
    const sb = sandbox()
    await sb.ok(['campaign', 'create', 'sweep'])
    const run = await sb.launch({max_steps: 3, step_time_ms: 0, save_every: 0})
    await sb.waitForExitCode(run.run_id)
    // The run has ended, but nothing has synced since: the error's status bar still counts it
    // running (a sync would have seen the exit), and the campaign is the current one, not "default".
    for (const args of [['runs', '--bogus'], ['log', '--limit', 'many'], ['lanch', '--recipe', 'toy']]) {
      const error = await sb.json(args)
      expectError(error, args[0] === 'lanch' ? 'UNKNOWN_COMMAND' : 'INVALID_ARGUMENT', 2)
      expect(error.json.status, args.join(' ')).toMatchObject({campaign: 'sweep', runs: {running: 1}, warnings: []})
    }
    // The next command that opens the store syncs, and the run is seen to have completed.
    const status = JSON.parse((await sb.json(['runs'])).stdout).status
    expect(status.runs.running).toBe(0)

    // Without a store: an empty bar that says so, and still nothing created.
    const cwd = emptyDir(sb)
    const lost = await sb.json(['runs', '--bogus'], {store: false, cwd})
    expectError(lost, 'INVALID_ARGUMENT', 2)
    expect(lost.json.status.warnings.join(' ')).toContain('no store')
    expect(readdirSync(cwd)).toEqual([])
    expect(readFileSync(join(sb.runDir(run.run_id), 'exit_code'), 'utf8').trim()).toBe('0')
  })
})
