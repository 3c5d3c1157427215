// The `host` commands' work: list what the project file declares and the store remembers, check
// a host (connect with its key verified, run the check script, pin a new key on request), forget
// a pinned key, and add or remove a declaration in the project file. Every input is validated
// before anything is written; a host that cannot be reached changes nothing.
import {resolve} from 'node:path'
import {performance} from 'node:perf_hooks'
import type {Ctx} from '../context.js'
import {recordEvent} from '../events.js'
import {AutolabError} from '../output/errors.js'
import {type HostDecl, type Project, remoteRootProblem, SSH_SPEC} from '../project.js'
import {editProjectHosts} from '../project-edit.js'
import {LIVE_STATES, TERMINAL_STATES} from '../runs/state-machine.js'
import {isSafeName} from '../shell.js'
import {LOCAL_HOST} from '../store/seed.js'
import type {HostRow} from '../store/schema.js'
import {type CheckAnswer, type CheckedGpu, checkScript, MAX_CHECK_OUTPUT, parseCheckAnswer} from './host-check.js'
import {requireHost, upsertDeclaredHost} from './registry.js'
import {SshConnection} from './ssh-connection.js'
import {resolveSshTarget} from './ssh-target.js'
import {spawn} from 'node:child_process'

export interface HostView {
  host: string
  kind: string
  /** ssh hosts: the project file's `ssh:` (user@host[:port] or an ~/.ssh/config alias); null for local. */
  ssh: string | null
  /** The work root (for local, the store's directory). */
  root: string
  gpus: string[]
  /** `gpus: auto`: the list is what `host check` found. */
  gpus_auto: boolean
  gpus_total: number
  gpus_used: number
  gpus_free: number
  /** Runs with a process on the host (starting, running, pausing, killing). */
  live_runs: string[]
  /** The SSH host key fingerprint pinned in the store (`host check --accept-new`), or null. */
  host_key: string | null
  synced_at: string | null
  /** Still in the project file; a host no longer declared keeps its store row for its runs. */
  declared: boolean
}

export interface HostListResult {
  project_file: string | null
  hosts: HostView[]
}

/** Every host of the project file (in its order), then those only the store remembers. Reads only. */
export function listHosts(ctx: Ctx): HostListResult {
  const project = ctx.project()
  return {project_file: project.file, hosts: hostViews(ctx, project)}
}

function hostViews(ctx: Ctx, project: Project): HostView[] {
  const {store} = ctx
  const rows = new Map(store.all(store.db.selectFrom('hosts').selectAll().orderBy('created_at').orderBy('host_id')).map((r) => [r.host_id, r]))
  const live = store.all(store.db.selectFrom('runs').select(['run_id', 'host_id', 'gpus']).where('status', 'in', [...LIVE_STATES]).orderBy('seq'))
  const names = [...Object.keys(project.hosts), ...[...rows.keys()].filter((h) => !Object.hasOwn(project.hosts, h))]
  return names.map((name) => {
    const decl = project.hosts[name] as HostDecl | undefined
    const row = rows.get(name)
    const kind = decl?.kind ?? row!.kind
    const gpus = decl && decl.gpus !== 'auto' ? decl.gpus : (JSON.parse(row?.gpus ?? '[]') as string[])
    const runs = live.filter((r) => r.host_id === name)
    const used = new Set(runs.flatMap((r) => JSON.parse(r.gpus) as string[]))
    const rootOf = kind === 'local' ? resolve(store.dir, row?.root ?? '.') : (decl?.root ?? row!.root)
    return {
      host: name, kind, ssh: decl?.ssh ?? row?.address ?? null, root: rootOf, gpus,
      gpus_auto: decl?.gpus === 'auto', gpus_total: gpus.length, gpus_used: gpus.filter((g) => used.has(g)).length,
      gpus_free: gpus.filter((g) => !used.has(g)).length, live_runs: runs.map((r) => r.run_id),
      host_key: row?.host_key ?? null, synced_at: row?.synced_at ?? null, declared: decl !== undefined,
    }
  })
}

export interface HostCheckResult {
  host: string
  kind: string
  ssh: string | null
  root: string
  reachable: true
  /** Connect, key exchange and authentication (ssh hosts). */
  connect_ms: number | null
  /** Round trip of a trivial command on the open connection (local: a `sh -c :`). */
  latency_ms: number
  host_key: {fingerprint: string; verified_by: 'known_hosts' | 'pinned' | 'accepted_new'; pinned_now: boolean} | null
  tools: CheckAnswer['tools']
  gpus: CheckedGpu[]
  gpu_error: string | null
  /** `gpus: auto`: the GPU ids now stored for the host; null otherwise (or when nvidia-smi failed). */
  gpus_stored: string[] | null
  disk: CheckAnswer['disk']
  /** The host's clock minus this machine's, in seconds (±1: `date +%s` has whole seconds). */
  clock_skew_seconds: number
  root_exists: boolean
  root_writable: boolean
  /** Nothing in `problems`: runs can be placed there. */
  ready: boolean
  problems: string[]
}

const CHECK_TIMEOUT_MS = 60_000
const MAX_SKEW_SECONDS = 5
const MIN_FREE_BYTES = 1 << 30

/**
 * Connect to the host with its key verified (pinned in the store, else known_hosts), run the
 * check script and a trivial command, and report. `acceptNew` pins a key nothing knows yet, only
 * once the whole check succeeded; a key that differs from a known one is HOST_KEY_MISMATCH.
 */
export async function checkHost(ctx: Ctx, name: string, options: {acceptNew?: boolean; reason?: string} = {}): Promise<HostCheckResult> {
  const row = requireHost(ctx, name)
  let probe: Probe
  if (row.kind === 'local') {
    if (options.acceptNew) ctx.warnings.push('--accept-new has no effect on the local host: it has no host key')
    probe = await probeLocal(resolve(ctx.store.dir, row.root), name)
  } else if (row.kind === 'ssh' && row.address) {
    probe = await probeSsh(row, Boolean(options.acceptNew))
  } else {
    throw new AutolabError('INVALID_CONFIG', `Host ${name} has kind ${row.kind}, which this version cannot check.`, {details: {host: name}})
  }
  const {answer} = probe
  const decl = ctx.project().hosts[name]
  const discovered = answer.gpus.map((g) => g.index)
  const storeAuto = decl?.gpus === 'auto' && answer.gpu_error === null
  const pinNow = probe.hostKey?.verdict === 'unknown'
  const problems = checkProblems(answer, probe.skew, decl && decl.gpus !== 'auto' ? decl.gpus : null)
  ctx.store.write(() => {
    const {store} = ctx
    if (storeAuto) store.run(store.db.updateTable('hosts').set({gpus: JSON.stringify(discovered)}).where('host_id', '=', name))
    if (pinNow) {
      const fingerprint = probe.hostKey!.fingerprint
      // Only over no pin: another process may have pinned a key since this one read the row.
      const pinned = store.run(store.db.updateTable('hosts').set({host_key: fingerprint}).where('host_id', '=', name).where('host_key', 'is', null))
      if (pinned.changes === 0) {
        throw new AutolabError('CONFLICT', `Another process pinned a key for host ${name} during this check; nothing was changed.`, {retryable: true, suggestedAction: `Run \`autolab host check ${name}\` again.`, details: {host: name}})
      }
      recordEvent(store, {kind: 'host', time: ctx.now(), actor: ctx.actor, reason: options.reason ?? null, args: {action: 'pin_key', host: name}, result: {host_key: fingerprint}})
    }
  })
  if (pinNow) ctx.warnings.push(`pinned host key ${probe.hostKey!.fingerprint} for ${name}: later connections accept only this key`)
  return {
    host: name, kind: row.kind, ssh: row.address, root: probe.root, reachable: true,
    connect_ms: probe.connectMs, latency_ms: probe.latencyMs,
    host_key: probe.hostKey === null ? null : {
      fingerprint: probe.hostKey.fingerprint,
      verified_by: probe.hostKey.verdict === 'ok' ? probe.hostKey.source : 'accepted_new',
      pinned_now: pinNow,
    },
    tools: answer.tools, gpus: answer.gpus, gpu_error: answer.gpu_error, gpus_stored: storeAuto ? discovered : null,
    disk: answer.disk, clock_skew_seconds: probe.skew, root_exists: answer.root_exists, root_writable: answer.root_writable,
    ready: problems.length === 0, problems,
  }
}

function checkProblems(answer: CheckAnswer, skew: number, declaredGpus: string[] | null): string[] {
  const problems: string[] = []
  if (!answer.tools.sh) problems.push('sh is not on the PATH: the launch wrapper needs it')
  if (!answer.root_exists) problems.push('the root does not exist: create it on the host (mkdir -p)')
  else if (!answer.root_writable) problems.push('the root is not writable by this user')
  if (answer.disk && answer.disk.free_bytes < MIN_FREE_BYTES) problems.push(`only ${Math.floor(answer.disk.free_bytes / (1 << 20))} MiB free under the root`)
  if (Math.abs(skew) > MAX_SKEW_SECONDS) problems.push(`the host's clock is ${skew > 0 ? 'ahead' : 'behind'} by ${Math.abs(skew)} s: telemetry times and staleness will be off`)
  if (answer.gpu_error !== null) problems.push(`nvidia-smi failed: ${answer.gpu_error}`)
  if (declaredGpus && answer.gpu_error === null) {
    const known = new Set(answer.gpus.flatMap((g) => [g.index, g.uuid]))
    const missing = declaredGpus.filter((g) => !known.has(g))
    if (missing.length > 0) problems.push(`declared GPU ids not found by nvidia-smi: ${missing.join(', ')}`)
  }
  return problems
}

interface Probe {
  answer: CheckAnswer
  root: string
  connectMs: number | null
  latencyMs: number
  skew: number
  hostKey: SshConnection['hostKey']
}

/** Seconds between the host's clock (whole seconds, so +0.5) and the middle of the exec here. */
function skewOf(remoteSeconds: number, startedMs: number, endedMs: number): number {
  return Math.round(remoteSeconds + 0.5 - (startedMs + endedMs) / 2000)
}

async function probeSsh(row: HostRow, acceptNew: boolean): Promise<Probe> {
  const started = performance.now()
  const connection = await SshConnection.connect(resolveSshTarget(row.address!), {pinnedKey: row.host_key, acceptNew, hostId: row.host_id})
  const connectMs = Math.round(performance.now() - started)
  // A host that accepts the connection but never answers (a hung filesystem under the root)
  // must not hold the command for ever: closing the connection fails what is in flight.
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    connection.close()
  }, CHECK_TIMEOUT_MS)
  try {
    const before = Date.now()
    const result = await connection.exec(checkScript(row.root), {maxStdout: MAX_CHECK_OUTPUT})
    const after = Date.now()
    const answer = parseCheckAnswer(result.stdout, row.host_id)
    const t0 = performance.now()
    await connection.exec(':')
    const latencyMs = Math.round((performance.now() - t0) * 10) / 10
    return {answer, root: row.root, connectMs, latencyMs, skew: skewOf(answer.now, before, after), hostKey: connection.hostKey}
  } catch (error) {
    if (timedOut) throw new AutolabError('TIMEOUT', `Host ${row.host_id} did not finish the check within ${CHECK_TIMEOUT_MS / 1000} s; nothing was changed.`, {details: {host: row.host_id}, cause: error})
    throw error
  } finally {
    clearTimeout(timer)
    connection.close()
  }
}

async function probeLocal(root: string, hostId: string): Promise<Probe> {
  const before = Date.now()
  const stdout = await runLocalSh(checkScript(root), hostId)
  const after = Date.now()
  const answer = parseCheckAnswer(stdout, hostId)
  const t0 = performance.now()
  await runLocalSh(':', hostId)
  const latencyMs = Math.round((performance.now() - t0) * 10) / 10
  return {answer, root, connectMs: null, latencyMs, skew: skewOf(answer.now, before, after), hostKey: null}
}

/** The script through /bin/sh here, as over SSH: stdin the script, stdout bounded, a deadline. */
function runLocalSh(script: string, hostId: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-s'], {stdio: ['pipe', 'pipe', 'ignore']})
    const chunks: Buffer[] = []
    let size = 0
    let why: string | null = null
    const fail = (reason: string) => {
      if (why !== null) return
      why = reason
      child.kill('SIGKILL')
    }
    const timer = setTimeout(() => fail(`no answer within ${CHECK_TIMEOUT_MS / 1000} s`), CHECK_TIMEOUT_MS)
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_CHECK_OUTPUT) fail(`more than ${MAX_CHECK_OUTPUT} bytes of output`)
      else chunks.push(chunk)
    })
    child.on('error', (error) => fail(error.message))
    child.on('close', () => {
      clearTimeout(timer)
      if (why === null) resolve(Buffer.concat(chunks))
      else reject(new AutolabError('HOST_UNREACHABLE', `The check of host ${hostId} failed: ${why}.`, {retryable: false, details: {host: hostId}}))
    })
    // The shell may exit before it has read the whole script; its answer says what happened.
    child.stdin.on('error', () => {})
    child.stdin.end(script)
  })
}

export interface ForgetKeyResult {
  host: string
  /** The fingerprint that was pinned, or null when none was. */
  forgotten_key: string | null
  changed: boolean
}

/** Drop the pinned fingerprint (after a legitimate reinstall), so `host check --accept-new` can pin the new one. */
export function forgetHostKey(ctx: Ctx, name: string, reason?: string): ForgetKeyResult {
  const row = requireHost(ctx, name)
  if (row.kind === 'local') throw new AutolabError('INVALID_ARGUMENT', 'The local host has no host key to forget.', {details: {host: name}})
  return ctx.store.write(() => {
    const {store} = ctx
    const current = store.first(store.db.selectFrom('hosts').select('host_key').where('host_id', '=', name))?.host_key ?? null
    if (current === null) return {host: name, forgotten_key: null, changed: false}
    store.run(store.db.updateTable('hosts').set({host_key: null}).where('host_id', '=', name))
    recordEvent(store, {kind: 'host', time: ctx.now(), actor: ctx.actor, reason: reason ?? null, args: {action: 'forget_key', host: name}, result: {forgotten_key: current}})
    return {host: name, forgotten_key: current, changed: true}
  })
}

export interface AddHostOptions {
  name: string
  ssh: string
  root: string
  /** `0,1,2` or `auto`; absent: auto. */
  gpus?: string
  reason?: string
}

export interface HostChangeResult {
  project_file: string
  host: HostView
  /** What to do next, as a command line. */
  next: string
}

/** Declare an ssh host in the project file (comments and layout kept) and in the store. */
export async function addHost(ctx: Ctx, options: AddHostOptions): Promise<HostChangeResult> {
  const decl = validHostDecl(options)
  const project = ctx.project()
  if (project.file === null) {
    throw new AutolabError('FILE_NOT_FOUND', 'There is no project file (autolab.yaml) to declare the host in: without one the built-in toy recipe and the local host are used.', {
      suggestedAction: `Run \`autolab init\` (it keeps the store and writes autolab.yaml), then \`autolab host add ${options.name} …\` again; or pass --project FILE.`,
      details: {host: options.name},
    })
  }
  const existing = project.hosts[decl.name]
  if (existing) {
    throw new AutolabError('HOST_EXISTS', `Host ${decl.name} is already declared in ${project.file}${existing.ssh ? ` (ssh: ${existing.ssh}, root: ${existing.root})` : ''}; nothing was changed.`, {
      suggestedAction: `Pick another name, or run \`autolab host remove ${decl.name}\` first to replace it.`,
      details: {host: decl.name, ssh: existing.ssh ?? null, root: existing.root ?? null, project_file: project.file},
    })
  }
  requireWritableStore(ctx)
  const updated = await editProjectHosts(project.file, {add: decl}, ctx.store.path)
  ctx.store.write(() => {
    upsertDeclaredHost(ctx.store, decl, ctx.now())
    recordEvent(ctx.store, {kind: 'host', time: ctx.now(), actor: ctx.actor, reason: options.reason ?? null, args: {action: 'add', host: decl.name, ssh: decl.ssh, root: decl.root, gpus: decl.gpus}})
  })
  const view = hostViews(ctx, updated).find((h) => h.host === decl.name)!
  return {project_file: project.file, host: view, next: `autolab host check ${decl.name}`}
}

/** Checks of `host add`'s arguments, all before anything is read or written. */
export function validHostDecl(options: AddHostOptions): HostDecl {
  const invalid = (message: string, details: Record<string, unknown>): never => {
    throw new AutolabError('INVALID_ARGUMENT', message, {details})
  }
  if (options.name === LOCAL_HOST) invalid('`local` is the built-in host of this machine: declare its GPUs under hosts.local in autolab.yaml.', {host: options.name})
  if (!isSafeName(options.name)) invalid(`Invalid host name "${options.name}": use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.`, {host: options.name})
  if (!SSH_SPEC.test(options.ssh)) invalid(`--ssh "${options.ssh}" is not user@host[:port] or an alias of ~/.ssh/config.`, {ssh: options.ssh})
  const port = /:(\d+)$/.exec(options.ssh)?.[1]
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65_535)) invalid(`--ssh "${options.ssh}": port ${port} is not 1-65535.`, {ssh: options.ssh})
  const rootProblem = remoteRootProblem(options.root)
  if (rootProblem) invalid(`--root "${options.root}": ${rootProblem}.`, {root: options.root})
  return {name: options.name, kind: 'ssh', ssh: options.ssh, root: options.root, gpus: parseGpuList(options.gpus ?? 'auto')}
}

/** `--gpus`: `auto`, or comma-separated ids (numbers or ids such as GPU-uuid), no repeats; empty: none. */
export function parseGpuList(text: string): string[] | 'auto' {
  if (text.trim() === 'auto') return 'auto'
  const ids = text.split(',').map((g) => g.trim()).filter((g) => g !== '')
  const bad = ids.find((g) => !/^[A-Za-z0-9-]{1,128}$/.test(g))
  if (bad !== undefined) throw new AutolabError('INVALID_ARGUMENT', `--gpus: "${bad}" is not a GPU id (a number such as 0, or an id such as GPU-uuid); give ids separated by commas, or auto.`, {details: {gpus: text}})
  if (ids.length > 256) throw new AutolabError('INVALID_ARGUMENT', `--gpus: ${ids.length} ids; at most 256.`, {details: {gpus: text}})
  const normalised = ids.map((g) => (/^\d+$/.test(g) ? String(Number(g)) : g))
  if (new Set(normalised).size !== normalised.length) throw new AutolabError('INVALID_ARGUMENT', `--gpus: "${text}" lists a GPU id twice.`, {details: {gpus: text}})
  return normalised
}

/** Statuses that still need their host: a process there, or one to be started (queued) or resumed (paused) there. */
export const HOST_BOUND_STATES = ['queued', 'starting', 'running', 'pausing', 'paused', 'killing'] as const

export interface HostRemoveResult {
  project_file: string
  host: string
  removed: true
  /** The store keeps the host's row: its ended runs refer to it (`host list` shows it as not declared). */
  store_row_kept: boolean
}

/** Remove a host's declaration from the project file; refused while any run still needs the host. */
export async function removeHost(ctx: Ctx, name: string, reason?: string): Promise<HostRemoveResult> {
  if (name === LOCAL_HOST) throw new AutolabError('INVALID_ARGUMENT', 'The local host cannot be removed: it is this machine, and every store has it.', {details: {host: name}})
  const project = ctx.project()
  if (project.file === null || !project.hosts[name]) {
    const inStore = ctx.store.first(ctx.store.db.selectFrom('hosts').select('host_id').where('host_id', '=', name)) !== undefined
    throw new AutolabError('HOST_NOT_FOUND', `Host ${name} is not declared in ${project.file ?? 'any project file'}${inStore ? ' (the store remembers it for its runs; there is nothing to remove)' : ''}.`, {
      suggestedAction: 'List hosts with `autolab host list --json`.', details: {host: name, in_store: inStore},
    })
  }
  const {store} = ctx
  const runs = store.all(store.db.selectFrom('runs').select(['run_id', 'name', 'status']).where('host_id', '=', name).where('status', 'not in', [...TERMINAL_STATES]).orderBy('seq'))
  if (runs.length > 0) {
    throw new AutolabError('HOST_IN_USE', `Host ${name} still has ${runs.length} run(s) that need it: ${runs.map((r) => `${r.run_id} (${r.status})`).join(', ')}; nothing was changed.`, {
      suggestedAction: `Let them end, or stop them (\`autolab kill ${runs[0].run_id}\`), then remove the host.`,
      details: {host: name, runs: runs.map((r) => ({run_id: r.run_id, name: r.name, status: r.status}))},
    })
  }
  requireWritableStore(ctx)
  await editProjectHosts(project.file, {remove: name}, store.path)
  const kept = store.first(store.db.selectFrom('hosts').select('host_id').where('host_id', '=', name)) !== undefined
  store.write(() => {
    // Its GPUs are no longer on offer (the status bar's total, placement): the row stays for its runs.
    store.run(store.db.updateTable('hosts').set({gpus: '[]'}).where('host_id', '=', name))
    recordEvent(store, {kind: 'host', time: ctx.now(), actor: ctx.actor, reason: reason ?? null, args: {action: 'remove', host: name}})
  })
  return {project_file: project.file, host: name, removed: true, store_row_kept: kept}
}

/** Before the project file is touched: a read-only store could not record the change after it. */
function requireWritableStore(ctx: Ctx): void {
  if (ctx.store.readOnlyReason !== null) {
    throw new AutolabError('STORE_READONLY', `The store is read-only: ${ctx.store.readOnlyReason}. Nothing was changed.`, {details: {store: ctx.store.path}})
  }
}
