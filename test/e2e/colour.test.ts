// Colour for people, never forced on them: on a real terminal (a pty from script(1)) human output
// is coloured, and NO_COLOR or --no-color (anywhere in argv) turn it off; --json never has any.
import {execFileSync} from 'node:child_process'
import {describe, expect, it} from 'vitest'
import {BIN} from '../helpers/cli.js'
import {useSandboxes} from '../helpers/sandbox.js'

const sandbox = useSandboxes()

/** Run the CLI on a pseudo-terminal and return what it printed. */
function onTerminal(args: string[], env: Record<string, string> = {}): string {
  const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ')
  // A person's terminal, not the test runner's environment: chalk turns colour off when CI is set
  // (as CI services do) or TERM is dumb, so only PATH and HOME are carried over.
  const terminal = {PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', TERM: 'xterm-256color'}
  return execFileSync('script', ['-qec', quoted, '/dev/null'], {env: {...terminal, ...env}, encoding: 'utf8'})
}

const ESC = '\u001B['

describe('colour', () => {
  it('is on for a terminal, off with NO_COLOR or --no-color', async () => {
    const sb = sandbox()
    await sb.launch({max_steps: 3})
    const store = ['--store', sb.store]
    expect(onTerminal(['runs', ...store])).toContain(ESC)
    expect(onTerminal(['runs', ...store], {NO_COLOR: '1'})).not.toContain(ESC)
    expect(onTerminal(['runs', '--no-color', ...store])).not.toContain(ESC)
    expect(onTerminal(['campaign', '--no-color', 'list', ...store])).not.toContain(ESC)
    const json = onTerminal(['runs', '--json', ...store])
    expect(json).not.toContain(ESC)
  })
})
