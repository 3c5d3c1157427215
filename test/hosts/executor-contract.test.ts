// One contract, two hosts: LocalExecutor on a temp root, and SshExecutor against a real OpenSSH
// server on 127.0.0.1 whose root is a temp dir of this same machine (so the test can look at the
// "remote" files directly). Real trainer processes, real signals; waits are bounded polls.
import {existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {PassThrough, Readable} from 'node:stream'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {Executor, LaunchSpec, RunProbe} from '../../src/lib/hosts/executor.js'
import {LocalExecutor} from '../../src/lib/hosts/local.js'
import {heredoc, PRELUDE} from '../../src/lib/hosts/remote-frame.js'
import {SshConnection} from '../../src/lib/hosts/ssh-connection.js'
import {resolveSshTarget} from '../../src/lib/hosts/ssh-target.js'
import {SshExecutor} from '../../src/lib/hosts/ssh.js'
import {shellQuote} from '../../src/lib/shell.js'
import {type SshClientSide, type Sshd, sshClient} from '../helpers/sshd.js'

let client: SshClientSide
let server: Sshd
const temps: string[] = []
const executors: Executor[] = []

beforeAll(async () => {
  client = sshClient()
  server = await client.addServer('contract')
})
afterAll(async () => {
  for (const e of executors) e.close()
  await client?.cleanup()
  for (const t of temps) rmSync(t, {recursive: true, force: true})
})

/** A root whose name is as hostile as a path can be: quotes, $(…), backticks, a newline, a frame-like line. */
function hostileRoot(): string {
  const dir = mkdtempSync(join(tmpdir(), 'autolab-contract-'))
  temps.push(dir)
  const root = join(dir, "ro'ot \"$(touch PWNED)\" `id` \nZ 1\nR 0")
  mkdirSync(root)
  return root
}

function connectSsh(): Promise<SshConnection> {
  return SshConnection.connect(resolveSshTarget('contract', {configFile: client.configFile}), {pinnedKey: null, hostId: 'contract'})
}

function makeLocal(root = hostileRoot()): Executor {
  return new LocalExecutor('local', root)
}

function makeSsh(root = hostileRoot(), connect = connectSsh): Executor {
  const executor = new SshExecutor('contract', root, connect)
  executors.push(executor)
  return executor
}

async function until<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** A trainer in sh: logs its environment exactly, appends metrics, waits for `go`, exits 3. */
const TRAINER = String.raw`cat /proc/$$/environ > env.bin
printf '{"step":1}\n' >> metrics.jsonl
printf 'Z 0\nR 0\n\000\377 $(x) %s\n' "'" >> metrics.jsonl
printf '{"type":"x"}\n' >> events.jsonl
echo "boom: it's over" >&2
while [ ! -f go ]; do sleep 0.02; done
exit 3
`
const SLEEPER = 'trap "exit 0" TERM\nwhile :; do sleep 0.05; done\n'

function spec(executor: Executor, runId: string, command: string, env?: Record<string, string>): LaunchSpec {
  const runDir = executor.runDir(runId)
  return {runId, runDir, files: {'command.sh': command, 'config.json': '{}\n'}, env: env ?? {AUTOLAB_RUN_DIR: runDir, PATH: '/usr/bin:/bin'}}
}

const probeOne = async (executor: Executor, runDir: string, pid: number | null, offsets: Record<string, number> = {}): Promise<RunProbe> =>
  (await executor.probe([{runId: 'r', runDir, pid, offsets}]))[0]

describe.each([
  ['local', () => makeLocal()],
  ['ssh', () => makeSsh()],
])('Executor contract: %s', (_kind, make) => {
  it('launches a real trainer; probe reports alive, deltas from offsets, then exit code and stderr tail', async () => {
    const executor = make()
    const s = spec(executor, 'r1', TRAINER, {AUTOLAB_RUN_DIR: executor.runDir('r1'), PATH: '/usr/bin:/bin', TRICKY: "a'b \"$(touch X)\" `id`\nsecond line"})
    const {pid} = await executor.launch(s)
    expect(pid).toBeGreaterThan(0)
    await until('the pid file', async () => (await executor.readPid(s.runDir)) === pid)
    const first = await until('the metrics', async () => {
      const p = await probeOne(executor, s.runDir, pid)
      return p.deltas['events.jsonl'] ? p : undefined
    })
    expect(first).toMatchObject({alive: true, exitCode: null, stderrTail: null})
    const metrics = readFileSync(join(s.runDir, 'metrics.jsonl'))
    expect(first.deltas['metrics.jsonl']).toEqual(metrics)
    expect(metrics.includes(Buffer.from([0, 255]))).toBe(true)
    const from = await probeOne(executor, s.runDir, pid, {'metrics.jsonl': 11, 'events.jsonl': 13})
    expect(from.deltas['metrics.jsonl']).toEqual(metrics.subarray(11))
    expect(from.deltas['events.jsonl']).toBeUndefined()
    // exactly the environment given
    const environ = readFileSync(join(s.runDir, 'env.bin'), 'utf8').split('\0').filter(Boolean).sort()
    // PWD/OLDPWD: the wrapper's own `cd` into the run dir, on both hosts
    expect(environ.filter((v) => !/^(OLD)?PWD=/.test(v))).toEqual(Object.entries(s.env!).map(([k, v]) => `${k}=${v}`).sort())
    expect(await executor.isAlive(pid, s.runDir)).toBe(true)
    const trainers = await executor.listTrainerProcesses()
    expect(trainers.some((t) => t.run_dir === s.runDir && t.pgid === pid)).toBe(true)
    await executor.writeFileAtomic(s.runDir, 'go', '')
    const last = await until('the exit', async () => {
      const p = await probeOne(executor, s.runDir, pid, {'metrics.jsonl': metrics.length, 'events.jsonl': 13, 'samples.jsonl': 0})
      return p.exitCode !== null && !p.alive ? p : undefined
    })
    expect(last).toEqual({runId: 'r', alive: false, exitCode: 3, deltas: {}, stderrTail: "boom: it's over"})
    expect(await executor.isAlive(pid, s.runDir)).toBe(false)
  })

  it('signalGroup TERM stops the group; false for a dead group and for a foreign pid', async () => {
    const executor = make()
    const s = spec(executor, 'r2', SLEEPER)
    const {pid} = await executor.launch(s)
    // The wrapper traps TERM only once it runs: a caller signals after the pid file exists.
    await until('the pid file', async () => (await executor.readPid(s.runDir)) === pid)
    expect(await executor.signalGroup(process.pid, s.runDir, 'TERM')).toBe(false)
    expect(await executor.isAlive(process.pid, s.runDir)).toBe(false)
    expect(await executor.signalGroup(pid, s.runDir, 'TERM')).toBe(true)
    await until('the group to end', async () => !(await executor.isAlive(pid, s.runDir)))
    await until('exit_code', () => existsSync(join(s.runDir, 'exit_code')))
    expect(await executor.signalGroup(pid, s.runDir, 'KILL')).toBe(false)
  })

  it('writeFileAtomic replaces a file, and replaces a link at its name rather than writing through it', async () => {
    const executor = make()
    const dir = executor.runDir('r3')
    await executor.createRunDir(dir, {store_id: 's', run_id: 'r3', created_at: 't'})
    const victim = join(dir, '..', 'victim')
    writeFileSync(victim, 'untouched')
    await executor.writeFileAtomic(dir, 'control.json', 'one')
    await executor.writeFileAtomic(dir, 'control.json', "two 'quoted' $(x)\n")
    expect(readFileSync(join(dir, 'control.json'), 'utf8')).toBe("two 'quoted' $(x)\n")
    symlinkSync(victim, join(dir, 'linked.json'))
    if (executor instanceof LocalExecutor) symlinkSync(victim, join(dir, `c.json.tmp-${process.pid}`))
    await executor.writeFileAtomic(dir, 'linked.json', 'new')
    await executor.writeFileAtomic(dir, 'c.json', 'new')
    expect(readFileSync(victim, 'utf8')).toBe('untouched')
    expect(lstatSync(join(dir, 'linked.json')).isSymbolicLink()).toBe(false)
    expect(readFileSync(join(dir, 'c.json'), 'utf8')).toBe('new')
  })

  it('run dirs: exclusive create with marker, read back, list, remove', async () => {
    const executor = make()
    const dir = executor.runDir('r4')
    const marker = {store_id: 'st', run_id: 'r4', created_at: '2026-01-01T00:00:00Z'}
    await executor.createRunDir(dir, marker)
    const again = await executor.createRunDir(dir, marker).catch((e) => e)
    expect(again.code).toBe('CONFLICT')
    expect(again.retryable).toBe(true)
    expect(await executor.readRunDirMarker(dir)).toEqual(marker)
    expect(await executor.readPid(dir)).toBe(null)
    await executor.writeFileAtomic(dir, 'pid', '4242\n')
    expect(await executor.readPid(dir)).toBe(4242)
    await executor.writeFileAtomic(dir, 'pid', 'garbage')
    expect(await executor.readPid(dir)).toBe(null)
    await executor.writeFileAtomic(dir, 'autolab-run.json', '{not json')
    expect(await executor.readRunDirMarker(dir)).toBe(null)
    expect(await executor.readRunDirMarker(join(dir, 'nope'))).toBe(null)
    mkdirSync(join(dir, '..', "odd\nname 'x'"))
    expect((await executor.listRunDirs()).sort()).toEqual(["odd\nname 'x'", 'r4'])
    await executor.removeRunDir(dir)
    expect(existsSync(dir)).toBe(false)
  })

  it('inspectCheckpoint: size inside; refuses a path outside, a link leading out, a missing path', async () => {
    const executor = make()
    const dir = executor.runDir('r5')
    await executor.createRunDir(dir, {store_id: 's', run_id: 'r5', created_at: 't'})
    mkdirSync(join(dir, 'checkpoints', 'step-1', 'sub'), {recursive: true})
    writeFileSync(join(dir, 'checkpoints', 'step-1', 'w.bin'), Buffer.alloc(1000))
    writeFileSync(join(dir, 'checkpoints', 'step-1', 'sub', 'x'), 'abc')
    symlinkSync('../w.bin', join(dir, 'checkpoints', 'step-1', 'sub', 'inside-link'))
    expect(await executor.inspectCheckpoint(dir, 'checkpoints/step-1')).toEqual({ok: true, path: join(dir, 'checkpoints/step-1'), bytes: 1003})
    expect(await executor.inspectCheckpoint(dir, join(dir, 'checkpoints/step-1'))).toEqual({ok: true, path: join(dir, 'checkpoints/step-1'), bytes: 1003})
    expect(await executor.inspectCheckpoint(dir, '..')).toEqual({ok: false, reason: 'it resolves outside the run directory'})
    expect(await executor.inspectCheckpoint(dir, 'checkpoints/none')).toEqual({ok: false, reason: 'no such file or directory in the run directory'})
    mkdirSync(join(dir, 'checkpoints', 'step-2'))
    symlinkSync('/etc', join(dir, 'checkpoints', 'step-2', 'out'))
    expect(await executor.inspectCheckpoint(dir, 'checkpoints/step-2')).toEqual({ok: false, reason: `the link ${join(dir, 'checkpoints/step-2/out')} leads outside the run directory`})
    const refused = await executor.materializeCheckpoint(join(dir, 'checkpoints/step-2'), join(dir, 'child'), {copy: false, sourceRunDir: dir}).catch((e) => e)
    expect(refused.code).toBe('RUN_NOT_FORKABLE')
    const missing = await executor.materializeCheckpoint(join(dir, 'checkpoints/step-9'), join(dir, 'child'), {copy: false, sourceRunDir: dir}).catch((e) => e)
    expect(missing.code).toBe('NO_CHECKPOINT')
  })

  it('materializeCheckpoint hard-links (same inode) and makes the source read-only; copy when asked', async () => {
    const executor = make()
    const dir = executor.runDir('r6')
    await executor.createRunDir(dir, {store_id: 's', run_id: 'r6', created_at: 't'})
    const source = join(dir, 'checkpoints', 'step-4')
    mkdirSync(join(source, 'd'), {recursive: true})
    writeFileSync(join(source, 'w.bin'), 'weights')
    writeFileSync(join(source, 'd', 'o.bin'), 'optim!')
    symlinkSync('w.bin', join(source, 'alias'))
    const target = join(executor.runDir('r7'), 'resume')
    expect(await executor.materializeCheckpoint(source, target, {copy: false, sourceRunDir: dir})).toEqual({method: 'hardlink', bytes: 13, files: 2})
    expect(statSync(join(target, 'w.bin')).ino).toBe(statSync(join(source, 'w.bin')).ino)
    expect(statSync(join(source, 'w.bin')).mode & 0o222).toBe(0)
    expect(lstatSync(join(target, 'alias')).isSymbolicLink()).toBe(true)
    const copyTarget = join(executor.runDir('r8'), 'resume')
    expect(await executor.materializeCheckpoint(source, copyTarget, {copy: true, sourceRunDir: dir})).toEqual({method: 'copy', bytes: 13, files: 2})
    expect(statSync(join(copyTarget, 'd', 'o.bin')).ino).not.toBe(statSync(join(source, 'd', 'o.bin')).ino)
    expect(readFileSync(join(copyTarget, 'd', 'o.bin'), 'utf8')).toBe('optim!')
    expect(readdirSync(join(executor.runDir('r8')))).toEqual(['resume'])
  })
})

/** A checkpoint with awkward names and bytes, in a run dir of `executor`. */
async function checkpointOn(executor: Executor, runId: string): Promise<{dir: string; source: string}> {
  const dir = executor.runDir(runId)
  await executor.createRunDir(dir, {store_id: 's', run_id: runId, created_at: 't'})
  const source = join(dir, 'checkpoints', 'step-1')
  mkdirSync(join(source, "sub 'q' $(x)"), {recursive: true})
  writeFileSync(join(source, 'w.bin'), Buffer.from([...Array(70_000).keys()].map((i) => (i * 7) % 256)))
  writeFileSync(join(source, "sub 'q' $(x)", 'line\nbreak'), 'Z 1\nR 0\n')
  return {dir, source}
}

function tree(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {}
  for (const entry of readdirSync(join(dir, prefix), {withFileTypes: true})) {
    const rel = join(prefix, entry.name)
    if (entry.isDirectory()) Object.assign(out, tree(dir, rel))
    else out[rel] = readFileSync(join(dir, rel)).toString('base64')
  }
  return out
}

describe('checkpoint streams between hosts', () => {
  it.each([
    ['local', 'ssh'],
    ['ssh', 'local'],
    ['ssh', 'ssh'],
  ])('export on %s, import on %s: identical files, read-only, counted', async (from, to) => {
    const source = from === 'local' ? makeLocal() : makeSsh()
    const target = to === 'local' ? makeLocal() : makeSsh()
    const {dir, source: path} = await checkpointOn(source, 'src')
    const into = join(target.runDir('dst'), 'resume')
    const {stream, done} = await source.exportCheckpoint(path, {sourceRunDir: dir})
    const [counts] = await Promise.all([target.importCheckpoint(into, stream), done])
    expect(counts).toEqual({bytes: 70_008, files: 2})
    expect(tree(into)).toEqual(tree(path))
    expect(statSync(join(into, 'w.bin')).mode & 0o222).toBe(0)
    expect(readdirSync(target.runDir('dst'))).toEqual(['resume'])
  })

  it('a refused or missing source is not exported', async () => {
    for (const executor of [makeLocal(), makeSsh()]) {
      const {dir} = await checkpointOn(executor, 'src')
      symlinkSync('/etc', join(dir, 'checkpoints', 'out'))
      expect((await executor.exportCheckpoint(join(dir, 'checkpoints', 'out'), {sourceRunDir: dir}).catch((e) => e)).code).toBe('RUN_NOT_FORKABLE')
      expect((await executor.exportCheckpoint(join(dir, 'checkpoints', 'nope'), {sourceRunDir: dir}).catch((e) => e)).code).toBe('NO_CHECKPOINT')
    }
  })

  it.each(['local', 'ssh'])('a stream cut half way (%s) leaves neither the target nor a temp dir', async (kind) => {
    const local = makeLocal()
    const {dir, source} = await checkpointOn(local, 'src')
    const {stream, done} = await local.exportCheckpoint(source, {sourceRunDir: dir})
    const whole = Buffer.concat(await (stream as Readable).toArray())
    await done
    const target = kind === 'local' ? makeLocal() : makeSsh()
    // Cut at a tar member boundary (2 headers + one small file): tar alone would accept it.
    const cut = new PassThrough()
    cut.write(whole.subarray(0, 3 * 512))
    const into = join(target.runDir('dst'), 'resume')
    const importing = target.importCheckpoint(into, cut).catch((e) => e)
    // Cut once the host has begun to unpack (its temp dir exists), not before it listens.
    await until('the temp dir', () => existsSync(target.runDir('dst')) && readdirSync(target.runDir('dst')).some((n) => n.startsWith('resume.tmp-')))
    cut.destroy()
    const error = await importing
    expect(error.code).toMatch(/INTERNAL|HOST_UNREACHABLE/)
    expect(existsSync(into)).toBe(false)
    expect(existsSync(target.runDir('dst')) ? readdirSync(target.runDir('dst')) : []).toEqual([])
  })
})

describe('SshExecutor only', () => {
  it('probes 100 runs in one exec', async () => {
    const connection = await connectSsh()
    let execs = 0
    const exec = connection.exec.bind(connection)
    connection.exec = (script, options) => {
      execs++
      return exec(script, options)
    }
    const executor = makeSsh(hostileRoot(), async () => connection)
    const requests = []
    for (let i = 0; i < 100; i++) {
      const runDir = executor.runDir(`p${i}`)
      mkdirSync(runDir, {recursive: true})
      writeFileSync(join(runDir, 'metrics.jsonl'), `{"step":${i}}\n`)
      if (i % 2) writeFileSync(join(runDir, 'exit_code'), `${i % 7}\n`)
      requests.push({runId: `p${i}`, runDir, pid: i % 3 ? null : process.pid, offsets: {}})
    }
    const started = performance.now()
    const probes = await executor.probe(requests)
    const ms = performance.now() - started
    expect(execs).toBe(1)
    expect(probes).toHaveLength(100)
    expect(probes[5]).toEqual({runId: 'p5', alive: false, exitCode: 5, deltas: {'metrics.jsonl': Buffer.from('{"step":5}\n')}, stderrTail: null})
    expect(probes.every((p) => !p.alive)).toBe(true)
    console.log(`probe of 100 runs over ssh: ${ms.toFixed(0)} ms, 1 exec`)
  })

  it('a remote script cannot be turned into a write through a link planted at its temp name', async () => {
    const connection = await connectSsh()
    try {
      const dir = hostileRoot()
      writeFileSync(join(dir, 'victim'), 'untouched')
      const script = `${PRELUDE}\nd=${shellQuote(dir)}\nln -s "$d/victim" "$d/f.tmp-$$"\n${heredoc('put "$d" f', 'data', ' || exit 1')}\necho ok\n`
      const result = await connection.exec(script)
      expect(result.stdout.toString()).toBe('ok\n')
      expect(readFileSync(join(dir, 'victim'), 'utf8')).toBe('untouched')
      expect(readFileSync(join(dir, 'f'), 'utf8')).toBe('data')
    } finally {
      connection.close()
    }
  })

  it('a connection lost during a call is HOST_UNREACHABLE, and so is the next call', async () => {
    const doomed = await client.addServer('doomed')
    const executor = makeSsh(hostileRoot(), () => SshConnection.connect(resolveSshTarget('doomed', {configFile: client.configFile}), {pinnedKey: null, hostId: 'doomed'}))
    expect(await executor.listRunDirs()).toEqual([])
    const never = new PassThrough()
    never.write(Buffer.alloc(512))
    const inFlight = executor.importCheckpoint(join(executor.runDir('x'), 'resume'), never).catch((e) => e)
    // Under way: its temp directory exists on the host.
    await until('the import to start', () => existsSync(executor.runDir('x')) && readdirSync(executor.runDir('x')).some((name) => name.startsWith('resume.tmp-')))
    await doomed.stop()
    expect((await inFlight).code).toBe('HOST_UNREACHABLE')
    const next = await executor.listRunDirs().catch((e) => e)
    expect(next.code, `the next call answered ${next instanceof Error ? `${next.constructor.name}: ${next.message}` : JSON.stringify(next)}`).toBe('HOST_UNREACHABLE')
  })
})
