// argv edges through the real bin/run.js: global flags anywhere (before, between and after a
// topic's words), --json without a complete command, help still being help, and files named by
// flags that a read would block on (a FIFO) or never finish (/dev/zero).
import {execFileSync} from 'node:child_process'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {expectError, expectNoStackTrace, expectOk} from '../helpers/cli.js'
import {useSandboxes} from '../helpers/sandbox.js'

const sandbox = useSandboxes()

describe('global flags anywhere', () => {
  it('campaign --json create sweep creates the campaign (a global flag between topic and subcommand)', async () => {
    const sb = sandbox()
    const created = expectOk(await sb.run(['campaign', '--json', 'create', 'sweep', '--goal', 'g']))
    expect(created).toMatchObject({campaign_id: 'sweep', current: true})
    // --store before the topic, in both spellings, and --actor between the words.
    expectOk(await sb.run([`--store=${sb.store}`, 'campaign', '--actor', 'me', 'create', 'other', '--json'], {store: false}))
    const listed = expectOk(await sb.run(['--store', sb.store, '--json', 'campaign', 'list'], {store: false}))
    expect(listed.campaigns.map((c: {name: string}) => c.name).sort()).toEqual(['default', 'other', 'sweep'])
  })

  it('a command\'s own flags still work around moved global flags', async () => {
    const sb = sandbox()
    expectOk(await sb.run(['--json', 'note', 'first', '--idempotency-key', 'k']))
    const log = expectOk(await sb.run(['log', '--json', '--limit', '1', '--kind', 'note']))
    expect(log.events).toHaveLength(1)
  })
})

describe('--json without a complete command', () => {
  it('nothing but --json is UNKNOWN_COMMAND, exit 2', async () => {
    const sb = sandbox()
    const error = expectError(await sb.run(['--json'], {store: false}), 'UNKNOWN_COMMAND', 2)
    expect(error.message).toMatch(/No command given/)
  })

  it('a topic alone is UNKNOWN_COMMAND listing its commands, not help text', async () => {
    const sb = sandbox()
    const error = expectError(await sb.run(['campaign', '--json'], {store: false}), 'UNKNOWN_COMMAND', 2)
    expect(error.details.commands).toContain('campaign:create')
    expect(error.message).toContain('campaign create')
  })

  it('an unknown command is UNKNOWN_COMMAND, wherever --json is', async () => {
    const sb = sandbox()
    expectError(await sb.run(['--json', 'lanch'], {store: false}), 'UNKNOWN_COMMAND', 2)
    expectError(await sb.run(['campaign', 'nope', '--json'], {store: false}), 'UNKNOWN_COMMAND', 2)
  })

  it('help is still help', async () => {
    const sb = sandbox()
    const root = await sb.run(['--help'], {store: false})
    expect(root.exitCode).toBe(0)
    expect(root.stdout).toMatch(/USAGE/)
    const topic = await sb.run(['campaign', '--help'], {store: false})
    expect(topic.exitCode).toBe(0)
    expect(topic.stdout).toContain('campaign create')
    const command = await sb.run(['runs', '--help'], {store: false})
    expect(command.stdout).toMatch(/GLOBAL FLAGS[\s\S]*--json/)
    expectNoStackTrace(command)
  })
})

describe('files named by flags', () => {
  it('a FIFO or /dev/zero as --project or --config is INVALID_ARGUMENT at once, not a hang', async () => {
    const sb = sandbox()
    const fifo = join(sb.dir, 'fifo')
    execFileSync('mkfifo', [fifo])
    for (const args of [['--project', fifo], ['--project', '/dev/zero'], ['--config', fifo], ['--config', '/dev/zero'], ['--config', sb.dir]]) {
      const r = await sb.run(['launch', '--recipe', 'toy', ...args, '--json'], {timeoutMs: 15_000})
      const error = expectError(r, 'INVALID_ARGUMENT', 2)
      expect(error.message).toContain('not a regular file')
    }
  })
})
