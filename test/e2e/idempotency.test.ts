// Retrying a launch with the same --idempotency-key returns the first answer instead of acting
// twice — sequentially and when the retries race; the same key with other arguments is a CONFLICT.
import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {expectError, expectOk} from '../helpers/cli.js'
import {setArgs, useSandboxes} from '../helpers/sandbox.js'

const sandbox = useSandboxes()

const CONFIG = {max_steps: 100_000, step_time_ms: 20, save_every: 0}
const launchArgs = (key: string, config: Record<string, unknown> = CONFIG) =>
  ['launch', '--recipe', 'toy', ...setArgs(config), '--idempotency-key', key, '--reason', 'idempotent launch']

const runDirs = (dir: string) => readdirSync(join(dir, 'runs'))

describe('launch --idempotency-key', () => {
  it('the same key and arguments twice give the same run, launched once', async () => {
    const sb = sandbox()
    const first = expectOk(await sb.json(launchArgs('k-1')))
    const second = expectOk(await sb.json(launchArgs('k-1')))
    expect(second.run_id).toBe(first.run_id)
    expect(second.pid).toBe(first.pid)
    const runs = await sb.runs()
    expect(runs.map((r: any) => r.run_id)).toEqual([first.run_id])
    expect(runDirs(sb.dir)).toEqual([first.run_id])
    const launches = (await sb.ok(['log'])).events.filter((e: any) => e.kind === 'launch')
    expect(launches, 'one launch in the decision log').toHaveLength(1)
  })

  it('the same key with a different --set is a CONFLICT (exit 4) and launches nothing', async () => {
    const sb = sandbox()
    const first = expectOk(await sb.json(launchArgs('k-2')))
    const error = expectError(await sb.json(launchArgs('k-2', {...CONFIG, learning_rate: 0.09})), 'CONFLICT', 4)
    expect(error.retryable).toBe(false)
    expect((await sb.runs()).map((r: any) => r.run_id)).toEqual([first.run_id])
  })

  it('different keys launch different runs', async () => {
    const sb = sandbox()
    const a = expectOk(await sb.json(launchArgs('k-a')))
    const b = expectOk(await sb.json(launchArgs('k-b')))
    expect(b.run_id).not.toBe(a.run_id)
    expect((await sb.runs()).map((r: any) => r.run_id)).toEqual([a.run_id, b.run_id])
  })

  it('racing retries with one key launch one run and all answer with it', async () => {
    const sb = sandbox()
    // The store exists first, so the race is about the key, not about creating the database.
    await sb.ok(['status'])
    const results = await Promise.all([1, 2, 3].map(() => sb.json(launchArgs('k-race'))))
    const ids = results.map((r) => expectOk(r).run_id)
    expect(new Set(ids).size, `answers: ${ids.join(', ')}`).toBe(1)
    const runs = await sb.runs()
    expect(runs.map((r: any) => r.run_id)).toEqual([ids[0]])
    expect(runDirs(sb.dir)).toEqual([ids[0]])
  })
})
