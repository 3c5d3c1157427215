import {execFileSync} from 'node:child_process'
import {describe, expect, it} from 'vitest'
import {expandTemplate, isSafeName, safeName, shellQuote} from '../../src/lib/shell.js'

const echoThroughSh = (word: string) => execFileSync('sh', ['-c', `printf '%s' ${word}`], {encoding: 'utf8'})

describe('shell quoting', () => {
  it.each([
    'plain', 'with space', "it's", 'a"b', '$(touch /tmp/pwned)', '`id`', 'semi;colon', 'new\nline', '', '*', '~root', '-n', 'back\\slash', '!bang', '${HOME}',
  ])('sh sees %j exactly as given', (value) => {
    expect(echoThroughSh(shellQuote(value))).toBe(value)
  })

  it('rejects NUL bytes', () => {
    expect(() => shellQuote('a\0b')).toThrow(expect.objectContaining({code: 'INVALID_ARGUMENT'}))
  })

  it('expands templates with every value quoted, leaving unknown placeholders', () => {
    const command = expandTemplate('{node} {examples}/train.js --x {unknown}', {node: '/usr/bin/node', examples: "/tmp/my dir/it's"})
    expect(command).toBe(`/usr/bin/node '/tmp/my dir/it'\\''s'/train.js --x {unknown}`)
  })

  it('accepts safe names and refuses path tricks', () => {
    for (const ok of ['r1', 'lr-0.05', 'A_b.c']) expect(isSafeName(ok)).toBe(true)
    for (const bad of ['', '../x', 'a/b', '.hidden', 'a b', 'x'.repeat(65), 'a..b', '-n']) expect(isSafeName(bad)).toBe(false)
    expect(() => safeName('run name', '../etc')).toThrow(expect.objectContaining({code: 'INVALID_ARGUMENT'}))
  })
})
