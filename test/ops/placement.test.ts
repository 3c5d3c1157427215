// GPU placement across hosts, in-process on a real store: two SSH hosts of 4 GPUs declared in a
// project file, executors replaced by fakes (no processes or connections are needed to decide a
// placement; spawning is the executors' business and is tested elsewhere).
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {type Ctx, openContext} from '../../src/lib/context.js'
import type {Executor} from '../../src/lib/hosts/executor.js'
import {type LaunchResult, launchRun, startQueuedRun} from '../../src/lib/runs/launch.js'
import {hostCapacity, placeRun} from '../../src/lib/runs/placement.js'
import {resumeRun} from '../../src/lib/runs/pause.js'
import {getRun} from '../../src/lib/runs/queries.js'
import {transition} from '../../src/lib/runs/state-machine.js'
import {statusBar} from '../../src/lib/status.js'
import {removeDir, tempDir} from '../commands/run-command.js'

/** An executor that records what it is asked and starts nothing. */
class FakeExecutor {
  listed = 0
  created: string[] = []
  onList?: () => Promise<void>
  constructor(readonly root: string, readonly dirs: string[] = []) {}
  runDir(runId: string): string {
    return `${this.root}/runs/${runId}`
  }
  async listRunDirs(): Promise<string[]> {
    this.listed++
    const hook = this.onList
    this.onList = undefined
    await hook?.()
    return [...this.dirs]
  }
  async createRunDir(runDir: string): Promise<void> {
    this.created.push(runDir)
  }
  async writeFileAtomic(): Promise<void> {}
  async reach(): Promise<void> {}
  async launch(): Promise<{pid: number}> {
    return {pid: 4_000_000 + this.created.length}
  }
  close(): void {}
}

function errorOf(promise: Promise<unknown>): Promise<{code: string; message: string; retryable: boolean; details: any; suggestedAction: string}> {
  return promise.then(() => {
    throw new Error('expected an error')
  }, (error) => error)
}

describe('placement across hosts', () => {
  let dir: string
  let ctx: Ctx
  let hosts: Record<string, FakeExecutor>
  const launch = (options: Partial<Parameters<typeof launchRun>[1]> = {}) => launchRun(ctx, {recipe: 'hold', ...options})
  /** Live runs' (host, GPU) pairs, each once. */
  const slots = () => ctx.store.sqlite.prepare("SELECT host_id, gpus FROM runs WHERE status IN ('starting','running','pausing','killing')").all()
    .flatMap((r: any) => (JSON.parse(r.gpus) as string[]).map((g) => `${r.host_id}/${g}`))

  beforeEach(async () => {
    dir = tempDir('autolab-place-')
    const project = join(dir, 'autolab.yaml')
    writeFileSync(project, [
      'hosts:',
      '  gpu-a:', '    ssh: a.example', '    root: /srv/a', '    gpus: [0, 1, 2, 3]',
      '  gpu-b:', '    ssh: b.example', '    root: /srv/b', '    gpus: [0, 1, 2, 3]',
      'recipes:', '  hold:', '    gpus: 1', '    command: "exec sleep 60"', '',
    ].join('\n'))
    ctx = await openContext({store: join(dir, 'autolab.db'), create: true, project, log: () => {}})
    // gpu-b holds a stray run dir r7 (another store's): no new run id may land on it there.
    hosts = {'gpu-a': new FakeExecutor('/srv/a'), 'gpu-b': new FakeExecutor('/srv/b', ['r7']), local: new FakeExecutor(join(dir))}
    ctx.executor = (hostId: string) => hosts[hostId] as unknown as Executor
  })
  afterEach(() => {
    ctx.store.close()
    removeDir(dir)
  })

  it('eight 1-GPU runs on two 4-GPU hosts get eight distinct slots; the ninth is NO_CAPACITY or queued; tick re-places it where one ended', async () => {
    const runs: LaunchResult[] = []
    for (let i = 0; i < 8; i++) runs.push(await launch())
    expect(runs.map((r) => `${r.host}/${r.gpus.join(',')}`)).toEqual(['gpu-a/0', 'gpu-a/1', 'gpu-a/2', 'gpu-a/3', 'gpu-b/0', 'gpu-b/1', 'gpu-b/2', 'gpu-b/3'])
    expect(new Set(slots()).size).toBe(8)
    expect(runs.every((r) => r.placement === 'auto' && r.status === 'running')).toBe(true)
    // The run dir is the placed host's; ids on gpu-b skip its stray r7; a launch lists only the host it lands on.
    expect(runs.map((r) => r.run_id)).toEqual(['r1', 'r2', 'r3', 'r4', 'r8', 'r9', 'r10', 'r11'])
    expect(runs[4]!.run_dir).toBe('/srv/b/runs/r8')
    expect([hosts['gpu-a']!.listed, hosts['gpu-b']!.listed, hosts.local!.listed]).toEqual([4, 4, 0])

    const full = await errorOf(launch())
    expect(full).toMatchObject({code: 'NO_CAPACITY', retryable: true})
    expect(full.details.needed).toBe(1)
    expect(full.details.hosts.map((h: any) => [h.host, h.total, h.free])).toEqual([['gpu-a', 4, 0], ['gpu-b', 4, 0], ['local', 0, 0]])
    expect(full.details.hosts[1].busy).toEqual(['0', '1', '2', '3'].map((gpu, i) => ({gpu, run_id: runs[4 + i]!.run_id})))
    expect(full.message).toContain('gpu-b: 0 of 4 free, busy with r8 (GPU 0)')
    expect(full.suggestedAction).toContain('--queue')

    const ninth = await launch({queue: true})
    expect(ninth).toMatchObject({status: 'queued', gpus: [], placement: 'auto', host: 'gpu-a'})
    // A pinned queued run waits for its own host only.
    const pinned = await launch({queue: true, host: 'gpu-a'})
    expect(pinned).toMatchObject({status: 'queued', placement: 'pinned', host: 'gpu-a'})
    await expect(startQueuedRun(ctx, ninth.run_id)).rejects.toMatchObject({code: 'NO_CAPACITY'})

    // One run on gpu-b ends: the auto run moves there (host and run dir in the same transaction).
    ctx.store.write(() => {
      transition(ctx.store, runs[6]!.run_id, 'running', 'killing')
      transition(ctx.store, runs[6]!.run_id, 'killing', 'killed')
    })
    await expect(startQueuedRun(ctx, pinned.run_id)).rejects.toMatchObject({code: 'NO_CAPACITY'})
    expect(getRun(ctx.store, pinned.run_id).status).toBe('queued')
    const started = await startQueuedRun(ctx, ninth.run_id)
    expect(started).toMatchObject({run_id: ninth.run_id, status: 'running', host: 'gpu-b', gpus: ['2'], run_dir: `/srv/b/runs/${ninth.run_id}`})
    expect(hosts['gpu-b']!.created.at(-1)).toBe(`/srv/b/runs/${ninth.run_id}`)
    expect(new Set(slots()).size).toBe(8)
    expect(slots()).toHaveLength(8)

    // The status bar: per host, and the sum.
    const bar = statusBar(ctx)
    expect(bar.gpus).toEqual({free: 0, total: 8})
    expect(bar.hosts.map((h) => [h.host, h.kind, h.gpus_total, h.gpus_free, h.gpus_used])).toEqual([['gpu-a', 'ssh', 4, 0, 4], ['gpu-b', 'ssh', 4, 0, 4], ['local', 'local', 0, 0, 0]])
  })

  it('says no before acting when no host could ever fit the run, even with --queue', async () => {
    for (const options of [{gpus: 5}, {gpus: 5, queue: true}, {gpus: 1, host: 'local'}, {gpus: 1, host: 'local', queue: true}]) {
      const error = await errorOf(launch(options))
      expect(error).toMatchObject({code: 'NO_CAPACITY', retryable: false})
      expect(error.details).toMatchObject({needed: options.gpus, never_fits: true})
      expect(error.message).toContain('No host could ever fit')
    }
    const local = await errorOf(launch({gpus: 1, host: 'local'}))
    expect(local.suggestedAction).toContain('Declare GPU ids')
    // Nothing was listed, reserved or queued for the refusals.
    expect(ctx.store.sqlite.prepare('SELECT count(*) AS n FROM runs').get()).toEqual({n: 0})
    expect(hosts.local!.listed + hosts['gpu-a']!.listed + hosts['gpu-b']!.listed).toBe(0)
    // What fits one host is fine: 4 on gpu-a, recorded in the run's recipe spec (resume and the queue read it).
    const four = await launch({gpus: 4})
    expect(four).toMatchObject({host: 'gpu-a', gpus: ['0', '1', '2', '3']})
    expect(JSON.parse(getRun(ctx.store, four.run_id).recipe_spec).gpus).toBe(4)
    const unknown = await errorOf(launch({host: 'gpu-z'}))
    expect(unknown.code).toBe('HOST_NOT_FOUND')
    expect(unknown.details.hosts).toEqual(['gpu-a', 'gpu-b', 'local'])
  })

  it('keeps the new run id off the run dirs of the host finally chosen when a concurrent launch takes the predicted room', async () => {
    // gpu-a has one GPU left.
    for (let i = 0; i < 3; i++) await launch({host: 'gpu-a'})
    // While this launch lists gpu-a's dirs (the predicted host), another launch takes gpu-a's last GPU.
    let rival: LaunchResult | undefined
    hosts['gpu-a']!.onList = async () => {
      rival = await launch({host: 'gpu-a'})
    }
    const moved = await launch()
    expect(rival).toMatchObject({host: 'gpu-a', gpus: ['3']})
    expect(moved).toMatchObject({host: 'gpu-b', gpus: ['0'], run_id: 'r8', run_dir: '/srv/b/runs/r8'})
    expect(hostCapacity(ctx.store, 'gpu-a').free).toBe(0)
  })

  it('resume gets GPUs again on the run\'s own host: NO_CAPACITY while they are taken, --gpus changes the count for good', async () => {
    const paused = await launch({host: 'gpu-b', gpus: 2})
    expect(paused.gpus).toEqual(['0', '1'])
    ctx.store.write(() => {
      transition(ctx.store, paused.run_id, 'running', 'pausing')
      transition(ctx.store, paused.run_id, 'pausing', 'paused')
    })
    // A paused run holds nothing: its GPUs go to others; gpu-a stays free, but a resume never moves a run.
    const others = [await launch({host: 'gpu-b', gpus: 3})]
    const refused = await errorOf(resumeRun(ctx, {run: paused.run_id}))
    expect(refused).toMatchObject({code: 'NO_CAPACITY', retryable: true})
    expect(refused.details.hosts.map((h: any) => h.host)).toEqual(['gpu-b'])
    expect(refused.suggestedAction).not.toContain('--queue')
    expect(getRun(ctx.store, paused.run_id).status).toBe('paused')
    const resumed = await resumeRun(ctx, {run: paused.run_id, gpus: 1})
    expect(resumed).toMatchObject({status: 'running', host: 'gpu-b', gpus: ['3']})
    const row = getRun(ctx.store, paused.run_id)
    expect([row.placement, JSON.parse(row.recipe_spec).gpus]).toEqual(['pinned', 1])
    expect(others[0]!.gpus).toEqual(['0', '1', '2'])
  })

  it('placeRun takes the first host in order with room, and 0 GPUs fits anywhere', () => {
    const {store} = ctx
    store.write(() => {
      store.run(store.db.updateTable('hosts').set({gpus: '["7"]'}).where('host_id', '=', 'local'))
    })
    expect(store.write(() => placeRun(store, {hosts: ['local'], gpus: 1}))).toEqual({host_id: 'local', gpus: ['7'], status: 'starting'})
    expect(store.write(() => placeRun(store, {hosts: ['local'], gpus: 0}))).toEqual({host_id: 'local', gpus: [], status: 'starting'})
  })
})
