// Retrying a launch with the same --idempotency-key returns the first answer instead of acting
// twice — sequentially and when the retries race; the same key with other arguments is a CONFLICT.
import {existsSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {type CliResult, expectError, expectNoStackTrace, expectOk, expectOneJsonDocument, waitFor} from '../helpers/cli.js'
import {setArgs, useSandboxes} from '../helpers/sandbox.js'

const sandbox = useSandboxes()

// Short runs: idempotency does not depend on the run still training, and a run that ends by
// itself leaves nothing for cleanup to kill.
const CONFIG = {max_steps: 40, step_time_ms: 10, save_every: 0}
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

  it('racing retries with one key launch one run; every answer is that run or a retryable error', async () => {
    const sb = sandbox()
    // The store exists first, so the race is about the key, not about creating the database.
    await sb.ok(['status'])
    const results = await Promise.all([1, 2, 3].map(() => sb.json(launchArgs('k-race'))))
    const ids = new Set<string>()
    for (const r of results) {
      const doc = expectOneJsonDocument(r)
      expectNoStackTrace(r)
      if (doc.ok) ids.add(doc.data.run_id)
      else expect(doc.error.retryable, `a racing retry may only fail retryably: ${r.stdout}`).toBe(true)
    }
    expect(ids.size, `answers: ${[...ids].join(', ')}`).toBe(1)
    const [id] = ids
    // Retrying once the race is over replays the one run.
    expect(expectOk(await sb.json(launchArgs('k-race'))).run_id).toBe(id)
    expect((await sb.runs()).map((r: any) => r.run_id)).toEqual([id])
    expect(runDirs(sb.dir)).toEqual([id])
  })

  it('a retry while the first attempt is still in flight fails as transient (retryable, exit 5), then replays it', async () => {
    const sb = sandbox()
    await sb.ok(['status'])
    const first = sb.spawn([...launchArgs('k-inflight'), '--json'])
    // Freeze the first attempt as soon as its run directory exists: reserved, not yet answered.
    const runsDir = join(sb.dir, 'runs')
    await waitFor(() => existsSync(runsDir) && readdirSync(runsDir).length > 0, {intervalMs: 1, timeoutMs: 15_000, message: 'the first run directory'})
    process.kill(first.process.pid!, 'SIGSTOP')
    // If the freeze caught the first attempt inside a store transaction, the retry waits on the
    // store lock; after a bound it is stopped (killing an autolab process is safe) and this run
    // of the test only checks the replay.
    const retryProcess = sb.spawn([...launchArgs('k-inflight'), '--json'])
    let retry: CliResult | undefined
    try {
      retry = await Promise.race([retryProcess.result, new Promise<undefined>((r) => setTimeout(r, 5000, undefined))])
      if (retry === undefined) {
        retryProcess.process.kill('SIGKILL')
        await retryProcess.result.catch(() => undefined)
      }
    } finally {
      process.kill(first.process.pid!, 'SIGCONT')
    }
    const firstRun = expectOk(await first.result)
    if (retry !== undefined) {
      const doc = expectOneJsonDocument(retry)
      expectNoStackTrace(retry)
      if (doc.ok) {
        // The first attempt had already committed when it was frozen: a plain replay.
        expect(doc.data.run_id).toBe(firstRun.run_id)
      } else {
        // The contract's exit classes: 5 is transient/retryable; 4 is a state conflict.
        expect(doc.error.retryable, retry.stdout).toBe(true)
        expect(retry.exitCode, `a retryable error must exit with the transient class 5: ${retry.stdout}`).toBe(5)
      }
    }
    expect(expectOk(await sb.json(launchArgs('k-inflight'))).run_id).toBe(firstRun.run_id)
    expect((await sb.runs()).map((r: any) => r.run_id)).toEqual([firstRun.run_id])
  })
})
