// A command named exactly runs directly on a light Config; everything else goes to oclif's run.
import {describe, expect, it} from 'vitest'
import {COMMANDS} from '../../src/cli.js'
import {commandConfig, directCommand} from '../../src/fast-start.js'
import {REPO_ROOT} from '../helpers/cli.js'

describe('the direct start of a command', () => {
  it('finds a command or a topic command at the head of argv, with the rest as its argv', () => {
    expect(directCommand(['runs', '--json', '--limit', '5'], COMMANDS)).toEqual({id: 'runs', argv: ['--json', '--limit', '5']})
    expect(directCommand(['campaign', 'create', 'sweep', '--goal', 'g'], COMMANDS)).toEqual({id: 'campaign:create', argv: ['sweep', '--goal', 'g']})
    expect(directCommand(['eval', 'r3', '--suite', 'heldout'], COMMANDS)).toEqual({id: 'eval', argv: ['r3', '--suite', 'heldout']})
    expect(directCommand(['eval', 'show', 'e1'], COMMANDS)).toEqual({id: 'eval:show', argv: ['e1']})
    // A value after -- is the command's, not a help request.
    expect(directCommand(['note', '--', '--help'], COMMANDS)).toEqual({id: 'note', argv: ['--', '--help']})
  })

  it('leaves help, the version, topics, unknown commands, an empty argv and guide (it reads every command\'s metadata) to oclif', () => {
    for (const argv of [['guide', '--json'], ['runs', '--help'], ['runs', '-h'], ['--version'], ['campaign'], ['lanch'], [], ['--json'], ['campaign', 'nope']]) {
      expect(directCommand(argv, COMMANDS), argv.join(' ')).toBeUndefined()
    }
  })

  it('gives the command what oclif would: bin, name, version, the topic separator and its directories', () => {
    const config = commandConfig(REPO_ROOT)
    expect(config).toMatchObject({bin: 'autolab', name: 'autolab', version: expect.stringMatching(/^\d+\.\d+\.\d+/), topicSeparator: ' ', dirname: 'autolab'})
    expect(config.configDir).toMatch(/autolab$/)
    expect(config.scopedEnvVarKey('STORE')).toBe('AUTOLAB_STORE')
  })
})
