import {execFileSync} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {expandTemplate, isSafeName, safeName, scanTemplate, shellQuote, templateQuotingProblem} from '../../src/lib/shell.js'

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

describe('placeholders and the quoting around them (POSIX sh rules)', () => {
  const contexts = (template: string) => scanTemplate(template).placeholders.map((p) => `${p.name}:${p.context}`)

  it.each([
    ['{node} {examples}/train.js --out={run_dir}/x', ['node:unquoted', 'examples:unquoted', 'run_dir:unquoted']],
    ['echo "{run_dir}/x"', ['run_dir:double-quoted']],
    ["cat '{config}'", ['config:single-quoted']],
    ['train "--out={run_dir}" --cfg {config}', ['run_dir:double-quoted', 'config:unquoted']],
    ['echo "a \\" still inside {run_dir}"', ['run_dir:double-quoted']],
    ['echo \\"{project_dir}\\"', ['project_dir:unquoted']],
    ["echo \\'{project_dir}\\'", ['project_dir:unquoted']],
    ["echo 'it\\'{run_dir}", ['run_dir:unquoted']],
    ['echo "\\{run_dir}"', ['run_dir:double-quoted']],
    ['echo \\{run_dir}', ['run_dir:escaped']],
    ['echo ${run_dir}', ['run_dir:dollar']],
    ["echo ok # it's {run_dir}\necho {config}", ['run_dir:comment', 'config:unquoted']],
    ['echo a#{run_dir}', ['run_dir:unquoted']],
    ['echo "$(cat {config})"', ['config:double-quoted']],
    ["echo \"it's\" {run_dir} 'say \"hi\"' {config}", ['run_dir:unquoted', 'config:unquoted']],
    ['echo {x y} {}', []],
  ])('%j → %j', (template, expected) => {
    expect(contexts(template)).toEqual(expected)
  })

  it('reports a quote left open', () => {
    expect(scanTemplate('echo "open {run_dir}').unterminated).toBe('double')
    expect(scanTemplate("echo 'open").unterminated).toBe('single')
    expect(scanTemplate('echo \\"closed').unterminated).toBeNull()
  })

  it('templateQuotingProblem names the placeholder and says to remove the quotes', () => {
    expect(templateQuotingProblem('echo {run_dir}/x --cfg {config}')).toBeUndefined()
    for (const template of ['echo "{run_dir}/x"', "cat '{config}'", 'train "--out={run_dir}"']) {
      const problem = templateQuotingProblem(template)
      expect(problem?.message).toContain('autolab quotes it for you; remove the quotes')
      expect(problem?.placeholder).toMatch(/^\{(run_dir|config)\}$/)
    }
    expect(templateQuotingProblem('echo \\{run_dir}')?.message).toMatch(/backslash/)
    expect(templateQuotingProblem('echo ${run_dir}')?.message).toMatch(/parameter syntax/)
    expect(templateQuotingProblem('# {run_dir}\necho hi')?.message).toMatch(/comment/)
    // Names that are not substituted are left alone, quoted or not.
    expect(templateQuotingProblem('echo "{other}"', (name) => name === 'run_dir')).toBeUndefined()
  })

  describe('run through sh with hostile values', () => {
    let cwd: string
    beforeEach(() => {
      cwd = mkdtempSync(join(tmpdir(), 'autolab-shell-'))
    })
    afterEach(() => rmSync(cwd, {recursive: true, force: true}))
    const hostile = ['proj $(touch PWNED) x', "a'; touch PWNED; 'b", 'a"; touch PWNED; "b', 'x\ntouch PWNED\n', '`touch PWNED`', "it's \\' $(touch PWNED)"]
    const sh = (command: string) => execFileSync('sh', ['-c', command], {cwd, encoding: 'utf8'})

    it.each(hostile)('a sound template passes %j through as one literal word, running nothing', (value) => {
      const out = sh(expandTemplate('printf "<%s>" {run_dir} # done', {run_dir: value}))
      expect(out).toBe(`<${value}>`)
      const escapedQuotes = sh(expandTemplate('printf "%s" \\"{run_dir}\\"', {run_dir: value}))
      expect(escapedQuotes).toBe(`"${value}"`)
      expect(existsSync(join(cwd, 'PWNED'))).toBe(false)
    })

    it('a quoted placeholder is refused at expansion; expanded naively it would have run the value', () => {
      const value = 'proj $(touch PWNED) x'
      for (const template of ['printf "%s" "{run_dir}"', "printf '%s' '{run_dir}'"]) {
        expect(() => expandTemplate(template, {run_dir: value})).toThrow(expect.objectContaining({code: 'INVALID_CONFIG', message: expect.stringContaining('remove the quotes')}))
      }
      // Why: the surrounding double quotes turn the value's own single quotes into plain characters.
      sh(`printf "%s" "${shellQuote(value)}"`)
      expect(existsSync(join(cwd, 'PWNED'))).toBe(true)
    })
  })
})
