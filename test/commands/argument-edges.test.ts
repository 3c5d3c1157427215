// Argument edges, in-process: every integer flag is bounded to safe integers, and --set and
// config files are bounded and cannot reach a prototype. Each answer is the error envelope
// with its stable code, never INTERNAL.
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {COMMANDS} from '../../src/cli.js'
import Compare from '../../src/commands/compare.js'
import History from '../../src/commands/history.js'
import Launch from '../../src/commands/launch.js'
import Log from '../../src/commands/log.js'
import Runs from '../../src/commands/runs.js'
import Samples from '../../src/commands/samples.js'
import Wait from '../../src/commands/wait.js'
import {MAX_WAIT_SECONDS} from '../../src/command-args.js'
import {createStore, removeDir, runCommand, tempDir} from './run-command.js'

const HUGE = ['9223372036854775808', '99999999999999999999', '9007199254740992', '-9007199254740992']

describe('argument edges in-process', () => {
  let dir: string
  let store: string
  beforeEach(async () => {
    dir = tempDir()
    store = await createStore(dir)
  })
  afterEach(() => removeDir(dir))

  describe('integer flags', () => {
    it.each([
      ['runs', '--limit', Runs, [], 1],
      ['log', '--limit', Log, [], 1],
      ['log', '--since', Log, [], 0],
      ['samples', '-n', Samples, ['r1'], 1],
      ['history', '--last', History, ['r1'], 1],
      ['history', '--from', History, ['r1'], Number.MIN_SAFE_INTEGER],
      ['compare', '--to', Compare, ['r1', '--metric', 'reward'], Number.MIN_SAFE_INTEGER],
      ['wait', '--timeout', Wait, [], 0, MAX_WAIT_SECONDS],
    ] as const)('%s %s: values past 2^53 are INVALID_ARGUMENT naming the flag and its range', async (_id, flag, command, args, min, max: number = Number.MAX_SAFE_INTEGER) => {
      for (const value of HUGE) {
        const out = await runCommand(command, [...args, flag, value, '--store', store])
        expect(out.json.ok, out.stdout).toBe(false)
        expect(out.json.error.code).toBe('INVALID_ARGUMENT')
        expect(out.exitCode).toBe(2)
        expect(out.json.error.message).toContain(`${flag} `)
        expect(out.json.error.message).toContain(`from ${min} to ${max}`)
        expect(out.json.error.message).not.toMatch(/Parsing|See more help/)
      }
    })

    it('the largest safe integer is accepted where the flag has no upper bound', async () => {
      const out = await runCommand(Runs, ['--limit', String(Number.MAX_SAFE_INTEGER), '--store', store])
      expect(out.json).toMatchObject({ok: true, data: {runs: []}})
    })

    it.each(['1e400', 'NaN', '1.5', '0x10', '', '٣', '-1'])('--limit %j is INVALID_ARGUMENT', async (value) => {
      const out = await runCommand(Runs, ['--limit', value, '--store', store])
      expect(out.json.error).toMatchObject({code: 'INVALID_ARGUMENT', details: {flag: 'limit', min: 1, max: Number.MAX_SAFE_INTEGER}})
    })

    it('no wait is longer than a day (Node timers overflow past ~24.8 days and would fire at once)', async () => {
      const waits = Object.entries(COMMANDS).flatMap(([id, command]) => Object.entries(command.flags ?? {})
        .filter(([name]) => name === 'timeout' || name === 'grace').map(([name, flag]) => [id, name, flag] as const))
      expect(waits.map(([id, name]) => `${id} --${name}`).sort()).toEqual(['fork --timeout', 'kill --grace', 'modify --timeout', 'pause --timeout', 'wait --timeout'])
      for (const [id, name, flag] of waits as unknown as [string, string, {parse: (...a: unknown[]) => unknown}][]) {
        await expect(Promise.resolve().then(() => flag.parse(String(MAX_WAIT_SECONDS + 1), {}, {...flag, name})), `${id} --${name}`).rejects.toMatchObject({code: 'INVALID_ARGUMENT'})
        expect(await flag.parse(String(MAX_WAIT_SECONDS), {}, {...flag, name})).toBe(MAX_WAIT_SECONDS)
      }
    })

    it('every integer flag of every command is bounded (one helper, integerFlag)', async () => {
      for (const [id, command] of Object.entries(COMMANDS)) {
        for (const [name, flag] of Object.entries(command.flags ?? {}) as [string, {type: string; parse?: (...a: unknown[]) => unknown}][]) {
          if (flag.type !== 'option' || !flag.parse) continue
          // A flag that takes 12 takes integers: it must refuse 2^63.
          const twelve = await Promise.resolve(flag.parse('12', {}, {...flag, name})).catch(() => undefined)
          if (twelve !== 12) continue
          await expect(Promise.resolve().then(() => flag.parse!('9223372036854775808', {}, {...flag, name})), `${id} --${name}`).rejects.toMatchObject({code: 'INVALID_ARGUMENT'})
        }
      }
    })
  })

  describe('--set and config files', () => {
    const launch = (...args: string[]) => runCommand(Launch, ['--recipe', 'toy', '--store', store, ...args])

    it('5,000 nested brackets in --set are INVALID_VALUE naming the key', async () => {
      const out = await launch('--set', `x=${'['.repeat(5000)}${']'.repeat(5000)}`)
      expect(out.json.error).toMatchObject({code: 'INVALID_VALUE', message: expect.stringContaining('--set x')})
      expect(out.exitCode).toBe(2)
    })

    it.each(['__proto__.x=1', 'constructor.prototype.x=1', 'x={"__proto__":{"polluted":1}}'])('--set %s is INVALID_ARGUMENT, nothing launched', async (assignment) => {
      const out = await launch('--set', assignment)
      expect(out.json.error.code).toBe('INVALID_ARGUMENT')
      expect(out.json.error.message).toMatch(/__proto__|constructor/)
      expect((await runCommand(Runs, ['--store', store])).json.data.runs).toEqual([])
    })

    it('--config files are checked the same way (and --patch, read by the same readConfigFile: test/unit/input-files.test.ts)', async () => {
      const deep = join(dir, 'deep.json')
      writeFileSync(deep, `{"x": ${'['.repeat(5000)}${']'.repeat(5000)}}`)
      const proto = join(dir, 'proto.json')
      writeFileSync(proto, '{"__proto__": {"polluted": 1}}')
      expect((await launch('--config', deep)).json.error.code).toBe('INVALID_VALUE')
      expect((await launch('--config', proto)).json.error).toMatchObject({code: 'INVALID_ARGUMENT', details: {key: '__proto__'}})
      expect((await launch('--config', dir)).json.error.code).toBe('INVALID_ARGUMENT')
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    })
  })
})
