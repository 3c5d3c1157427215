// npm run bench: every figure beside its baseline, measured in the same run, printed and written
// to bench/RESULTS.md (BENCH_RESULTS=path writes elsewhere; BENCH_SMOKE=1 runs tiny sizes, as CI
// does, to show the bench still works — its figures mean nothing). BENCH_ONLY=reads,fork picks
// sections.
//   1. reads: runs, show, history, status, tree, log and compare (and sync and tick, whose cost
//      must follow the live runs, not the store's size) as whole CLI processes on a store
//      of 1,000 runs / 1M points and one of 10,000 runs / 10M points (bench/store.mjs), beside
//      `node -e 0` (medians of interleaved runs) and `sqlite3 -json` of the runs list. Targets:
//      ≤ 1.6× node -e 0 at 1k, ≤ 2.0× at 10k.
//   2. ingest: points/s of the real ingest path (JSONL parse, validation, upsert, observations) vs
//      a bare prepared-statement insert of the same rows. Target: ≥ 400k points/s.
//   3. fork: a fork from a 1 GiB checkpoint vs from a 1 MiB one (target: within 1.2×), beside
//      `cp -r` of the 1 GiB checkpoint.
//   4. wake latency: from an event committed by another process to `autolab wait` printing it
//      (target ≤ 250 ms), beside wait's poll interval.
//   5. SSH: launch, kill and the sync of 100 live runs on a host reached over SSH (a real sshd on
//      127.0.0.1) beside the same on `local`, each operation in a new context as a command runs
//      it: with connections shared between commands (the default) and with one per command
//      (AUTOLAB_SSH_PERSIST=0). Target: ≤ local + 120 ms.
//   6. concurrency: 32 CLI processes at once, mixing forks, kills and reads on one store.
//      Errors must be 0; throughput in commands/s, beside the same commands one at a time.
import {execFileSync, spawn, spawnSync} from 'node:child_process'
import {appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {availableParallelism, cpus, tmpdir} from 'node:os'
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
import {generateStore} from './store.mjs'

const SMOKE = process.env.BENCH_SMOKE === '1'
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (SMOKE ? 1 : 15))
const RESULTS = process.env.BENCH_RESULTS ?? new URL('./RESULTS.md', import.meta.url).pathname
const scratch = mkdtempSync(join(tmpdir(), 'autolab-bench-'))
/** Each store in its own directory: its runs live beside it, and a store is never created beside another's runs. */
const storeIn = (name) => {
  mkdirSync(join(scratch, name), {recursive: true})
  return join(scratch, name, 'autolab.db')
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const ms = (x) => `${x.toFixed(1)} ms`

function timeCommand(args, env = {}) {
  const start = process.hrtime.bigint()
  const result = spawnSync(args[0] === 'sqlite3' ? 'sqlite3' : process.execPath, args[0] === 'sqlite3' ? args.slice(1) : args, {stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, AUTOLAB_PROJECT: '', ...env}, maxBuffer: 1 << 30})
  const elapsed = Number(process.hrtime.bigint() - start) / 1e6
  if (result.status !== 0) throw new Error(`${args.join(' ')} failed: ${result.stderr}${String(result.stdout).slice(0, 500)}`)
  return elapsed
}

/** Every figure of the run, for bench/RESULTS.md: {section, figure, value, baseline, target, met}. */
const results = []
function record(section, figure, value, baseline, target = '', met = null) {
  results.push({section, figure, value, baseline, target, met})
}
const verdict = (met) => (met === null ? '' : met ? 'OK' : 'MISSED')

const READ_SIZES = SMOKE ? [['1k', 50, 10_000], ['10k', 200, 40_000]] : [['1k', 1000, 1_000_000], ['10k', 10_000, 10_000_000]]
const READ_TARGETS = {'1k': 1.6, '10k': 2.0}

async function reads() {
  const runViewColumns = 'run_id, name, status, step, parent_run_id, fork_step, host_id, recipe, campaign_id, gpus, pid, exit_code, error, config_id, run_dir, created_at, started_at, ended_at, synced_at'
  for (const [label, runs, points] of READ_SIZES) {
    const storePath = storeIn(`reads-${label}`)
    const t = Date.now()
    await generateStore(storePath, runs, points)
    console.log(`\ngenerated a store of ${runs.toLocaleString()} runs and ${points.toLocaleString()} points in ${((Date.now() - t) / 1000).toFixed(1)} s`)
    const mid = `r${Math.ceil(runs / 2)}`
    const commands = {
      'runs': ['runs'],
      'runs --all': ['runs', '--all'],
      [`show ${mid}`]: ['show', mid],
      [`history ${mid}`]: ['history', mid],
      'status': ['status'],
      'tree': ['tree'],
      'tree --all': ['tree', '--all'],
      'log': ['log'],
      'compare r1 r2 --metric reward': ['compare', 'r1', 'r2', '--metric', 'reward'],
      // Not reads, but what cron and agents run all the time: their cost follows the live runs
      // (none here), not the store's size.
      'sync': ['sync'],
      'tick': ['tick'],
    }
    const cli = (args) => ['bin/run.js', ...args, '--json', '--store', storePath]
    const sqlite = ['sqlite3', '-json', storePath, `SELECT ${runViewColumns} FROM runs ORDER BY seq`]
    for (const args of Object.values(commands)) timeCommand(cli(args)) // warm the page cache and the code cache
    timeCommand(sqlite)
    // Each command's run is paired with a `node -e 0` just before it: the ratio of each pair cancels
    // the machine's drift between rounds, and the median of the ratios is the figure.
    const times = {node: [], sqlite: [], ...Object.fromEntries(Object.keys(commands).map((k) => [k, []]))}
    const ratios = Object.fromEntries(Object.keys(commands).map((k) => [k, []]))
    for (let i = 0; i < ROUNDS; i++) {
      times.sqlite.push(timeCommand(sqlite))
      for (const [name, args] of Object.entries(commands)) {
        const node = timeCommand(['-e', '0'])
        times.node.push(node)
        const took = timeCommand(cli(args))
        times[name].push(took)
        ratios[name].push(took / node)
      }
    }
    const node = median(times.node)
    const target = READ_TARGETS[label]
    console.log(`reads at ${runs.toLocaleString()} runs / ${points.toLocaleString()} points (whole processes, --json, ${ROUNDS} rounds; the median time, and the median ratio to a node -e 0 run just before; target ≤ ${target}×)`)
    console.log(`  node -e 0                       ${ms(node)}`)
    console.log(`  sqlite3 -json of the runs list  ${ms(median(times.sqlite))}`)
    record(`reads ${label}`, 'node -e 0', ms(node), '', '')
    record(`reads ${label}`, 'sqlite3 -json of the runs list (all)', ms(median(times.sqlite)), '', '')
    for (const name of Object.keys(commands)) {
      const value = median(times[name])
      const ratio = median(ratios[name])
      // The full lists (--all) are shown beside sqlite3 -json of the same rows; the targets are the
      // answers agents get by default (a page).
      const full = name.endsWith('--all')
      const met = full ? null : ratio <= target
      const baseline = full ? `${ratio.toFixed(2)}× node -e 0; sqlite3 -json ${ms(median(times.sqlite))}` : `${ratio.toFixed(2)}× node -e 0`
      console.log(`  autolab ${name.padEnd(24)}${ms(value).padStart(9)}   ${baseline} ${verdict(met)}`)
      record(`reads ${label}`, `autolab ${name} --json`, ms(value), baseline, full ? '' : `≤ ${target}×`, met)
    }
  }
}

async function ingest() {
  const steps = SMOKE ? 2_000 : 100_000
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
  record('ingest', `ingest of ${total.toLocaleString()} points`, `${Math.round(rate).toLocaleString()} points/s`, `bare INSERT ${Math.round(total / bareSeconds).toLocaleString()} points/s`, '≥ 400,000 points/s', rate >= 400_000)
  store.close()
  bare.close()
}

async function fork() {
  const ctx = await openContext({store: storeIn('fork'), create: true, log: () => {}})
  // A trainer that just holds its GPU: the child's process start is part of the fork, not its work.
  const project = parseProject('recipes:\n  hold:\n    command: "exec sleep 600"\n', null)
  ctx.project = () => project
  const parent = await launchRun(ctx, {recipe: 'hold'})
  const sizes = {'1 GiB': SMOKE ? 8 * 1024 ** 2 : 1024 ** 3, '1 MiB': 1024 ** 2}
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
  for (let round = 0; round < (SMOKE ? 1 : 11); round++) {
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
  console.log(`\nfork (median of ${SMOKE ? 1 : 11}, the two sizes alternating; includes starting the child process)`)
  console.log(`  fork, 1 MiB checkpoint     ${ms(small)}`)
  console.log(`  fork, 1 GiB checkpoint     ${ms(big)}   ${ratio.toFixed(2)}× the 1 MiB fork (target ≤ 1.2×) ${ratio <= 1.2 ? 'OK' : 'MISSED'}`)
  console.log(`  cp -r of the 1 GiB         ${ms(median(copy))}`)
  console.log(`  fork --copy, 1 GiB         ${ms(copyFork)}`)
  record('fork', 'fork, 1 MiB checkpoint', ms(small), '', '')
  record('fork', 'fork, 1 GiB checkpoint', ms(big), `${ratio.toFixed(2)}× the 1 MiB fork; cp -r of it ${ms(median(copy))}; fork --copy ${ms(copyFork)}`, '≤ 1.2× the 1 MiB fork', ratio <= 1.2)
}

async function wake() {
  const path = storeIn('wake')
  const store = await openStore(path)
  const latencies = []
  for (let round = 0; round < (SMOKE ? 1 : 7); round++) {
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
  record('wake', 'wait: event committed by another process → printed', ms(m), `poll interval ${ms(100)}`, '≤ 250 ms', m <= 250)
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
      for (let round = 0; round < (SMOKE ? 1 : 7); round++) {
        const launched = await timed((ctx) => launchRun(ctx, {recipe: 'hold', host}))
        launches.push(launched.ms)
        kills.push((await timed((ctx) => killRun(ctx, {run: launched.value.run_id, graceSeconds: 0}))).ms)
      }
      const live = []
      for (let i = 0; i < (SMOKE ? 5 : 100); i++) live.push((await timed((ctx) => launchRun(ctx, {recipe: 'hold', host}))).value.run_id)
      const syncs = []
      for (let round = 0; round < (SMOKE ? 1 : 7); round++) syncs.push((await timed((ctx) => syncRuns(ctx, {runIds: live}))).ms)
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
    const cell = (remote, judged) => `${ms(remote).padStart(9)} (+${ms(remote - local)})${judged ? ` ${remote <= local + 120 ? 'OK' : 'MISSED'}` : ''}`
    console.log(`  ${label.padEnd(24)} ${ms(local).padStart(9)}   ${cell(figures.shared[key], true).padEnd(40)} ${cell(figures.own[key], false)}`)
    record('ssh', `${label}, ssh (shared connection, the default)`, ms(figures.shared[key]), `local ${ms(local)}`, '≤ local + 120 ms', figures.shared[key] <= local + 120)
    // Sharing connections is what meets the target; a connection per command is shown for comparison.
    record('ssh', `${label}, ssh (a connection per command, AUTOLAB_SSH_PERSIST=0)`, ms(figures.own[key]), `local ${ms(local)}`, '', null)
  }
  console.log(`  target: ≤ local + 120 ms. sshd accepted ${figures.shared.connections} connections for the ${7 * 2 + 100 + 7 + 1} shared-mode commands, ${figures.own.connections} for the ${7 * 2 + 100 + 7 + 1} others (at most one per command)`)
}

async function concurrency() {
  const clis = SMOKE ? 8 : 32
  const total = SMOKE ? 24 : 192
  const dir = join(scratch, 'concurrency')
  mkdirSync(dir)
  const storePath = join(dir, 'autolab.db')
  const projectFile = join(dir, 'autolab.yaml')
  // A trainer that just holds its GPU: the fork's child process start is part of the fork.
  writeFileSync(projectFile, 'recipes:\n  hold:\n    command: "exec sleep 600"\n')
  const env = {...process.env, AUTOLAB_PROJECT: projectFile, AUTOLAB_ACTOR: 'bench'}
  const cli = (args) => [join(process.cwd(), 'bin/run.js'), ...args, '--json', '--store', storePath]
  const once = (args) => spawnSync(process.execPath, cli(args), {env, cwd: dir, encoding: 'utf8'})
  once(['init', '--no-project'])
  const {run_id: parent, run_dir: runDir} = JSON.parse(once(['launch', '--recipe', 'hold']).stdout).data
  mkdirSync(join(runDir, 'checkpoints', 'step-1'), {recursive: true})
  writeFileSync(join(runDir, 'checkpoints', 'step-1', 'weights.bin'), Buffer.alloc(1 << 20, 1))
  appendFileSync(join(runDir, 'events.jsonl'), `${JSON.stringify({type: 'checkpoint', step: 1, path: 'checkpoints/step-1'})}\n`)
  once(['sync'])
  // The mix: forks, kills of children forked earlier, and reads.
  const reads = [['runs'], ['status'], ['show', parent], ['tree'], ['log', '--limit', '20']]
  const children = []
  let killed = 0
  const nextCommand = (i) => {
    if (i % 4 === 0) return ['fork', parent, '--step', '1', '--reason', 'bench']
    if (i % 4 === 2 && killed < children.length) return ['kill', children[killed++], '--grace', '0']
    return reads[i % reads.length]
  }
  const errors = []
  const runOne = (args) => new Promise((resolve) => {
    const child = spawn(process.execPath, cli(args), {env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.on('close', (code) => {
      let ok = false
      try {
        const doc = JSON.parse(out)
        ok = doc.ok === true && code === 0
        if (ok && args[0] === 'fork') children.push(doc.data.run_id)
        if (!ok) errors.push(`${args.join(' ')}: ${doc.error?.code} ${doc.error?.message}`)
      } catch {
        errors.push(`${args.join(' ')}: exit ${code}, not one JSON document: ${out.slice(0, 200)}`)
      }
      resolve(ok)
    })
  })
  const start = process.hrtime.bigint()
  let issued = 0
  const lane = async () => {
    while (issued < total) await runOne(nextCommand(issued++))
  }
  await Promise.all(Array.from({length: clis}, lane))
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  // The same number of commands one at a time, for the baseline (reads and forks/kills alike).
  const serialStart = process.hrtime.bigint()
  for (let i = 0; i < Math.min(total, 32); i++) await runOne(nextCommand(i))
  const serialRate = Math.min(total, 32) / (Number(process.hrtime.bigint() - serialStart) / 1e9)
  for (const run of [parent, ...children]) once(['kill', run, '--grace', '0'])
  const rate = total / seconds
  console.log(`\nconcurrency: ${total} commands from ${clis} CLI processes at once (forks, kills, reads) on one store`)
  console.log(`  one at a time              ${serialRate.toFixed(1)} commands/s`)
  console.log(`  ${clis} at once                ${rate.toFixed(1)} commands/s, errors: ${errors.length} (target 0) ${errors.length === 0 ? 'OK' : 'MISSED'}`)
  for (const error of errors.slice(0, 5)) console.log(`    ${error}`)
  record('concurrency', `${clis} CLIs at once, ${total} commands (forks, kills, reads)`, `${rate.toFixed(1)} commands/s, ${errors.length} errors`, `one at a time ${serialRate.toFixed(1)} commands/s`, '0 errors', errors.length === 0)
}

function writeResults(started) {
  const commit = (() => {
    try {
      return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {encoding: 'utf8'}).trim()
    } catch {
      return 'unknown'
    }
  })()
  const lines = [
    '# Benchmark results',
    '',
    `Written by \`npm run bench\`${SMOKE ? ' in smoke mode (tiny sizes: the figures mean nothing)' : ''} on ${started.toISOString().slice(0, 10)}, commit ${commit}: Node ${process.version}, ${availableParallelism()} × ${cpus()[0]?.model ?? 'CPU'}, ${ROUNDS} rounds. Every figure beside its baseline from the same run; whole CLI processes unless said otherwise.`,
    '',
  ]
  let section = null
  for (const r of results) {
    if (r.section !== section) {
      section = r.section
      lines.push('', `## ${section}`, '', '| figure | value | baseline | target | |', '|---|---|---|---|---|')
    }
    lines.push(`| ${r.figure} | ${r.value} | ${r.baseline} | ${r.target} | ${verdict(r.met)} |`)
  }
  const missed = results.filter((r) => r.met === false).length
  lines.push('', `${results.filter((r) => r.met !== null).length - missed} targets met, ${missed} missed.`, '')
  writeFileSync(RESULTS, lines.join('\n'))
  console.log(`\nwritten to ${RESULTS}: ${missed} of the targets missed`)
}

// BENCH_ONLY=reads,fork runs only those sections (all by default).
const only = process.env.BENCH_ONLY?.split(',')
const sections = {reads, ingest, fork, wake, ssh: sshHosts, concurrency}
const started = new Date()
try {
  for (const [name, section] of Object.entries(sections)) if (!only || only.includes(name)) await section()
  writeResults(started)
} finally {
  rmSync(scratch, {recursive: true, force: true})
}
