// The output contract of the built CLI, end to end: the JSON envelope, the status bar, stable
// error codes and their exit classes, human error output, and how the store is located.
import Database from 'better-sqlite3'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {bundlePath, expectError, expectNoStackTrace, expectOk, nonSnakeKeys} from '../helpers/cli.js'
import {useSandboxes} from '../helpers/sandbox.js'

const sandbox = useSandboxes()

// The contract's exit classes.
const EXIT = {invalid: 2, notFound: 3, conflict: 4}

describe('the built CLI', () => {
  it('is built: the bundle bin/run.js loads (dist/cli.*) exists', () => {
    const bundle = bundlePath()
    expect(bundle).toMatch(/[/]dist[/]cli\.[cm]?js$/)
    expect(existsSync(bundle), `${bundle} is missing: run npm run build`).toBe(true)
  })
})

describe('success envelope', () => {
  it('status --json: one JSON document {ok, data, status} with the status bar, snake_case keys', async () => {
    const sb = sandbox()
    const r = await sb.json(['status'])
    const data = expectOk(r)
    expect(data).toBeTypeOf('object')
    expect(nonSnakeKeys(r.json)).toEqual([])
    expect(existsSync(sb.store), 'the store is created on first use').toBe(true)
  })

  it('sync --json succeeds on an empty store', async () => {
    const sb = sandbox()
    const data = await sb.ok(['sync'])
    expect(data).toBeTypeOf('object')
  })

  it('no ANSI escapes in --json output even when colour is forced', async () => {
    const sb = sandbox()
    const env = {FORCE_COLOR: '3'}
    expectOk(await sb.json(['status'], {env}))
    expectOk(await sb.json(['runs'], {env}))
    expectError(await sb.json(['show', 'r404'], {env}), 'RUN_NOT_FOUND', EXIT.notFound)
  })

  it('an empty list is not an error', async () => {
    const sb = sandbox()
    expect(await sb.runs()).toEqual([])
    expect((await sb.ok(['log'])).events).toEqual([])
  })
})

describe('init', () => {
  it('writes autolab.yaml in the cwd and creates the store; the written project launches the toy recipe', async () => {
    const sb = sandbox()
    const data = await sb.ok(['init'])
    expect(data).toBeTypeOf('object')
    expect(existsSync(join(sb.dir, 'autolab.yaml'))).toBe(true)
    expect(readFileSync(join(sb.dir, 'autolab.yaml'), 'utf8')).toMatch(/toy/)
    expect(existsSync(sb.store)).toBe(true)
    // A second init is harmless.
    await sb.ok(['init'])
    const run = await sb.launch({max_steps: 5, step_time_ms: 10})
    expect(run.status).toBe('running')
  })
})

describe('error envelope: codes and exit classes', () => {
  const invalid: [string, string[]][] = [
    ['--set without "="', ['launch', '--recipe', 'toy', '--set', 'noequals']],
    ['--set with an empty key', ['launch', '--recipe', 'toy', '--set', '=3']],
    ['a missing required flag', ['launch', '--set', 'learning_rate=0.1']],
    ['an unknown flag', ['runs', '--no-such-flag']],
    ['a flag value outside its options', ['runs', '--status', 'sideways']],
    ['a non-integer flag value', ['kill', 'r1', '--grace', 'soon']],
    ['a negative --grace', ['kill', 'r1', '--grace', '-1']],
    ['--last 0', ['history', 'r1', '--last', '0']],
  ]
  it.each(invalid)('INVALID_ARGUMENT (exit 2) for %s', async (_what, args) => {
    const sb = sandbox()
    const error = expectError(await sb.json(args), 'INVALID_ARGUMENT', EXIT.invalid)
    expect(error.retryable).toBe(false)
  })

  it('an invalid launch starts nothing', async () => {
    const sb = sandbox()
    expectError(await sb.json(['launch', '--recipe', 'toy', '--set', 'noequals']), 'INVALID_ARGUMENT', EXIT.invalid)
    expect(await sb.runs()).toEqual([])
    expect(existsSync(sb.runDir('r1'))).toBe(false)
  })

  const notFound: [string, string[]][] = [
    ['show', ['show', 'r404']],
    ['kill', ['kill', 'r404']],
    ['history', ['history', 'r404', '--metric', 'reward']],
  ]
  it.each(notFound)('RUN_NOT_FOUND (exit 3) from %s of an unknown run, naming it', async (_cmd, args) => {
    const sb = sandbox()
    const error = expectError(await sb.json(args), 'RUN_NOT_FOUND', EXIT.notFound)
    expect(error.message).toContain('r404')
  })

  it('RECIPE_NOT_FOUND (exit 3) for an unknown recipe', async () => {
    const sb = sandbox()
    expectError(await sb.json(['launch', '--recipe', 'no-such-recipe']), 'RECIPE_NOT_FOUND', EXIT.notFound)
    expect(await sb.runs()).toEqual([])
  })

  it('INVALID_CONFIG (exit 2) for a recipe without `command`, naming the field', async () => {
    const sb = sandbox()
    const file = join(sb.dir, 'broken.yaml')
    writeFileSync(file, 'recipes:\n  broken:\n    config:\n      learning_rate: 0.1\n')
    const error = expectError(await sb.json(['launch', '--recipe', 'broken', '--project', file]), 'INVALID_CONFIG', EXIT.invalid)
    expect(error.message).toMatch(/command/)
  })

  it('INVALID_CONFIG (exit 2) for a project file that is not valid YAML', async () => {
    const sb = sandbox()
    const file = join(sb.dir, 'garbage.yaml')
    writeFileSync(file, 'recipes:\n  toy: [unclosed\n    command: "x\n')
    expectError(await sb.json(['launch', '--recipe', 'toy', '--project', file]), 'INVALID_CONFIG', EXIT.invalid)
    expect(await sb.runs()).toEqual([])
  })

  it('a file that is not a store is NOT_A_STORE (exit 2) in the envelope, without a stack trace, and is left as it was', async () => {
    const sb = sandbox()
    const notADatabase = join(sb.dir, 'garbage.db')
    const garbage = 'this is not an SQLite database, not even close. '.repeat(100)
    writeFileSync(notADatabase, garbage)
    const r = await sb.run(['runs', '--json', '--store', notADatabase], {store: false})
    const error = expectError(r, 'NOT_A_STORE', 2)
    expect(error.message).toContain(notADatabase)
    const human = await sb.run(['runs', '--store', notADatabase], {store: false})
    expect(human.exitCode).toBe(2)
    expect(human.stderr).toMatch(/^Error \[NOT_A_STORE\]: /m)
    expectNoStackTrace(human)
    expect(readFileSync(notADatabase, 'utf8')).toBe(garbage)
    // Another application's SQLite database: refused, never migrated into.
    const other = join(sb.dir, 'other-app.sqlite')
    const db = new Database(other)
    db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES (\'ada\')')
    db.close()
    expectError(await sb.run(['runs', '--json', '--store', other], {store: false}), 'NOT_A_STORE', 2)
    const after = new Database(other, {readonly: true})
    expect((after.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {name: string}[]).map((t) => t.name)).toEqual(['users'])
    after.close()
  })

  it('an unknown command with --json still answers with one JSON error document (UNKNOWN_COMMAND, exit 2)', async () => {
    const sb = sandbox()
    const r = await sb.run(['no-such-command', '--json'], {store: false})
    expectError(r, 'UNKNOWN_COMMAND', EXIT.invalid)
  })
})

describe('human output', () => {
  it('errors print "Error [CODE]: message" on stderr, nothing on stdout, no stack trace', async () => {
    const sb = sandbox()
    const notFound = await sb.run(['show', 'r404'])
    expect(notFound.exitCode).toBe(EXIT.notFound)
    expect(notFound.stderr).toMatch(/^Error \[RUN_NOT_FOUND\]: .*r404/m)
    expect(notFound.stdout.trim()).toBe('')
    expectNoStackTrace(notFound)

    const badSet = await sb.run(['launch', '--recipe', 'toy', '--set', 'noequals'])
    expect(badSet.exitCode).toBe(EXIT.invalid)
    expect(badSet.stderr).toMatch(/^Error \[INVALID_ARGUMENT\]: /m)
    expectNoStackTrace(badSet)

    const badFlag = await sb.run(['runs', '--no-such-flag'])
    expect(badFlag.exitCode).toBe(EXIT.invalid)
    expect(badFlag.stderr).toMatch(/^Error \[INVALID_ARGUMENT\]: /m)
    expectNoStackTrace(badFlag)

    const badCommand = await sb.run(['no-such-command'], {store: false})
    expect(badCommand.exitCode).toBe(EXIT.invalid)
    expect(badCommand.stderr).toMatch(/^Error \[UNKNOWN_COMMAND\]: /m)
    expectNoStackTrace(badCommand)
  })

  it('success without --json is not JSON', async () => {
    const sb = sandbox()
    const r = await sb.run(['status'])
    expect(r.exitCode).toBe(0)
    expect(r.json).toBeUndefined()
    expectNoStackTrace(r)
  })
})

describe('locating the store', () => {
  it('AUTOLAB_STORE works instead of --store', async () => {
    const sb = sandbox()
    const env = {AUTOLAB_STORE: sb.store}
    expectOk(await sb.json(['init', '--no-project'], {env, store: false}))
    const launched = expectOk(await sb.json(['launch', '--recipe', 'toy', '--set', 'max_steps=3', '--set', 'step_time_ms=10'], {env, store: false}))
    expect(existsSync(sb.store)).toBe(true)
    expect(existsSync(join(sb.dir, '.autolab')), 'the default store must not be used').toBe(false)
    expect(existsSync(sb.runDir(launched.run_id))).toBe(true)
    // Visible both through the variable and through --store.
    const viaEnv = expectOk(await sb.json(['runs'], {env, store: false}))
    expect(viaEnv.runs.map((r: any) => r.run_id)).toEqual([launched.run_id])
    expect((await sb.runs()).map((r: any) => r.run_id)).toEqual([launched.run_id])
  })
})
