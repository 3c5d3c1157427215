// Files named by flags (--project, --config, --patch): bounded, and only regular files are read.
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {CONFIG_VALUE_LIMITS} from '../../src/lib/config-merge.js'
import {loadProject, readConfigFile} from '../../src/lib/project.js'
import {errorOf, removeDir, tempDir} from '../commands/run-command.js'


describe('files named by flags', () => {
  let dir: string
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text)
    return join(dir, name)
  }
  beforeAll(() => {
    dir = tempDir('autolab-input-files-')
    mkdirSync(join(dir, 'a-dir'))
  })
  afterAll(() => removeDir(dir))

  it('a config or patch file nested 5,000 deep is INVALID_VALUE naming the file, JSON or YAML', () => {
    const json = file('deep.json', `{"x": ${'['.repeat(5000)}${']'.repeat(5000)}}`)
    expect(errorOf(() => readConfigFile(json))).toMatchObject({code: 'INVALID_VALUE', message: expect.stringContaining(json)})
    const yaml = file('deep.yaml', `x: ${'['.repeat(5000)}${']'.repeat(5000)}\n`)
    expect(errorOf(() => readConfigFile(yaml)).code).toBe('INVALID_VALUE')
    const justOver = file('over.json', `{"x": ${'['.repeat(CONFIG_VALUE_LIMITS.maxDepth)}${']'.repeat(CONFIG_VALUE_LIMITS.maxDepth)}}`)
    expect(errorOf(() => readConfigFile(justOver)).code).toBe('INVALID_VALUE')
  })

  it('a config file over the size bound is INVALID_VALUE, without parsing it', () => {
    const big = file('big.json', `{"x": "${'y'.repeat(CONFIG_VALUE_LIMITS.maxBytes)}"}`)
    expect(errorOf(() => readConfigFile(big))).toMatchObject({code: 'INVALID_VALUE', details: {max_bytes: CONFIG_VALUE_LIMITS.maxBytes}})
  })

  it('__proto__, constructor or prototype as a key in a patch file is INVALID_ARGUMENT with its path', () => {
    const proto = file('proto.json', '{"optimizer": {"__proto__": {"polluted": true}}}')
    expect(errorOf(() => readConfigFile(proto))).toMatchObject({code: 'INVALID_ARGUMENT', details: {key: 'optimizer.__proto__'}})
    const yaml = file('ctor.yaml', 'a:\n  - constructor:\n      prototype: 1\n')
    expect(errorOf(() => readConfigFile(yaml))).toMatchObject({code: 'INVALID_ARGUMENT', details: {key: 'a[0].constructor'}})
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('a good file still reads', () => {
    expect(readConfigFile(file('ok.yaml', 'optimizer:\n  lr: 0.1\n'))).toEqual({optimizer: {lr: 0.1}})
  })

  // A FIFO and /dev/zero are tried by test/e2e/argv-edges.test.ts, in a process with a timeout:
  // here, a regression would block or exhaust this test process instead of failing.
  it('a directory is INVALID_ARGUMENT, not a crash', () => {
    for (const path of [join(dir, 'a-dir')]) {
      expect(errorOf(() => readConfigFile(path))).toMatchObject({code: 'INVALID_ARGUMENT', message: expect.stringContaining('not a regular file')})
      expect(errorOf(() => loadProject(path))).toMatchObject({code: 'INVALID_ARGUMENT', message: expect.stringContaining('Project file')})
    }
  })
})
