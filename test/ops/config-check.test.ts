// "Say no before acting": launch, fork and modify check a config against the recipe's schema and
// hot_params ranges before anything starts, on real toy-trainer processes, commands in-process.
import {existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import Database from 'better-sqlite3'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import Fork from '../../src/commands/fork.js'
import Kill from '../../src/commands/kill.js'
import Launch from '../../src/commands/launch.js'
import Log from '../../src/commands/log.js'
import Modify from '../../src/commands/modify.js'
import Runs from '../../src/commands/runs.js'
import Show from '../../src/commands/show.js'
import {createStore, removeDir, runCommand, tempDir, waitFor} from '../commands/run-command.js'

describe('config checks before anything starts', () => {
  let dir: string
  let store: string
  beforeEach(async () => {
    dir = tempDir('autolab-schema-')
    store = await createStore(dir)
  })
  afterEach(async () => {
    const runs = (await runCommand(Runs, ['--store', store])).json.data?.runs ?? []
    for (const run of runs) await runCommand(Kill, [run.run_id, '--grace', '0', '--store', store])
    removeDir(dir)
  })

  const run = (command: Parameters<typeof runCommand>[0], ...args: string[]) => runCommand(command, [...args, '--store', store])
  const cmd = async (command: Parameters<typeof runCommand>[0], ...args: string[]) => {
    const out = await run(command, ...args)
    if (!out.json.ok) throw new Error(`${JSON.stringify(args)}: ${JSON.stringify(out.json.error)}`)
    return out.json.data
  }
  const launch = (...sets: string[]) => run(Launch, '--recipe', 'toy', ...sets.flatMap((s) => ['--set', s]))
  const runIds = async () => ((await cmd(Runs)).runs as {run_id: string}[]).map((r) => r.run_id)
  const runDirs = () => (existsSync(join(dir, 'runs')) ? readdirSync(join(dir, 'runs')) : [])
  const show = async (id: string) => (await cmd(Show, id)).run
  const until = (id: string, status: string) => waitFor(async () => ((await show(id)).status === status ? show(id) : undefined), `${id} ${status}`, 30_000)
  const events = async (kind: string) => (await cmd(Log, '--kind', kind)).events as {run_id: string; args: Record<string, unknown>}[]
  const completedParent = async () => {
    const parent = (await launch('max_steps=20', 'save_every=10', 'step_time_ms=0')).json.data
    await until(parent.run_id, 'completed')
    return parent
  }
  /** Refused with `code` and exit 2, and nothing was created: no run row, no run directory. */
  const refusedWithNothingStarted = async (out: Awaited<ReturnType<typeof run>>, code: string, before: {runs: string[]; dirs: string[]}) => {
    expect(out.exitCode, out.stdout).toBe(2)
    expect(out.json.error.code).toBe(code)
    expect(await runIds()).toEqual(before.runs)
    expect(runDirs()).toEqual(before.dirs)
    return out.json.error
  }
  const nothing = {runs: [], dirs: []}

  it('launch --set learnign_rate=0.1 is UNKNOWN_CONFIG_KEY naming learning_rate; no row, no directory', async () => {
    const error = await refusedWithNothingStarted(await launch('learnign_rate=0.1'), 'UNKNOWN_CONFIG_KEY', nothing)
    expect(error.message).toContain('learnign_rate')
    expect(error.message).toContain('`learning_rate`')
    expect(error.details).toMatchObject({recipe: 'toy', key: 'learnign_rate', given: 0.1, nearest: ['learning_rate']})
    expect(error.suggested_action).toContain('learning_rate')
    expect(await events('launch')).toEqual([])
  })

  it('launch --set learning_rate=abc is INVALID_VALUE naming the key, the expected type and range, and the value', async () => {
    const error = await refusedWithNothingStarted(await launch('learning_rate=abc'), 'INVALID_VALUE', nothing)
    expect(error.message).toMatch(/learning_rate.*a number in \[0, 100000\].*"abc"/)
    expect(error.details).toMatchObject({key: 'learning_rate', expected: 'a number in [0, 100000]', given: 'abc'})
  })

  it.each([
    ['group_size=2.5', 'group_size', 'an integer in [2, 4096]'],
    ['task.modulus=1', 'task.modulus', 'an integer in [2, 64]'],
    ['task.kind=subtraction', 'task.kind', 'one of "modular_addition"'],
    ['max_steps=null', 'max_steps', 'an integer ≥ 0'],
    ['exit_code_at={"step":1,"code":300}', 'exit_code_at.code', 'an integer in [0, 255]'],
  ])('launch --set %s is INVALID_VALUE at %s (%s)', async (assignment, key, expected) => {
    const error = await refusedWithNothingStarted(await launch(assignment), 'INVALID_VALUE', nothing)
    expect(error.details).toMatchObject({key, expected})
  })

  it('hot_params ranges hold at launch: learning_rate=1e6 and temperature=0.001 are refused', async () => {
    const lr = await refusedWithNothingStarted(await launch('learning_rate=1000000'), 'INVALID_VALUE', nothing)
    expect(lr.details).toMatchObject({key: 'learning_rate', expected: 'a number in [0, 100000]', given: 1_000_000})
    const temperature = await refusedWithNothingStarted(await launch('temperature=0.001'), 'INVALID_VALUE', nothing)
    expect(temperature.details).toMatchObject({key: 'temperature', expected: 'a number in [0.01, 100]'})
  })

  it('a --config file is checked the same way', async () => {
    const file = join(dir, 'sweep.yaml')
    writeFileSync(file, 'learning_rate: 0.05\ntask:\n  modulos: 11\n')
    const error = await refusedWithNothingStarted(await run(Launch, '--recipe', 'toy', '--config', file), 'UNKNOWN_CONFIG_KEY', nothing)
    expect(error.details).toMatchObject({key: 'task.modulos', nearest: ['task.modulus']})
  })

  it('--allow-new-keys launches with the new key, still checks known keys, and is recorded in the launch event', async () => {
    const checked = await run(Launch, '--recipe', 'toy', '--set', 'warmup_steps=100', '--set', 'learning_rate=abc', '--allow-new-keys')
    expect(checked.json.error).toMatchObject({code: 'INVALID_VALUE', details: {key: 'learning_rate'}})
    const out = await run(Launch, '--recipe', 'toy', '--set', 'warmup_steps=100', '--set', 'max_steps=5', '--set', 'step_time_ms=0', '--allow-new-keys', '--reason', 'new key')
    expect(out.json.ok, out.stdout).toBe(true)
    expect(out.json.data.config.warmup_steps).toBe(100)
    const [event] = await events('launch')
    expect(event).toMatchObject({run_id: out.json.data.run_id, args: {allow_new_keys: true, sets: expect.arrayContaining(['warmup_steps=100'])}})
    const plain = await cmd(Launch, '--recipe', 'toy', '--set', 'max_steps=1', '--set', 'step_time_ms=0')
    expect((await events('launch')).find((e) => e.run_id === plain.run_id)?.args.allow_new_keys).toBe(false)
  })

  it('fork with a bad --set or --patch is refused before anything starts', async () => {
    const parent = await completedParent()
    const before = {runs: [parent.run_id], dirs: [parent.run_id]}
    const typo = await refusedWithNothingStarted(await run(Fork, parent.run_id, '--set', 'learnign_rate=0.1'), 'UNKNOWN_CONFIG_KEY', before)
    expect(typo.details.nearest).toEqual(['learning_rate'])
    await refusedWithNothingStarted(await run(Fork, parent.run_id, '--step', '10', '--set', 'learning_rate=abc'), 'INVALID_VALUE', before)
    await refusedWithNothingStarted(await run(Fork, parent.run_id, '--set', 'learning_rate=1000000'), 'INVALID_VALUE', before)
    const patch = join(dir, 'patch.yaml')
    writeFileSync(patch, 'group_size: many\n')
    const patched = await refusedWithNothingStarted(await run(Fork, parent.run_id, '--patch', patch), 'INVALID_VALUE', before)
    expect(patched.details).toMatchObject({key: 'group_size', given: 'many'})
    expect(await events('fork')).toEqual([])
  })

  it('a running parent is not asked for a checkpoint when the fork\'s config is refused', async () => {
    const parent = (await launch('save_every=0', 'step_time_ms=10', 'max_steps=100000')).json.data
    await waitFor(async () => (await show(parent.run_id)).step >= 2, 'step 2')
    const out = await run(Fork, parent.run_id, '--set', 'learning_rate=fast')
    expect(out.json.error.code).toBe('INVALID_VALUE')
    const control = JSON.parse(readFileSync(join(parent.run_dir, 'control.json'), 'utf8'))
    expect(control.save_now ?? 0).toBe(0)
  })

  it('fork --allow-new-keys is recorded; the child\'s own forks accept the keys it already holds', async () => {
    const parent = await completedParent()
    const child = await cmd(Fork, parent.run_id, '--step', '10', '--set', 'warmup_steps=5', '--set', 'max_steps=20', '--allow-new-keys')
    expect(child.config.warmup_steps).toBe(5)
    expect((await events('fork'))[0]).toMatchObject({run_id: child.run_id, args: {allow_new_keys: true}})
    await until(child.run_id, 'completed')
    const grandchild = await cmd(Fork, child.run_id, '--step', '10', '--set', 'warmup_steps=6')
    expect(grandchild.config.warmup_steps).toBe(6)
    expect((await events('fork')).find((e) => e.run_id === grandchild.run_id)?.args.allow_new_keys).toBe(false)
    // Still typed by what the key held: a number.
    expect((await run(Fork, child.run_id, '--step', '10', '--set', 'warmup_steps=soon')).json.error.code).toBe('INVALID_VALUE')
  })

  it('a run recorded before schemas forks against the schema inferred from its config', async () => {
    const parent = await completedParent()
    const db = new Database(store)
    const row = db.prepare('SELECT body FROM recipe_specs JOIN runs USING (spec_id) WHERE run_id = ?').get(parent.run_id) as {body: string}
    const {schema, ...legacy} = JSON.parse(row.body)
    expect(schema).toBeTruthy()
    const legacyId = db.prepare('INSERT INTO recipe_specs (body) VALUES (?)').run(JSON.stringify(legacy)).lastInsertRowid
    db.prepare('UPDATE runs SET spec_id = ? WHERE run_id = ?').run(legacyId, parent.run_id)
    db.close()
    expect((await run(Fork, parent.run_id, '--step', '10', '--set', 'learnign_rate=0.1')).json.error).toMatchObject({code: 'UNKNOWN_CONFIG_KEY', details: {nearest: ['learning_rate']}})
    expect((await run(Fork, parent.run_id, '--step', '10', '--set', 'beta=high')).json.error).toMatchObject({code: 'INVALID_VALUE', details: {key: 'beta', expected: 'a number in [0, 100]'}})
    const child = await cmd(Fork, parent.run_id, '--step', '10', '--set', 'learning_rate=0.1', '--set', 'exit_code_at={"step":15,"code":0}')
    expect(child.config.learning_rate).toBe(0.1)
  })

  describe('modify', () => {
    let target: {run_id: string}
    beforeEach(async () => {
      target = (await launch('save_every=5', 'step_time_ms=10', 'max_steps=100000')).json.data
      await waitFor(async () => (await show(target.run_id)).checkpoints.length > 0, 'a checkpoint')
    })

    /** Run the command a suggested_action proposes (`autolab modify|fork …`), which must succeed. */
    const followSuggestion = async (action: string) => {
      const match = /autolab (modify|fork) ([^`]+?)(?:`|$)/.exec(action)
      expect(match, action).not.toBeNull()
      const [, verb, rest] = match!
      const argv = rest.trim().split(/\s+/).map((word) => word.replace(/^'(.*)'$/, '$1'))
      const out = await run(verb === 'modify' ? Modify : Fork, ...argv)
      expect(out.json.ok, `${action} → ${out.stdout}`).toBe(true)
      return {verb, argv, data: out.json.data}
    }

    it('--set learning_rate=fast is INVALID_VALUE (not PARAM_OUT_OF_RANGE); 1e6 is PARAM_OUT_OF_RANGE', async () => {
      const fast = await run(Modify, target.run_id, '--set', 'learning_rate=fast')
      expect(fast.exitCode).toBe(2)
      expect(fast.json.error).toMatchObject({code: 'INVALID_VALUE', details: {param: 'learning_rate', expected: 'a number in [0, 100000]', given: 'fast'}})
      const high = await run(Modify, target.run_id, '--set', 'learning_rate=1000000')
      expect(high.json.error).toMatchObject({code: 'PARAM_OUT_OF_RANGE', details: {param: 'learning_rate', min: 0, max: 100000}})
      // Launch and fork hold the same range: no fork is proposed to get past it.
      expect(high.json.error.suggested_action).not.toMatch(/autolab fork/)
      expect((await show(target.run_id)).config_versions).toHaveLength(1)
    })

    it('a typo of a hot key points to the hot key, and that command works', async () => {
      const out = await run(Modify, target.run_id, '--set', 'learnign_rate=0.02')
      expect(out.json.error).toMatchObject({code: 'PARAM_NOT_MODIFIABLE', details: {param: 'learnign_rate', known_key: false, nearest: ['learning_rate']}})
      expect(out.json.error.suggested_action).not.toContain('--set learnign_rate')
      const followed = await followSuggestion(out.json.error.suggested_action)
      expect(followed).toMatchObject({verb: 'modify', argv: [target.run_id, '--set', 'learning_rate=0.02']})
    })

    it('a typo of a cold key points to a fork with the right key, which works', async () => {
      const out = await run(Modify, target.run_id, '--set', 'gruop_size=4')
      expect(out.json.error).toMatchObject({code: 'PARAM_NOT_MODIFIABLE', details: {nearest: ['group_size']}})
      const followed = await followSuggestion(out.json.error.suggested_action)
      expect(followed.verb).toBe('fork')
      expect(followed.data.config.group_size).toBe(4)
    })

    it('a known cold key proposes a fork only with a valid value', async () => {
      const valid = await run(Modify, target.run_id, '--set', 'group_size=4')
      expect(valid.json.error.code).toBe('PARAM_NOT_MODIFIABLE')
      expect((await followSuggestion(valid.json.error.suggested_action)).data.config.group_size).toBe(4)
      const invalid = await run(Modify, target.run_id, '--set', 'group_size=1')
      expect(invalid.json.error.code).toBe('PARAM_NOT_MODIFIABLE')
      expect(invalid.json.error.suggested_action).not.toContain('group_size=1')
      expect(invalid.json.error.suggested_action).toContain('an integer in [2, 4096]')
    })

    it('a key unlike any other proposes a fork with --allow-new-keys, which works', async () => {
      const out = await run(Modify, target.run_id, '--set', 'zzz_knob=3')
      expect(out.json.error).toMatchObject({code: 'PARAM_NOT_MODIFIABLE', details: {nearest: []}})
      const followed = await followSuggestion(out.json.error.suggested_action)
      expect(followed.argv).toContain('--allow-new-keys')
      expect(followed.data.config.zzz_knob).toBe(3)
    })
  })
})
