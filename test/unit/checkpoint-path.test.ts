// A checkpoint path a trainer announces must stay inside its run directory, symlinks followed;
// fork re-checks it before linking anything, and never changes the mode of a file outside.
import {chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {LocalExecutor, inspectCheckpointPath} from '../../src/lib/hosts/local.js'

describe('inspectCheckpointPath', () => {
  let root: string
  let runDir: string
  let outside: string
  beforeEach(() => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'autolab-ckpt-')))
    runDir = join(root, 'runs', 'r1')
    outside = join(root, 'outside')
    mkdirSync(join(runDir, 'checkpoints', 'step-5'), {recursive: true})
    writeFileSync(join(runDir, 'checkpoints', 'step-5', 'weights.bin'), 'abcd')
    mkdirSync(outside)
    writeFileSync(join(outside, 'secret'), 'precious')
    chmodSync(join(outside, 'secret'), 0o644)
  })
  afterEach(() => rmSync(root, {recursive: true, force: true}))

  it('accepts a checkpoint inside the run dir, relative or absolute, with its size', () => {
    const expected = {ok: true, path: join(runDir, 'checkpoints', 'step-5'), bytes: 4}
    expect(inspectCheckpointPath(runDir, 'checkpoints/step-5')).toEqual(expected)
    expect(inspectCheckpointPath(runDir, join(runDir, 'checkpoints/step-5'))).toEqual(expected)
    expect(inspectCheckpointPath(runDir, './checkpoints/../checkpoints/step-5')).toEqual(expected)
  })

  it('accepts a link that stays inside the run dir', () => {
    symlinkSync(join(runDir, 'checkpoints', 'step-5', 'weights.bin'), join(runDir, 'checkpoints', 'step-5', 'alias.bin'))
    expect(inspectCheckpointPath(runDir, 'checkpoints/step-5')).toMatchObject({ok: true})
  })

  it.each([
    ['an absolute path elsewhere', () => outside, 'outside the run directory'],
    ['a path climbing out', () => '../../../../../../etc', 'outside the run directory'],
    ['the run dir itself', () => '.', 'outside the run directory'],
    ['a missing path', () => 'checkpoints/step-6', 'no such file'],
  ])('refuses %s', (_what, path, reason) => {
    const check = inspectCheckpointPath(runDir, path())
    expect(check.ok).toBe(false)
    expect(!check.ok && check.reason).toContain(reason)
  })

  it('refuses a link that leads out, at the top or deep inside', () => {
    symlinkSync(outside, join(runDir, 'escape'))
    expect(inspectCheckpointPath(runDir, 'escape')).toMatchObject({ok: false, reason: expect.stringContaining('outside the run directory')})
    symlinkSync(join(outside, 'secret'), join(runDir, 'checkpoints', 'step-5', 'leak'))
    expect(inspectCheckpointPath(runDir, 'checkpoints/step-5')).toMatchObject({ok: false, reason: expect.stringContaining('leads outside')})
  })

  it('materializeCheckpoint refuses a source outside the run dir and changes no mode there', async () => {
    const executor = new LocalExecutor('local', root)
    await expect(executor.materializeCheckpoint(outside, join(root, 'runs', 'r2', 'checkpoints', 'step-5'), {copy: false, sourceRunDir: runDir}))
      .rejects.toMatchObject({code: 'RUN_NOT_FORKABLE'})
    symlinkSync(join(outside, 'secret'), join(runDir, 'checkpoints', 'step-5', 'leak'))
    await expect(executor.materializeCheckpoint(join(runDir, 'checkpoints', 'step-5'), join(root, 'runs', 'r2', 'checkpoints', 'step-5'), {copy: false, sourceRunDir: runDir}))
      .rejects.toMatchObject({code: 'RUN_NOT_FORKABLE'})
    expect(statSync(join(outside, 'secret')).mode & 0o777).toBe(0o644)
  })

  it('materializeCheckpoint links a good checkpoint, keeps inside links as links, and makes the files read-only', async () => {
    symlinkSync('weights.bin', join(runDir, 'checkpoints', 'step-5', 'alias.bin'))
    const executor = new LocalExecutor('local', root)
    const target = join(root, 'runs', 'r2', 'checkpoints', 'step-5')
    const result = await executor.materializeCheckpoint(join(runDir, 'checkpoints', 'step-5'), target, {copy: false, sourceRunDir: runDir})
    expect(result).toEqual({method: 'hardlink', bytes: 4, files: 1})
    expect(statSync(join(target, 'weights.bin')).ino).toBe(statSync(join(runDir, 'checkpoints', 'step-5', 'weights.bin')).ino)
    expect(statSync(join(target, 'weights.bin')).mode & 0o222).toBe(0)
    expect(statSync(join(target, 'alias.bin')).ino).toBe(statSync(join(target, 'weights.bin')).ino)
  })
})

describe('files autolab writes into a run dir', () => {
  it('never write through a symlink a trainer planted at the temp name or the target', async () => {
    const root = realpathSync(mkdtempSync(join(tmpdir(), 'autolab-write-')))
    try {
      const runDir = join(root, 'runs', 'r1')
      mkdirSync(runDir, {recursive: true})
      writeFileSync(join(root, 'victim'), 'untouched')
      symlinkSync(join(root, 'victim'), join(runDir, `control.json.tmp-${process.pid}`))
      const executor = new LocalExecutor('local', root)
      await executor.writeFileAtomic(runDir, 'control.json', '{"version":2}')
      symlinkSync(join(root, 'victim'), join(runDir, 'config.json'))
      await executor.writeFileAtomic(runDir, 'config.json', '{}')
      expect(readFileSync(join(root, 'victim'), 'utf8')).toBe('untouched')
      expect(readFileSync(join(runDir, 'control.json'), 'utf8')).toBe('{"version":2}')
      expect(lstatSync(join(runDir, 'config.json')).isSymbolicLink()).toBe(false)
    } finally {
      rmSync(root, {recursive: true, force: true})
    }
  })
})
