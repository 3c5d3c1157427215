// The `host` commands through the built CLI, against real OpenSSH servers on 127.0.0.1: list,
// check (known key, unknown key and --accept-new, a swapped key under the pin, a host that is
// down), forget-key, and add/remove editing autolab.yaml with its comments kept.
import {chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import Database from 'better-sqlite3'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {exampleProjectYaml} from '../../src/lib/project.js'
import {expectError, expectOk} from '../helpers/cli.js'
import {type Sandbox, useSandboxes} from '../helpers/sandbox.js'
import {type SshClientSide, type Sshd, sshClient} from '../helpers/sshd.js'

const sandbox = useSandboxes()
let client: SshClientSide
let known: Sshd
let fresh: Sshd
let down: Sshd

beforeAll(async () => {
  client = sshClient()
  known = await client.addServer('known')
  fresh = await client.addServer('fresh', {known: false})
  down = await client.addServer('down')
})
afterAll(async () => client?.cleanup())

const HOST_KEYS = ['declared', 'gpus', 'gpus_auto', 'gpus_free', 'gpus_total', 'gpus_used', 'host', 'host_key', 'kind', 'live_runs', 'root', 'ssh', 'synced_at']
const LOCAL_COMMENT = '    # GPU ids this host offers; each run gets its recipe\'s `gpus` of them in CUDA_VISIBLE_DEVICES.\n'

/** The example project (comments and all) with extra host entries after `local`'s. */
function writeProject(sb: Sandbox, hosts: string, localGpus = '[]'): string {
  const example = exampleProjectYaml()
  expect(example).toContain(`${LOCAL_COMMENT}    gpus: []\n`)
  const text = example.replace(`${LOCAL_COMMENT}    gpus: []\n`, `${LOCAL_COMMENT}    gpus: ${localGpus}\n${hosts}`)
  writeFileSync(join(sb.dir, 'autolab.yaml'), text)
  return text
}

const sshHost = (name: string, root: string, gpus = 'auto') => `  ${name}:\n    kind: ssh\n    ssh: ${name}\n    root: ${root}\n    gpus: ${gpus}\n`
const host = (sb: Sandbox, args: string[]) => sb.json(['host', ...args], {env: client.env})
const hostOk = async (sb: Sandbox, args: string[]) => expectOk(await host(sb, args))

describe('host list', () => {
  it('lists every declared host and every host of the store, with the same snake_case keys', async () => {
    const sb = sandbox()
    writeProject(sb, sshHost('known', join(sb.dir, 'remote')) + sshHost('fresh', '/srv/autolab', '[0, 1]'))
    const {project_file, hosts} = await hostOk(sb, ['list'])
    expect(project_file).toBe(join(sb.dir, 'autolab.yaml'))
    expect(hosts.map((h: any) => h.host)).toEqual(['local', 'known', 'fresh'])
    for (const h of hosts) expect(Object.keys(h).sort()).toEqual(HOST_KEYS)
    expect(hosts[0]).toMatchObject({kind: 'local', ssh: null, root: sb.dir, declared: true, gpus_total: 0, live_runs: []})
    expect(hosts[1]).toMatchObject({kind: 'ssh', ssh: 'known', gpus: [], gpus_auto: true, host_key: null, synced_at: null, declared: true})
    expect(hosts[2]).toMatchObject({kind: 'ssh', root: '/srv/autolab', gpus: ['0', '1'], gpus_auto: false, gpus_total: 2, gpus_used: 0, gpus_free: 2})
  })
})

describe('host check', () => {
  it('reports on a host known_hosts knows: key, latency, tools, no GPUs, clock, root', async () => {
    const sb = sandbox()
    const root = join(sb.dir, 'remote')
    mkdirSync(root)
    writeProject(sb, sshHost('known', root))
    const r = await hostOk(sb, ['check', 'known'])
    expect(r).toMatchObject({host: 'known', kind: 'ssh', ssh: 'known', root, reachable: true, root_exists: true, root_writable: true})
    expect(r.host_key).toEqual({fingerprint: known.hostKeyFingerprint(), verified_by: 'known_hosts', pinned_now: false})
    expect(r.latency_ms).toBeTypeOf('number')
    expect(r.latency_ms).toBeGreaterThanOrEqual(0)
    expect(r.connect_ms).toBeGreaterThan(0)
    expect(Math.abs(r.clock_skew_seconds)).toBeLessThanOrEqual(2)
    expect(r.tools.sh).toMatch(/^\//)
    expect(r.disk.free_bytes).toBeGreaterThan(0)
    expect(r.disk.path).toBe(root)
    if (r.tools.nvidia_smi === null) {
      // No GPU here: nvidia-smi is absent, so `gpus: auto` stores an empty list.
      expect(r.gpus).toEqual([])
      expect(r.gpus_stored).toEqual([])
    }
    // Nothing to pin: known_hosts vouched for the key.
    const listed = (await hostOk(sb, ['list'])).hosts.find((h: any) => h.host === 'known')
    expect(listed.host_key).toBeNull()
  })

  it('refuses a key nothing knows; --accept-new pins it; a swapped key is refused under the pin until forget-key', async () => {
    const sb = sandbox()
    writeProject(sb, sshHost('fresh', '/nonexistent/autolab-root'))
    const first = fresh.hostKeyFingerprint()

    const unknown = expectError(await host(sb, ['check', 'fresh']), 'HOST_KEY_UNKNOWN', 4)
    expect(unknown.message).toContain(first)
    expect(unknown.suggested_action).toContain('--accept-new')

    const accepted = await hostOk(sb, ['check', 'fresh', '--accept-new', '--reason', 'new box'])
    expect(accepted.host_key).toEqual({fingerprint: first, verified_by: 'accepted_new', pinned_now: true})
    // The root does not exist: reported, not an error.
    expect(accepted).toMatchObject({root_exists: false, root_writable: false, ready: false})
    expect(accepted.disk.path).toBe('/')
    expect((await hostOk(sb, ['list'])).hosts.find((h: any) => h.host === 'fresh').host_key).toBe(first)

    const again = await hostOk(sb, ['check', 'fresh'])
    expect(again.host_key).toEqual({fingerprint: first, verified_by: 'pinned', pinned_now: false})

    await fresh.swapHostKey()
    const second = fresh.hostKeyFingerprint()
    expect(second).not.toBe(first)
    for (const args of [['check', 'fresh'], ['check', 'fresh', '--accept-new']]) {
      const mismatch = expectError(await host(sb, args), 'HOST_KEY_MISMATCH', 4)
      expect(mismatch.message).toContain(first)
      expect(mismatch.message).toContain(second)
      expect(mismatch.suggested_action).toContain('forget-key')
    }
    expect((await hostOk(sb, ['list'])).hosts.find((h: any) => h.host === 'fresh').host_key).toBe(first)

    expect(await hostOk(sb, ['forget-key', 'fresh', '--reason', 'reinstalled'])).toEqual({host: 'fresh', forgotten_key: first, changed: true})
    expect(await hostOk(sb, ['forget-key', 'fresh'])).toEqual({host: 'fresh', forgotten_key: null, changed: false})
    expectError(await host(sb, ['check', 'fresh']), 'HOST_KEY_UNKNOWN', 4)
    expect((await hostOk(sb, ['check', 'fresh', '--accept-new'])).host_key).toEqual({fingerprint: second, verified_by: 'accepted_new', pinned_now: true})

    const events = (await sb.ok(['log', '--kind', 'host'])).events
    expect(events.map((e: any) => [e.args.action, e.reason])).toEqual([['pin_key', 'new box'], ['forget_key', 'reinstalled'], ['pin_key', null]])
  })

  it('a host that is down is HOST_UNREACHABLE (exit 5) and nothing changes, --accept-new or not', async () => {
    const sb = sandbox()
    writeProject(sb, sshHost('down', '/srv/autolab'))
    await hostOk(sb, ['forget-key', 'down']) // copies the declaration into the store
    const before = await hostOk(sb, ['list'])
    await down.stop()
    try {
      for (const args of [['check', 'down'], ['check', 'down', '--accept-new']]) {
        const error = expectError(await host(sb, args), 'HOST_UNREACHABLE', 5)
        expect(error.retryable).toBe(true)
      }
    } finally {
      await down.start()
    }
    expect(await hostOk(sb, ['list'])).toEqual(before)
    expect((await sb.ok(['log', '--kind', 'host'])).events).toEqual([])
  })

  it('local with `gpus: auto` stores the GPU ids nvidia-smi lists (a stand-in nvidia-smi: no GPU here)', async () => {
    const sb = sandbox()
    writeProject(sb, '', 'auto')
    const bin = join(sb.dir, 'bin')
    mkdirSync(bin)
    // What the real one prints for `--query-gpu=index,uuid,name,memory.total --format=csv,noheader,nounits`.
    writeFileSync(join(bin, 'nvidia-smi'), [
      '#!/bin/sh',
      'case "$*" in',
      '  *--query-gpu=index,uuid,name,memory.total*--format=csv,noheader,nounits*)',
      '    echo "0, GPU-5f1c2a3b-1111-2222-3333-444455556666, NVIDIA A100-SXM4-80GB, 81920"',
      '    echo "1, GPU-7e9d8c7b-aaaa-bbbb-cccc-ddddeeeeffff, NVIDIA A100-SXM4-80GB, 81920" ;;',
      '  *) echo "unexpected arguments: $*" >&2; exit 2 ;;',
      'esac', '',
    ].join('\n'))
    chmodSync(join(bin, 'nvidia-smi'), 0o755)
    const env = {...client.env, PATH: `${bin}:${process.env.PATH}`}
    const r = expectOk(await sb.json(['host', 'check', 'local'], {env}))
    expect(r.host_key).toBeNull()
    expect(r.tools.nvidia_smi).toBe(join(bin, 'nvidia-smi'))
    expect(r.gpus).toEqual([
      {index: '0', uuid: 'GPU-5f1c2a3b-1111-2222-3333-444455556666', name: 'NVIDIA A100-SXM4-80GB', memory_mib: 81920},
      {index: '1', uuid: 'GPU-7e9d8c7b-aaaa-bbbb-cccc-ddddeeeeffff', name: 'NVIDIA A100-SXM4-80GB', memory_mib: 81920},
    ])
    expect(r.gpus_stored).toEqual(['0', '1'])
    const local = (await hostOk(sb, ['list'])).hosts[0]
    expect(local).toMatchObject({host: 'local', gpus: ['0', '1'], gpus_auto: true, gpus_total: 2, gpus_free: 2})
  })
})

describe('host add', () => {
  it('refuses bad input before writing anything; adds a host keeping every comment and line of the file', async () => {
    const sb = sandbox()
    const original = writeProject(sb, sshHost('known', '/srv/known'))
    const file = join(sb.dir, 'autolab.yaml')
    const refusals: [string[], string, number][] = [
      [['gpu1', '--ssh', 'me@gpu1;rm -rf', '--root', '/data'], 'INVALID_ARGUMENT', 2],
      [['gpu1', '--ssh', 'me@gpu1:99999', '--root', '/data'], 'INVALID_ARGUMENT', 2],
      [['gpu1', '--ssh', 'me@gpu1', '--root', 'relative/dir'], 'INVALID_ARGUMENT', 2],
      [['gpu1', '--ssh', 'me@gpu1', '--root', '/data/../etc'], 'INVALID_ARGUMENT', 2],
      [['gpu1', '--ssh', 'me@gpu1', '--root', '/data', '--gpus', '0,0'], 'INVALID_ARGUMENT', 2],
      [['gpu1', '--ssh', 'me@gpu1', '--root', '/data', '--gpus', '0,x y'], 'INVALID_ARGUMENT', 2],
      [['../gpu1', '--ssh', 'me@gpu1', '--root', '/data'], 'INVALID_ARGUMENT', 2],
      [['local', '--ssh', 'me@gpu1', '--root', '/data'], 'INVALID_ARGUMENT', 2],
      [['known', '--ssh', 'me@other', '--root', '/data'], 'HOST_EXISTS', 4],
    ]
    for (const [args, code, exit] of refusals) {
      const error = expectError(await host(sb, ['add', ...args]), code, exit)
      if (code === 'HOST_EXISTS') expect(error.suggested_action).toContain('autolab host remove known')
      expect(readFileSync(file, 'utf8'), args.join(' ')).toBe(original)
    }

    const added = await hostOk(sb, ['add', 'gpu1', '--ssh', 'me@gpu1.lab:2222', '--root', '/data/autolab', '--gpus', '0,1,2,3', '--reason', 'second box'])
    expect(added.next).toBe('autolab host check gpu1')
    expect(added.host).toMatchObject({host: 'gpu1', kind: 'ssh', ssh: 'me@gpu1.lab:2222', root: '/data/autolab', gpus: ['0', '1', '2', '3'], declared: true})
    const text = readFileSync(file, 'utf8')
    expect(text).toContain(LOCAL_COMMENT)
    expect(text).toBe(original.replace(sshHost('known', '/srv/known'), `${sshHost('known', '/srv/known')}  gpu1:\n    kind: ssh\n    ssh: me@gpu1.lab:2222\n    root: /data/autolab\n    gpus: [0, 1, 2, 3]\n`))
    const hosts = (await hostOk(sb, ['list'])).hosts
    expect(hosts.map((h: any) => h.host)).toEqual(['local', 'known', 'gpu1'])
    const events = (await sb.ok(['log', '--kind', 'host'])).events
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({reason: 'second box', args: {action: 'add', host: 'gpu1', ssh: 'me@gpu1.lab:2222', root: '/data/autolab', gpus: ['0', '1', '2', '3']}})
  })

  it('without a project file, says to run init and writes nothing; never writes through a symlink', async () => {
    const sb = sandbox()
    const error = expectError(await host(sb, ['add', 'gpu1', '--ssh', 'me@gpu1', '--root', '/data']), 'FILE_NOT_FOUND', 3)
    expect(error.suggested_action).toContain('autolab init')
    expect(existsSync(join(sb.dir, 'autolab.yaml'))).toBe(false)

    const real = join(sb.dir, 'shared.yaml')
    writeFileSync(real, exampleProjectYaml())
    symlinkSync(real, join(sb.dir, 'autolab.yaml'))
    expectError(await host(sb, ['add', 'gpu1', '--ssh', 'me@gpu1', '--root', '/data']), 'INVALID_ARGUMENT', 2)
    expect(readFileSync(real, 'utf8')).toBe(exampleProjectYaml())
  })
})

describe('host remove', () => {
  it('refuses local and a host with a run that still needs it; removes it otherwise, comments kept, store row kept', async () => {
    const sb = sandbox()
    const original = writeProject(sb, sshHost('gpu1', '/srv/autolab', '[0, 1]'))
    const file = join(sb.dir, 'autolab.yaml')
    expectError(await host(sb, ['remove', 'local']), 'INVALID_ARGUMENT', 2)
    expectError(await host(sb, ['remove', 'nosuch']), 'HOST_NOT_FOUND', 3)

    // A live run, launched on local (SSH launch is not there yet) and then said to be on gpu1.
    const run = await sb.launch({max_steps: 100_000, step_time_ms: 20})
    await hostOk(sb, ['forget-key', 'gpu1']) // copies gpu1 into the store
    const db = new Database(sb.store)
    const setRun = (hostId: string, status: string) => db.prepare('UPDATE runs SET host_id = ?, status = ? WHERE run_id = ?').run(hostId, status, run.run_id)
    try {
      for (const status of ['running', 'paused', 'queued']) {
        setRun('gpu1', status)
        const error = expectError(await host(sb, ['remove', 'gpu1']), 'HOST_IN_USE', 4)
        expect(error.details.runs).toEqual([{run_id: run.run_id, name: null, status}])
        expect(error.message).toContain(run.run_id)
        expect(readFileSync(file, 'utf8')).toBe(original)
      }
    } finally {
      setRun('local', 'running')
    }
    await sb.ok(['kill', run.run_id, '--grace', '0'])
    db.prepare('UPDATE runs SET host_id = ? WHERE run_id = ?').run('gpu1', run.run_id)
    db.close()

    expect(await hostOk(sb, ['remove', 'gpu1', '--reason', 'returned'])).toEqual({project_file: file, host: 'gpu1', removed: true, store_row_kept: true})
    const text = readFileSync(file, 'utf8')
    expect(text).toBe(original.replace(sshHost('gpu1', '/srv/autolab', '[0, 1]'), ''))
    expect(text).toContain(LOCAL_COMMENT)
    const gpu1 = (await hostOk(sb, ['list'])).hosts.find((h: any) => h.host === 'gpu1')
    expect(gpu1).toMatchObject({declared: false, gpus_total: 0})
    expectError(await host(sb, ['remove', 'gpu1']), 'HOST_NOT_FOUND', 3)
  })
})
