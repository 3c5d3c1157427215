// argv before oclif: global flags anywhere, and what --json gets instead of help text.
import {describe, expect, it} from 'vitest'
import {hoistGlobalFlags, incompleteCommand} from '../../src/argv.js'

const IDS = ['campaign:create', 'campaign:list', 'runs', 'show', 'launch']

describe('hoistGlobalFlags', () => {
  it.each([
    [['campaign', '--json', 'create', 'sweep'], ['campaign', 'create', 'sweep', '--json']],
    [['--json', 'campaign', 'create', 'sweep'], ['campaign', 'create', 'sweep', '--json']],
    [['--store', 'a.db', 'campaign', '--debug', 'list'], ['campaign', 'list', '--store', 'a.db', '--debug']],
    [['--store=a.db', '--project=p.yaml', 'runs', '--limit', '3'], ['runs', '--limit', '3', '--store=a.db', '--project=p.yaml']],
    [['--actor', 'me', 'launch', '--recipe', 'toy', '--set', 'a=1'], ['launch', '--recipe', 'toy', '--set', 'a=1', '--actor', 'me']],
    [['runs', '--json', '--limit', '3'], ['runs', '--limit', '3', '--json']],
  ])('%j → %j', (argv, expected) => {
    expect(hoistGlobalFlags(argv)).toEqual(expected)
  })

  it('a global flag\'s value moves with it, even when it looks like a command or a flag', () => {
    expect(hoistGlobalFlags(['--store', 'runs', 'show', 'r1'])).toEqual(['show', 'r1', '--store', 'runs'])
    expect(hoistGlobalFlags(['runs', '--store', '--json'])).toEqual(['runs', '--store', '--json'])
  })

  it('nothing moves past `--`, and a value-taking flag at the end is left for oclif to report', () => {
    expect(hoistGlobalFlags(['note', '--json', '--', '--store', 'x'])).toEqual(['note', '--json', '--', '--store', 'x'])
    expect(hoistGlobalFlags(['--json', 'runs', '--store'])).toEqual(['runs', '--store', '--json'])
    expect(hoistGlobalFlags(['--store', '--', 'runs'])).toEqual(['--store', '--', 'runs'])
  })

  it('leaves argv without global flags, and look-alikes, untouched', () => {
    expect(hoistGlobalFlags(['show', 'r1', '--jsonx', '--no-json'])).toEqual(['show', 'r1', '--jsonx', '--no-json'])
    expect(hoistGlobalFlags([])).toEqual([])
  })
})

describe('incompleteCommand (with --json)', () => {
  it('no command at all', () => {
    expect(incompleteCommand(['--json'], IDS)).toBe('')
    expect(incompleteCommand(['--json', '--store', 'x'], IDS)).toBe('')
    expect(incompleteCommand(['--limit', '3', '--json'], IDS)).toBe('--limit')
  })

  it('a topic without one of its commands, including a word oclif stops at', () => {
    expect(incompleteCommand(['campaign', '--json'], IDS)).toBe('campaign')
    expect(incompleteCommand(['campaign', 'bogus', '--json'], IDS)).toBe('campaign')
    expect(incompleteCommand(['campaign', 'x=1', '--json'], IDS)).toBe('campaign')
  })

  it('leaves commands, unknown words, --help, --version and human output to oclif', () => {
    expect(incompleteCommand(['campaign', 'create', 'sweep', '--json'], IDS)).toBeUndefined()
    expect(incompleteCommand(['runs', '--json'], IDS)).toBeUndefined()
    expect(incompleteCommand(['nope', '--json'], IDS)).toBeUndefined()
    expect(incompleteCommand(['campaign', '--help', '--json'], IDS)).toBeUndefined()
    expect(incompleteCommand(['--version', '--json'], IDS)).toBeUndefined()
    expect(incompleteCommand(['campaign'], IDS)).toBeUndefined()
  })
})
