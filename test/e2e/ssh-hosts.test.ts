// autolab on SSH hosts, end to end: the built CLI against two real OpenSSH servers on 127.0.0.1
// (hosts a and b, each with its own root and four declared GPU ids), driving the toy trainer
// there as an agent would. The "remote" machine is this one, so the test can look at the run
// directories and processes directly; everything autolab does goes through SSH.
import {existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parse, stringify} from 'yaml'
import {exampleProjectYaml} from '../../src/lib/project.js'
import {waitFor} from '../helpers/cli.js'
import {liveProcessGroupMembers} from '../helpers/processes.js'
import {type Sandbox, useSandboxes} from '../helpers/sandbox.js'
import {type SshClientSide, type Sshd, sshClient} from '../helpers/sshd.js'

const sandbox = useSandboxes()
let ssh: SshClientSide
let a: Sshd
let b: Sshd
/** A host whose key is in no known_hosts: autolab talks to it only once `host check --accept-new` pinned its key. */
let c: Sshd

beforeAll(async () => {
  ssh = sshClient()
  a = await ssh.addServer('gpu-a')
  b = await ssh.addServer('gpu-b')
  c = await ssh.addServer('gpu-c', {known: false})
}, 30_000)
afterAll(async () => ssh?.cleanup())

/** A sandbox whose project file declares the SSH hosts a and b (roots inside the sandbox) and a 1-GPU toy recipe. */
function sshSandbox(): Sandbox & {root(host: 'a' | 'b' | 'c'): string} {
  const sb = sandbox()
  const project = parse(exampleProjectYaml())
  const root = (host: string) => join(sb.dir, `root-${host}`)
  project.hosts = {
    a: {kind: 'ssh', ssh: 'gpu-a', root: root('a'), gpus: [0, 1, 2, 3]},
    b: {kind: 'ssh', ssh: 'gpu-b', root: root('b'), gpus: [0, 1, 2, 3]},
    c: {kind: 'ssh', ssh: 'gpu-c', root: root('c'), gpus: []},
    local: {kind: 'local', gpus: []},
  }
  project.recipes.toy.gpus = 1
  writeFileSync(join(sb.dir, 'autolab.yaml'), stringify(project))
  for (const host of ['a', 'b', 'c']) mkdirSync(root(host))
  // Every command of this sandbox finds the servers through the test's ssh_config.
  const withSsh = <T extends (args: string[], options?: any) => any>(fn: T): T => ((args: string[], options: any = {}) => fn(args, {...options, env: {...ssh.env, ...options.env}})) as T
  const wrapped = Object.assign(sb, {root})
  wrapped.spawn = withSsh(sb.spawn.bind(sb))
  return wrapped
}

const TOY = ['--set', 'step_time_ms=20', '--set', 'save_every=10']

describe('SSH hosts', () => {
  it('launch, observe, modify with ack, fork at a step, pause, resume and kill a run on an SSH host', async () => {
    const sb = sshSandbox()
    const run = await sb.ok(['launch', '--recipe', 'toy', '--host', 'a', ...TOY, '--set', 'max_steps=100000', '--reason', 'remote baseline'])
    expect(run).toMatchObject({host: 'a', status: 'running', gpus: ['0']})
    expect(run.run_dir).toBe(join(sb.root('a'), 'runs', run.run_id))
    // The trainer (a member of the run's process group) has the contract's environment, its GPU in CUDA_VISIBLE_DEVICES.
    const trainerEnv = await waitFor(() => liveProcessGroupMembers(run.pid).map((pid) => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0'))
      .find((env) => env.includes(`AUTOLAB_RUN_DIR=${run.run_dir}`)), {message: 'the trainer process'})
    expect(trainerEnv).toContain('CUDA_VISIBLE_DEVICES=0')

    const observed = await waitFor(async () => {
      const synced = await sb.ok(['sync'])
      const shown = (await sb.ok(['show', run.run_id])).run
      return synced.hosts.some((h: any) => h.host === 'a' && h.synced) && shown.step >= 20 && shown.checkpoints.length >= 2 ? shown : undefined
    }, {timeoutMs: 30_000, message: 'remote steps and checkpoints in the store'})
    expect(observed.status).toBe('running')

    const modified = await sb.ok(['modify', run.run_id, '--set', 'learning_rate=0.02', '--wait', '--timeout', '30', '--reason', 'lower lr'])
    expect(modified.status).toBe('acknowledged')
    expect(modified.effective_step).toBeGreaterThan(0)

    const child = await sb.ok(['fork', run.run_id, '--step', '10', '--reason', 'branch'])
    expect(child).toMatchObject({host: 'a', fork_step: 10, materialized: 'hardlink', status: 'running'})
    expect(child.checkpoint).toBe(join(sb.root('a'), 'runs', child.run_id, 'checkpoints', 'step-10'))

    // Without sharing (AUTOLAB_SSH_PERSIST=0): one SSH connection for the whole command, however many steps it took.
    const before = a.acceptedConnections()
    const paused = await sb.ok(['pause', run.run_id, '--timeout', '30'], {env: {AUTOLAB_SSH_PERSIST: '0'}})
    expect(paused.status).toBe('paused')
    expect(a.acceptedConnections()).toBe(before + 1)
    // With sharing (the default), commands reuse the connection the first one left behind: none of their own.
    await sb.ok(['sync'])
    await waitFor(async () => {
      const mark = a.acceptedConnections()
      await sb.ok(['show', run.run_id, '--fresh'])
      return a.acceptedConnections() === mark ? true : undefined
    }, {message: 'a shared connection'})
    const shared = a.acceptedConnections()
    for (let i = 0; i < 3; i++) await sb.ok(['sync'])
    expect(a.acceptedConnections()).toBe(shared)
    const resumed = await sb.ok(['resume', run.run_id])
    expect(resumed.status).toBe('running')
    for (const id of [run.run_id, child.run_id]) expect((await sb.ok(['kill', id, '--grace', '0'])).status).toBe('killed')
    expect(existsSync(`/proc/${resumed.pid}`) && readFileSync(`/proc/${resumed.pid}/stat`, 'utf8').split(' ')[2] !== 'Z').toBe(false)
  })

  it('a hostile run name is refused before anything starts; hostile --set values reach config.json byte for byte, running nothing', async () => {
    const sb = sshSandbox()
    const canary = join(sb.dir, 'pwned')
    const name = await sb.json(['launch', '--recipe', 'toy', '--host', 'a', '--name', `x'; touch ${canary}; '`])
    expect(name.json.error.code).toBe('INVALID_ARGUMENT')
    const hostile = `it's "$(touch ${canary})" \`touch ${canary}\` ; touch ${canary} \n EOF`
    const run = await sb.ok(['launch', '--recipe', 'toy', '--host', 'a', ...TOY, '--set', 'max_steps=5', '--allow-new-keys', '--set', `note=${hostile}`])
    const config = JSON.parse(readFileSync(join(run.run_dir, 'config.json'), 'utf8'))
    expect(config.note).toBe(hostile)
    await waitFor(async () => ((await sb.ok(['show', run.run_id, '--fresh'])).run.status === 'completed' ? true : undefined), {timeoutMs: 30_000, message: 'completed'})
    expect(existsSync(canary)).toBe(false)
  })

  it('a fork from host a to host b streams the checkpoint and resumes from the same weights', async () => {
    const sb = sshSandbox()
    const parent = await sb.ok(['launch', '--recipe', 'toy', '--host', 'a', '--set', 'step_time_ms=0', '--set', 'save_every=10', '--set', 'max_steps=60', '--set', 'learning_rate=0.05'])
    await waitFor(async () => ((await sb.ok(['show', parent.run_id, '--fresh'])).run.status === 'completed' ? true : undefined), {timeoutMs: 30_000, message: 'parent completed'})
    const child = await sb.ok(['fork', parent.run_id, '--step', '20', '--host', 'b', '--reason', 'move to b'])
    expect(child).toMatchObject({host: 'b', fork_step: 20, materialized: 'stream'})
    expect(child.checkpoint).toBe(join(sb.root('b'), 'runs', child.run_id, 'checkpoints', 'step-20'))
    expect(readFileSync(join(child.checkpoint, 'state.json'))).toEqual(readFileSync(join(child.source_checkpoint, 'state.json')))
    await waitFor(async () => ((await sb.ok(['show', child.run_id, '--fresh'])).run.status === 'completed' ? true : undefined), {timeoutMs: 30_000, message: 'child completed'})
    const after = async (id: string) => ((await sb.ok(['history', id])).points as {step: number}[]).filter((p) => p.step > 20)
    const childAfter = await after(child.run_id)
    expect(childAfter).toHaveLength(40)
    expect(childAfter).toEqual(await after(parent.run_id))
  })

  it('sshd stopped in the middle of a cross-host fork: HOST_UNREACHABLE (retryable), the fork rolled back, nothing left running', async () => {
    const sb = sshSandbox()
    const parent = await sb.ok(['launch', '--recipe', 'toy', '--host', 'a', '--set', 'step_time_ms=0', '--set', 'save_every=10', '--set', 'max_steps=30'])
    await waitFor(async () => ((await sb.ok(['show', parent.run_id, '--fresh'])).run.status === 'completed' ? true : undefined), {timeoutMs: 30_000, message: 'parent completed'})
    const hold = join(sb.dir, 'hold')
    const fork = sb.spawn(['fork', parent.run_id, '--step', '20', '--host', 'b', '--json'], {env: {AUTOLAB_FAULT_HOLD: `fork:create-dir:${hold}`}})
    await waitFor(() => existsSync(`${hold}.held`), {timeoutMs: 30_000, message: 'the fork to reach its hold point'})
    await b.stop()
    try {
      writeFileSync(hold, '')
      const result = await fork.result
      expect(result.exitCode).toBe(5)
      expect(result.json.error).toMatchObject({code: 'HOST_UNREACHABLE', retryable: true})
      const runs = await sb.runs()
      const child = runs.find((r: any) => r.parent_run_id === parent.run_id)
      expect(child).toMatchObject({status: 'failed', host: 'b'})
      const rolledBack = await sb.ok(['log', '--run', child.run_id, '--kind', 'rollback'])
      expect(rolledBack.events).toHaveLength(1)
    } finally {
      await b.start()
    }
    // Once b is back, the retry works.
    const retried = await sb.ok(['fork', parent.run_id, '--step', '20', '--host', 'b'])
    expect(retried.materialized).toBe('stream')
    await sb.ok(['kill', retried.run_id, '--grace', '0'])
  })

  it('16 concurrent launches on two 4-GPU hosts: eight distinct (host, GPU) slots, eight queued; a kill frees a slot that tick fills', async () => {
    const sb = sshSandbox()
    const args = ['launch', '--recipe', 'toy', ...TOY, '--set', 'max_steps=100000', '--queue', '--json']
    const launched = await Promise.all(Array.from({length: 16}, () => sb.spawn(args).result))
    const answers = launched.map((r) => {
      expect(r.json?.ok, r.stdout || r.stderr).toBe(true)
      return r.json.data
    })
    const runs = answers.filter((r: any) => r.status === 'running')
    expect(runs).toHaveLength(8)
    expect(answers.filter((r: any) => r.status === 'queued')).toHaveLength(8)
    const slots = runs.map((r: any) => `${r.host}:${r.gpus.join(',')}`)
    expect(new Set(slots).size).toBe(8)
    expect(runs.filter((r: any) => r.host === 'a')).toHaveLength(4)
    expect(runs.filter((r: any) => r.host === 'b')).toHaveLength(4)
    const status = await sb.ok(['status'])
    expect(status.hosts.filter((h: any) => h.host === 'a' || h.host === 'b').map((h: any) => h.gpus_free)).toEqual([0, 0])

    const full = await sb.json(['launch', '--recipe', 'toy', ...TOY])
    expect(full.exitCode).toBe(5)
    expect(full.json.error.code).toBe('NO_CAPACITY')
    const ninth = (await sb.runs(['--status', 'queued'])).sort((x: any, y: any) => Number(x.run_id.slice(1)) - Number(y.run_id.slice(1)))[0]
    const victim = runs.find((r: any) => r.host === 'b')
    await sb.ok(['kill', victim.run_id, '--grace', '0'])
    const tick = await sb.ok(['tick'])
    expect(tick.started).toEqual([ninth.run_id])
    const started = await sb.show(ninth.run_id)
    expect(started).toMatchObject({status: 'running', host: 'b', gpus: victim.gpus})
    expect(started.run_dir).toBe(join(sb.root('b'), 'runs', ninth.run_id))
  })

  it('a host key pinned by host check --accept-new, then swapped: HOST_KEY_MISMATCH (exit 4) names both keys, and nothing changes', async () => {
    const sb = sshSandbox()
    const unknown = await sb.json(['launch', '--recipe', 'toy', '--host', 'c', '--gpus', '0', ...TOY])
    expect(unknown.json.error).toMatchObject({code: 'HOST_KEY_UNKNOWN', details: {presented: c.hostKeyFingerprint()}})
    const pinned = await sb.ok(['host', 'check', 'c', '--accept-new'])
    expect(JSON.stringify(pinned)).toContain(c.hostKeyFingerprint())
    const run = await sb.ok(['launch', '--recipe', 'toy', '--host', 'c', '--gpus', '0', ...TOY, '--set', 'max_steps=100000'])
    const old = c.hostKeyFingerprint()
    await c.swapHostKey()
    try {
      const kill = await sb.json(['kill', run.run_id, '--grace', '0'])
      expect(kill.exitCode).toBe(4)
      expect(kill.json.error).toMatchObject({code: 'HOST_KEY_MISMATCH', retryable: false, details: {presented: c.hostKeyFingerprint(), expected: [old], source: 'pinned'}})
      expect((await sb.show(run.run_id)).status).toBe('running')
      const synced = await sb.ok(['sync'])
      expect(synced.hosts).toContainEqual(expect.objectContaining({host: 'c', synced: false, error: expect.objectContaining({code: 'HOST_KEY_MISMATCH'})}))
    } finally {
      // The key really changed (as after a reinstall): forget the pin and pin the new one, then clean up.
      await sb.ok(['host', 'forget-key', 'c'])
      await sb.ok(['host', 'check', 'c', '--accept-new'])
    }
    expect((await sb.ok(['kill', run.run_id, '--grace', '0'])).status).toBe('killed')
  })

  it.each(['create-dir', 'spawn'])('a launch on an SSH host killed after its %s step is rolled back over SSH by the next command', async (step) => {
    const sb = sshSandbox()
    const crashed = await sb.json(['launch', '--recipe', 'toy', '--host', 'a', ...TOY, '--set', 'max_steps=100000'], {env: {AUTOLAB_FAULT: `launch:${step}`}})
    expect(crashed.json).toBeUndefined() // killed on the spot: no answer at all
    const runDir = join(sb.root('a'), 'runs', 'r1')
    expect(existsSync(runDir)).toBe(true)
    const listed = await sb.json(['runs'])
    expect(listed.json.status.warnings.join('\n')).toContain('rolled back an interrupted launch')
    expect(listed.json.data.runs).toEqual([expect.objectContaining({run_id: 'r1', status: 'failed', host: 'a'})])
    expect(existsSync(runDir)).toBe(false)
    // No trainer of that run dir is left on the host.
    const trainers = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return readFileSync(`/proc/${p}/environ`, 'utf8').includes(`AUTOLAB_RUN_DIR=${runDir}\0`)
      } catch {
        return false
      }
    })
    expect(trainers).toEqual([])
  })

  it('an interrupted kill whose host is down: recovery says so once, then waits for the host instead of trying at every command', async () => {
    const sb = sshSandbox()
    const run = await sb.ok(['launch', '--recipe', 'toy', '--host', 'a', ...TOY, '--set', 'max_steps=100000'])
    const crashed = await sb.json(['kill', run.run_id, '--grace', '0'], {env: {AUTOLAB_FAULT: 'kill:mark-killing'}})
    expect(crashed.json).toBeUndefined()
    await a.stop()
    try {
      const first = await sb.json(['runs'])
      expect(first.json.status.warnings.join('\n')).toMatch(/could not roll back kill operation .*HOST_UNREACHABLE|could not roll back kill operation .*reach/)
      const second = await sb.json(['runs'])
      expect(second.json.status.warnings.join('\n')).toContain('waits for its host')
      expect(second.json.data.runs).toEqual([expect.objectContaining({run_id: run.run_id, status: 'killing'})])
    } finally {
      await a.start()
    }
    // The host is back: killing the run again finishes it.
    expect((await sb.ok(['kill', run.run_id, '--grace', '0'])).status).toBe('killed')
  })

  it('the toy\'s heldout eval of a checkpoint on an SSH host: returns at once, wakes wait --for eval, score and examples stored', async () => {
    const sb = sshSandbox()
    const run = await sb.ok(['launch', '--recipe', 'toy', '--host', 'a', '--set', 'step_time_ms=0', '--set', 'save_every=100', '--set', 'max_steps=300', '--set', 'learning_rate=0.05'])
    await waitFor(async () => ((await sb.ok(['show', run.run_id, '--fresh'])).run.status === 'completed' ? true : undefined), {timeoutMs: 30_000, message: 'completed'})
    const cursor = (await sb.ok(['log', '--limit', '1'])).cursor ?? 0
    const started = await sb.ok(['eval', run.run_id, '--suite', 'heldout', '--step', '300', '--set', 'split=all', '--reason', 'held-out check'])
    expect(started).toMatchObject({run_id: run.run_id, suite: 'heldout', status: 'running', checkpoint_step: 300, host: 'a'})
    const woken = await sb.ok(['wait', '--for', 'eval', '--since', String(cursor), '--timeout', '60'])
    expect(woken.woken_by).toBe('eval')
    const shown = await sb.ok(['eval', 'show', started.eval_id, '--examples', '1000', '--wrong'])
    expect(shown).toMatchObject({status: 'completed', settings: {split: 'all'}})
    expect(shown.score).toBeGreaterThan(0.2)
    expect(shown.examples.every((e: any) => e.correct === false)).toBe(true)
    expect(shown.examples).toHaveLength(shown.examples_wrong)
    expect(shown.examples_total).toBeGreaterThan(shown.examples_wrong)
    const run2 = (await sb.ok(['show', run.run_id])).run
    expect(run2.evals).toEqual([expect.objectContaining({eval_id: started.eval_id, suite: 'heldout', status: 'completed', score: shown.score})])
  })
})
