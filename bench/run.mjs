// npm run bench: start-up, ingest and fork figures, each beside its baseline, in one run.
//   1. start-up: `node -e 0` vs `autolab runs --json` on a store of 1,000 runs and
//      1,000,000 metric points (median of interleaved runs). Target: ≤ 2.0× node -e 0.
//   2. ingest: points/s of the real ingest path (JSONL parse, validation, upsert, observations) vs a bare
//      prepared-statement insert of the same rows. Target: ≥ 400k points/s.
//   3. fork: a fork from a 1 GiB checkpoint vs from a 1 MiB one (target: within 1.2×), beside
//      `cp -r` of the 1 GiB checkpoint.
//   4. wake latency: from an event committed by another process to `autolab wait` printing it
//      (target ≤ 250 ms), beside wait's poll interval.
//   5. SSH: launch, kill and the sync of 100 live runs on a host reached over SSH (a real sshd on
//      127.0.0.1) beside the same on `local`, each operation in a new context as a command runs
//      it: with connections shared between commands (the default) and with one per command
//      (AUTOLAB_SSH_PERSIST=0). Target: ≤ local + 120 ms.
import {execFileSync, spawn, spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync, appendFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {openStore} from '../dist/src/lib/store/open.js'
import {ingestMetrics} from '../dist/src/lib/telemetry/ingest.js'
import {Rejections} from '../dist/src/lib/telemetry/validate.js'
import {openContext} from '../dist/src/lib/context.js'
import {parseProject} from '../dist/src/lib/project.js'
import {launchRun} from '../dist/src/lib/runs/launch.js'
import {forkRun} from '../dist/src/lib/runs/fork.js'
import {killRun} from '../dist/src/lib/runs/kill.js'
import {syncRuns} from '../dist/src/lib/runs/sync.js'
import {recordEvent} from '../dist/src/lib/events.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15)
const scratch = mkdtempSync(join(tmpdir(), 'autolab-bench-'))
/** Each store in its own directory: its runs live beside it, and a store is never created beside another's runs. */
const storeIn = (name) => {
  mkdirSync(join(scratch, name), {recursive: true})
  return join(scratch, name, 'autolab.db')
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const ms = (x) => `${x.toFixed(1)} ms`

function timeCommand(args) {
  const start = process.hrtime.bigint()
  const result = spawnSync(process.execPath, args, {stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, AUTOLAB_PROJECT: ''}})
  const elapsed = Number(process.hrtime.bigint() - start) / 1e6
  if (result.status !== 0) throw new Error(`${args.join(' ')} failed: ${result.stderr}`)
  return elapsed
}

async function generateStore(path, runs, points) {
  const store = await openStore(path)
  const now = new Date().toISOString()
  const control = JSON.stringify({version: 1, state: 'run', overrides: {}, save_at: [], observation_cadence: 10, sample_cadence: 50})
  store.write(() => {
    store.sqlite.prepare('INSERT INTO configs (config_id, body, created_at) VALUES (?, ?, ?)').run('c0', '{"learning_rate":0.05}', now)
    const insertRun = store.sqlite.prepare(`INSERT INTO runs (seq, run_id, name, campaign_id, host_id, recipe, recipe_spec, gpus, config_id, status, run_dir,
      observation_cadence, sample_cadence, trend_window, stall_seconds, control, created_at, step, exit_code)
      VALUES (?, ?, NULL, 'default', 'local', 'toy', '{}', '[]', 'c0', 'completed', ?, 10, 50, 20, 120, ?, ?, ?, 0)`)
    for (let i = 1; i <= runs; i++) insertRun.run(i, `r${i}`, join(scratch, 'runs', `r${i}`), control, now, points / runs / 4)
    const insertStep = store.sqlite.prepare('INSERT INTO metric_steps (run_id, step, time, record) VALUES (?, ?, ?, ?)')
    const keys = ['loss', 'reward', 'kl', 'entropy']
    const perRun = points / runs / keys.length
    for (let r = 1; r <= runs; r++) {
      for (let s = 1; s <= perRun; s++) insertStep.run(`r${r}`, s, 0, JSON.stringify({step: s, time: 0, metrics: Object.fromEntries(keys.map((k) => [k, Math.random()]))}))
    }
  })
  store.close()
}

async function startup() {
  const storePath = storeIn('startup')
  const t = Date.now()
  await generateStore(storePath, 1000, 1_000_000)
  console.log(`generated a store of 1,000 runs and 1,000,000 points in ${((Date.now() - t) / 1000).toFixed(1)} s`)
  const cli = ['bin/run.js', 'runs', '--json', '--store', storePath]
  timeCommand(cli) // warm the page cache and the code cache
  const node = []
  const autolab = []
  for (let i = 0; i < ROUNDS; i++) {
    node.push(timeCommand(['-e', '0']))
    autolab.push(timeCommand(cli))
  }
  const ratio = median(autolab) / median(node)
  console.log('\nstart-up (median of %d interleaved runs)', ROUNDS)
  console.log(`  node -e 0                  ${ms(median(node))}`)
  console.log(`  autolab runs --json        ${ms(median(autolab))}   ${ratio.toFixed(2)}× node -e 0 (target ≤ 2.0×) ${ratio <= 2 ? 'OK' : 'MISSED'}`)
}

async function ingest() {
  const steps = 100_000
  const keys = ['loss', 'reward', 'accuracy', 'kl', 'entropy', 'learning_rate', 'grad_norm', 'tokens', 'lr_scale', 'step_time']
  const lines = []
  for (let s = 1; s <= steps; s++) {
    const metrics = {}
    for (const k of keys) metrics[k] = Math.sin(s * 0.001 + k.length) + s * 1e-6
    lines.push(JSON.stringify({step: s, time: 1.7e9 + s, metrics}))
  }
  const data = Buffer.from(`${lines.join('\n')}\n`)
  const total = steps * keys.length

  const store = await openStore(storeIn('ingest'))
  const run = {run_id: 'r1', run_dir: scratch, observation_cadence: 10, trend_window: 20}
  let t = process.hrtime.bigint()
  const rejections = new Rejections()
  const result = store.write(() => ingestMetrics(store, run, data, null, {file: 'metrics.jsonl', offset: 0, rejections}))
  if (rejections.count !== 0) throw new Error(`rejected ${rejections.count} valid lines: ${JSON.stringify(rejections.first)}`)
  const ingestSeconds = Number(process.hrtime.bigint() - t) / 1e9
  if (result.points !== total) throw new Error(`ingested ${result.points} of ${total}`)

  // Baseline: the same rows written by a bare prepared INSERT, nothing parsed or computed.
  const bare = await openStore(storeIn('bare'))
  const insert = bare.sqlite.prepare('INSERT INTO metric_steps (run_id, step, time, record) VALUES (?, ?, ?, ?)')
  const rows = lines.map((l, i) => [i + 1, 1.7e9 + i + 1, l])
  t = process.hrtime.bigint()
  bare.write(() => {
    for (const [step, time, metrics] of rows) insert.run('r1', step, time, metrics)
  })
  const bareSeconds = Number(process.hrtime.bigint() - t) / 1e9
  const rate = total / ingestSeconds
  console.log(`\ningest of ${total.toLocaleString()} points (${steps.toLocaleString()} JSONL lines × ${keys.length} metrics, observations every 10 steps)`)
  console.log(`  bare INSERT of the rows    ${Math.round(total / bareSeconds).toLocaleString()} points/s`)
  console.log(`  autolab ingest             ${Math.round(rate).toLocaleString()} points/s (target ≥ 400,000) ${rate >= 400_000 ? 'OK' : 'MISSED'}`)
  store.close()
  bare.close()
}

async function fork() {
  const ctx = await openContext({store: storeIn('fork'), create: true, log: () => {}})
  // A trainer that just holds its GPU: the child's process start is part of the fork, not its work.
  const project = parseProject('recipes:\n  hold:\n    command: "exec sleep 600"\n', null)
  ctx.project = () => project
  const parent = await launchRun(ctx, {recipe: 'hold'})
  const sizes = {'1 GiB': 1024 ** 3, '1 MiB': 1024 ** 2}
  const steps = {'1 GiB': 1, '1 MiB': 2}
  const files = 8
  for (const [label, bytes] of Object.entries(sizes)) {
    const dir = join(parent.run_dir, 'checkpoints', `step-${steps[label]}`)
    mkdirSync(dir, {recursive: true})
    const chunk = Buffer.alloc(bytes / files, 7)
    for (let f = 0; f < files; f++) writeFileSync(join(dir, `shard-${f}.bin`), chunk)
    appendFileSync(join(parent.run_dir, 'events.jsonl'), `${JSON.stringify({type: 'checkpoint', step: steps[label], path: `checkpoints/step-${steps[label]}`})}\n`)
  }
  await syncRuns(ctx)
  const times = {'1 GiB': [], '1 MiB': []}
  for (let round = 0; round < 5; round++) {
    for (const label of Object.keys(sizes)) {
      const start = process.hrtime.bigint()
      const child = await forkRun(ctx, {run: parent.run_id, step: steps[label]})
      times[label].push(Number(process.hrtime.bigint() - start) / 1e6)
      await killRun(ctx, {run: child.run_id, graceSeconds: 0})
    }
  }
  const copy = []
  const source = join(parent.run_dir, 'checkpoints', 'step-1')
  for (let round = 0; round < 3; round++) {
    const target = join(scratch, `copy-${round}`)
    const start = process.hrtime.bigint()
    execFileSync('cp', ['-r', source, target])
    copy.push(Number(process.hrtime.bigint() - start) / 1e6)
    rmSync(target, {recursive: true, force: true})
  }
  const start = process.hrtime.bigint()
  const copied = await forkRun(ctx, {run: parent.run_id, step: 1, copy: true})
  const copyFork = Number(process.hrtime.bigint() - start) / 1e6
  await killRun(ctx, {run: copied.run_id, graceSeconds: 0})
  await killRun(ctx, {run: parent.run_id, graceSeconds: 0})
  ctx.store.close()
  const big = median(times['1 GiB'])
  const small = median(times['1 MiB'])
  const ratio = big / small
  console.log('\nfork (median of 5; includes starting the child process)')
  console.log(`  fork, 1 MiB checkpoint     ${ms(small)}`)
  console.log(`  fork, 1 GiB checkpoint     ${ms(big)}   ${ratio.toFixed(2)}× the 1 MiB fork (target ≤ 1.2×) ${ratio <= 1.2 ? 'OK' : 'MISSED'}`)
  console.log(`  cp -r of the 1 GiB         ${ms(median(copy))}`)
  console.log(`  fork --copy, 1 GiB         ${ms(copyFork)}`)
}

async function wake() {
  const path = storeIn('wake')
  const store = await openStore(path)
  const latencies = []
  for (let round = 0; round < 7; round++) {
    const waiter = spawn(process.execPath, ['bin/run.js', 'wait', '--for', 'message', '--timeout', '30', '--json', '--store', path], {stdio: ['ignore', 'pipe', 'ignore']})
    // Give it time to start and enter its loop (a benchmark, not a test: a fixed pause is fine).
    await new Promise((r) => setTimeout(r, 1500))
    let sent = 0n
    const printed = new Promise((resolve) => waiter.stdout.once('data', () => resolve(process.hrtime.bigint())))
    store.write(() => {
      recordEvent(store, {kind: 'message', time: new Date(), actor: 'bench', args: {text: `ping ${round}`}})
    })
    sent = process.hrtime.bigint()
    latencies.push(Number((await printed) - sent) / 1e6)
    await new Promise((r) => waiter.once('close', r))
  }
  store.close()
  const m = median(latencies)
  console.log('\nwake latency (median of 7): event committed by another process → wait prints it')
  console.log(`  wait's poll interval       ${ms(100)}`)
  console.log(`  autolab wait               ${ms(m)}   (target ≤ 250 ms) ${m <= 250 ? 'OK' : 'MISSED'}`)
}

async function sshHosts() {
  // The test suite's sshd fixture, compiled for this run (it is TypeScript).
  const {build} = await import('esbuild')
  const fixture = join(scratch, 'sshd.mjs')
  await build({entryPoints: ['test/helpers/sshd.ts'], outfile: fixture, bundle: true, platform: 'node', format: 'esm', logLevel: 'warning'})
  const {sshClient} = await import(fixture)
  const client = sshClient()
  const server = await client.addServer('bench-ssh')
  process.env.AUTOLAB_SSH_CONFIG = client.configFile
  delete process.env.SSH_AUTH_SOCK
  const root = join(scratch, 'ssh-root')
  mkdirSync(root)
  const project = parseProject(`hosts:\n  local: {kind: local}\n  remote: {kind: ssh, ssh: bench-ssh, root: ${root}}\nrecipes:\n  hold:\n    command: "exec sleep 600"\n`, null)
  const path = storeIn('ssh')
  const fresh = async () => {
    const ctx = await openContext({store: path, create: true, log: () => {}})
    ctx.project = () => project
    return ctx
  }
  /** One operation as a command runs it: its own context and connection, closed at the end. */
  const timed = async (fn) => {
    const ctx = await fresh()
    const start = process.hrtime.bigint()
    try {
      const value = await fn(ctx)
      return {ms: Number(process.hrtime.bigint() - start) / 1e6, value}
    } finally {
      ctx.close()
      ctx.store.close()
    }
  }
  const figures = {}
  const fixed = {connect: [], shell: []}
  try {
    // The fixed cost every command pays on an SSH host: connect + key check + auth, then the
    // session shell, which the host starts through the user's login shell (its rc files run).
    const {SshConnection} = await import('../dist/src/lib/hosts/ssh-connection.js')
    const {resolveSshTarget} = await import('../dist/src/lib/hosts/ssh-target.js')
    for (let round = 0; round < 7; round++) {
      const start = process.hrtime.bigint()
      const connection = await SshConnection.connect(resolveSshTarget('bench-ssh'), {pinnedKey: null, hostId: 'remote'})
      const connected = process.hrtime.bigint()
      await connection.exec('true')
      fixed.connect.push(Number(connected - start) / 1e6)
      fixed.shell.push(Number(process.hrtime.bigint() - connected) / 1e6)
      connection.close()
    }
    // local; ssh with connections shared between commands (the default); ssh with a connection per command.
    for (const [label, host, persist] of [['local', 'local', '60'], ['shared', 'remote', '60'], ['own', 'remote', '0']]) {
      process.env.AUTOLAB_SSH_PERSIST = persist
      const mark = server.acceptedConnections()
      const launches = []
      const kills = []
      for (let round = 0; round < 7; round++) {
        const launched = await timed((ctx) => launchRun(ctx, {recipe: 'hold', host}))
        launches.push(launched.ms)
        kills.push((await timed((ctx) => killRun(ctx, {run: launched.value.run_id, graceSeconds: 0}))).ms)
      }
      const live = []
      for (let i = 0; i < 100; i++) live.push((await timed((ctx) => launchRun(ctx, {recipe: 'hold', host}))).value.run_id)
      const syncs = []
      for (let round = 0; round < 7; round++) syncs.push((await timed((ctx) => syncRuns(ctx, {runIds: live}))).ms)
      figures[label] = {launch: median(launches), kill: median(kills), sync: median(syncs), connections: server.acceptedConnections() - mark}
      const ctx = await fresh()
      for (const run of live) await killRun(ctx, {run, graceSeconds: 0})
      ctx.close()
      ctx.store.close()
    }
  } finally {
    await client.cleanup()
  }
  console.log('\nSSH host vs local (median of 7; each operation in a new context, as a command runs it)')
  console.log(`  a command's own connection costs: connect + host key + auth ${ms(median(fixed.connect))}, then the session shell ${ms(median(fixed.shell))} (started through the user's login shell, rc files included)`)
  console.log('                           local        ssh, shared connection (default)          ssh, a connection per command (AUTOLAB_SSH_PERSIST=0)')
  for (const [label, key] of [['launch', 'launch'], ['kill', 'kill'], ['sync of 100 live runs', 'sync']]) {
    const local = figures.local[key]
    const cell = (remote) => `${ms(remote).padStart(9)} (+${ms(remote - local)}) ${remote <= local + 120 ? 'OK' : 'MISSED'}`
    console.log(`  ${label.padEnd(24)} ${ms(local).padStart(9)}   ${cell(figures.shared[key]).padEnd(40)} ${cell(figures.own[key])}`)
  }
  console.log(`  target: ≤ local + 120 ms. sshd accepted ${figures.shared.connections} connections for the ${7 * 2 + 100 + 7 + 1} shared-mode commands, ${figures.own.connections} for the ${7 * 2 + 100 + 7 + 1} others (at most one per command)`)
}

// BENCH_ONLY=ssh,fork runs only those sections (all by default).
const only = process.env.BENCH_ONLY?.split(',')
const sections = {startup, ingest, fork, wake, ssh: sshHosts}
try {
  for (const [name, section] of Object.entries(sections)) if (!only || only.includes(name)) await section()
} finally {
  rmSync(scratch, {recursive: true, force: true})
}
