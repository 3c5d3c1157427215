// Sync: bring the store up to date with what the runs' hosts say. For each host, one probe of
// all its live runs (new JSONL bytes, liveness, exit code); then, per run, one write
// transaction that ingests the bytes, advances the offsets, records events and applies the exit.
// Safe against concurrent syncs of the same run: offsets are re-read inside the transaction and
// bytes another process already ingested are skipped; status changes go through transition().
import type {Ctx} from '../context.js'
import {applyEvalProbes, evalProbeRequest, evalsToProbe} from '../evals/sync.js'
import {recordEvent} from '../events.js'
import type {CheckpointCheck, RunProbe} from '../hosts/executor.js'
import {TELEMETRY_FILES} from '../hosts/executor.js'
import {AutolabError, isHostFault} from '../output/errors.js'
import type {Store} from '../store/open.js'
import type {RunRow} from '../store/schema.js'
import {announcedCheckpoints, type IngestEvent, ingestMetrics, ingestSamples, ingestTrainerEvents} from '../telemetry/ingest.js'
import {Rejections} from '../telemetry/validate.js'
import {type RunStatus, transition} from './state-machine.js'
import {runRows} from './queries.js'

const IDLE_RESYNC_MS = 1000
/**
 * Next to a file's offset, `<file>:mid_line` = 1 records that the offset lies inside an overlong
 * line already rejected, so its rest is skipped and not counted twice (see completeLines).
 */
const MID_LINE_SUFFIX = ':mid_line'

/** States whose process sync watches. `starting` belongs to its in-flight operation (or recovery). */
export const PROBED_STATES: readonly RunStatus[] = ['running', 'pausing', 'killing']

export interface SyncSummary {
  runs: number
  points: number
  exited: {run_id: string; status: string; exit_code: number | null}[]
  /** Each host that had live runs: synced, or why not (only with tolerateHostFaults; otherwise the fault is thrown). */
  hosts: {host: string; runs: number; synced: boolean; error: {code: string; message: string} | null}[]
}

export interface SyncOptions {
  runIds?: string[]
  /** Only hosts of these kinds (the start-of-command sync touches local hosts only). */
  hostKinds?: string[]
  /**
   * A host that cannot be reached (or whose key is refused) becomes a warning and an entry in
   * `hosts`, and the other hosts are still synced: sync, wait, tick and --fresh. Commands acting
   * on one run leave it off, so the fault is their answer and nothing changes.
   */
  tolerateHostFaults?: boolean
}


export async function syncRuns(ctx: Ctx, options: SyncOptions = {}): Promise<SyncSummary> {
  const {store} = ctx
  let query = runRows(store).innerJoin('hosts', 'hosts.host_id', 'runs.host_id')
    .where('runs.status', 'in', [...PROBED_STATES])
  if (options.runIds?.length) query = query.where('runs.run_id', 'in', options.runIds)
  if (options.hostKinds?.length) query = query.where('hosts.kind', 'in', options.hostKinds)
  const runs = store.all(query)
  // Running evals are probed in the same call as their host's runs (evals/sync.ts finishes them).
  const evals = evalsToProbe(store, options)
  const summary: SyncSummary = {runs: runs.length, points: 0, exited: [], hosts: []}
  if (runs.length === 0 && evals.length === 0) return summary

  const byHost = new Map<string, RunRow[]>()
  for (const run of runs) byHost.set(run.host_id, [...(byHost.get(run.host_id) ?? []), run])
  for (const row of evals) if (!byHost.has(row.host_id)) byHost.set(row.host_id, [])
  for (const [hostId, hostRuns] of byHost) {
    const executor = ctx.executor(hostId)
    const offsets = loadOffsets(store, hostRuns.map((r) => r.run_id))
    const hostEvals = evals.filter((e) => e.host_id === hostId)
    let probes: RunProbe[]
    try {
      // One call per host, whatever the number of runs (one exec on an SSH host).
      probes = await executor.probe([
        ...hostRuns.map((r) => ({runId: r.run_id, runDir: r.run_dir, pid: r.pid, offsets: offsets.get(r.run_id) ?? {}})),
        ...hostEvals.map(evalProbeRequest),
      ])
      await applyEvalProbes(ctx, executor, hostEvals, probes.filter((p) => hostEvals.some((e) => e.eval_id === p.runId)))
      probes = probes.filter((p) => hostRuns.some((r) => r.run_id === p.runId))
    } catch (error) {
      if (!options.tolerateHostFaults || !isHostFault(error)) throw error
      summary.runs -= hostRuns.length
      summary.hosts.push({host: hostId, runs: hostRuns.length, synced: false, error: {code: error.code, message: error.message}})
      ctx.warnings.push(`host ${hostId}: ${hostRuns.length} live run(s) not synced (${error.code}): its data is as of its last sync`)
      continue
    }
    // As for idle runs below: at most one write a second, however many processes poll the host.
    const lastHostSync = Date.parse(store.first(store.db.selectFrom('hosts').select('synced_at').where('host_id', '=', hostId))?.synced_at ?? '') || 0
    if (ctx.now().getTime() - lastHostSync >= IDLE_RESYNC_MS) {
      const syncedAt = ctx.now().toISOString()
      store.write(() => store.run(store.db.updateTable('hosts').set({synced_at: syncedAt}).where('host_id', '=', hostId)))
    }
    summary.hosts.push({host: hostId, runs: hostRuns.length, synced: true, error: null})
    for (const probe of probes) {
      const run = hostRuns.find((r) => r.run_id === probe.runId)!
      // Nothing new from a live run synced within the last second: no write transaction (many
      // waiting processes poll the same runs; each write would take the store's write lock).
      const idle = probe.alive && probe.exitCode === null && Object.keys(probe.deltas).length === 0
      if (idle && ctx.now().getTime() - (Date.parse(run.synced_at ?? '') || 0) < IDLE_RESYNC_MS) continue
      // One run's files never stop another run's sync, nor the command: ingest rejects bad lines
      // itself, and anything else unexpected about this run becomes a warning. Faults of the
      // store itself (busy, full, read-only) are not the run's: they stop the command.
      try {
        const midLine = offsets.get(run.run_id)?.[`events.jsonl${MID_LINE_SUFFIX}`] === 1
        const checkpoints = await inspectCheckpoints(probe, midLine, (path) => executor.inspectCheckpoint(run.run_dir, path))
        const applied = store.write(() => applyProbe(ctx, run, probe, offsets.get(run.run_id) ?? {}, checkpoints))
        summary.points += applied.points
        if (applied.exited) summary.exited.push(applied.exited)
      } catch (error) {
        if (error instanceof AutolabError || isStoreFault(error)) throw error
        ctx.warnings.push(`run ${run.run_id}: telemetry not synced: ${(error as Error).message ?? error}`)
      }
    }
  }
  return summary
}

function loadOffsets(store: Store, runIds: string[]): Map<string, Record<string, number>> {
  const rows = store.all(store.db.selectFrom('ingest_offsets').selectAll().where('run_id', 'in', runIds))
  const map = new Map<string, Record<string, number>>()
  for (const row of rows) map.set(row.run_id, {...map.get(row.run_id), [row.file]: row.offset})
  return map
}

/** The host's verdict on every checkpoint newly announced in the run's events (looked at outside the transaction). */
async function inspectCheckpoints(probe: RunProbe, midLine: boolean, inspect: (path: string) => Promise<CheckpointCheck>): Promise<Map<string, CheckpointCheck>> {
  const checks = new Map<string, CheckpointCheck>()
  const data = probe.deltas['events.jsonl']
  if (!data) return checks
  for (const path of announcedCheckpoints(data, midLine)) {
    if (!checks.has(path)) checks.set(path, await inspect(path))
  }
  return checks
}

/** SQLite's own faults (the store is busy, full, read-only, corrupt) concern every run, not one. */
function isStoreFault(error: unknown): boolean {
  const code = (error as {code?: unknown})?.code
  return typeof code === 'string' && (code.startsWith('SQLITE_') || code === 'ENOSPC')
}

interface Applied {
  points: number
  exited: SyncSummary['exited'][number] | null
}

function applyProbe(ctx: Ctx, probedRun: RunRow, probe: RunProbe, requested: Record<string, number>, checkpoints: Map<string, CheckpointCheck>): Applied {
  const {store} = ctx
  const now = ctx.now()
  const run = store.first(runRows(store).where('run_id', '=', probedRun.run_id))
  if (!run || !(PROBED_STATES as readonly string[]).includes(run.status)) return {points: 0, exited: null}
  const current = loadOffsets(store, [run.run_id]).get(run.run_id) ?? {}
  const events: IngestEvent[] = []
  let points = 0
  let lastStep = run.step
  const rejections = new Rejections()
  for (const file of TELEMETRY_FILES) {
    const delta = probe.deltas[file]
    if (!delta) continue
    // Skip bytes another process ingested since our probe read them.
    const from = current[file] ?? 0
    const skip = from - (requested[file] ?? 0)
    if (skip < 0 || skip >= delta.length) continue
    const data = delta.subarray(skip)
    const midLineKey = `${file}${MID_LINE_SUFFIX}`
    const midLine = (current[midLineKey] ?? 0) === 1
    const source = {file, offset: from, rejections, midLine}
    let result
    if (file === 'metrics.jsonl') {
      result = ingestMetrics(store, run, data, lastObservedStep(store, run.run_id), source)
    } else if (file === 'samples.jsonl') {
      result = ingestSamples(store, run, data, source)
    } else {
      result = ingestTrainerEvents(store, run, data, checkpoints, now, source)
    }
    if (result.consumed === 0) continue
    const saveOffset = store.prepare('INSERT INTO ingest_offsets (run_id, file, offset) VALUES (?, ?, ?) ON CONFLICT (run_id, file) DO UPDATE SET offset = excluded.offset')
    saveOffset.run(run.run_id, file, from + result.consumed)
    if (result.midLine !== midLine) saveOffset.run(run.run_id, midLineKey, result.midLine ? 1 : 0)
    points += result.points
    events.push(...result.events)
    if (result.lastStep !== null) lastStep = Math.max(lastStep ?? result.lastStep, result.lastStep)
  }
  store.run(store.db.updateTable('runs').set({step: lastStep, synced_at: now.toISOString()}).where('run_id', '=', run.run_id))
  for (const event of events) {
    recordEvent(store, {kind: event.kind, time: now, actor: 'system', runId: run.run_id, campaignId: run.campaign_id, args: event.data})
    if (event.kind === 'modify_ack') applyAcknowledgement(store, run.run_id, event.data.version, event.step)
  }
  if (rejections.count > 0) {
    // One event per run and sync: how many, in which files, and the first offending line.
    recordEvent(store, {kind: 'telemetry_rejected', time: now, actor: 'system', runId: run.run_id, campaignId: run.campaign_id, args: {count: rejections.count, by_file: rejections.byFile, first: rejections.first}})
    ctx.warnings.push(`run ${run.run_id}: rejected ${rejections.count} telemetry line(s) that break the trainer contract (first: ${rejections.first!.file} at byte ${rejections.first!.offset}: ${rejections.first!.reason}); see \`autolab log --run ${run.run_id} --kind telemetry_rejected\``)
  }
  if (probe.alive && probe.exitCode === null && lastStep === run.step) detectStall(ctx, run)
  const exited = applyExit(ctx, {...run, step: lastStep}, probe)
  return {points, exited}
}

/** Turn an ended process into a terminal (or paused) state, with exit code and stderr tail. */
function applyExit(ctx: Ctx, run: RunRow, probe: RunProbe): Applied['exited'] {
  if (probe.exitCode === null && probe.alive) return null
  const {store} = ctx
  const now = ctx.now()
  const status = run.status as RunStatus
  const code = probe.exitCode
  let to: RunStatus
  let error: string | null = null
  if (status === 'killing') to = 'killed'
  // A pausing trainer that exited 0 on its own — no `paused` event, no signal from the pause —
  // finished its training while the pause was being asked for: it is completed, not paused.
  else if (status === 'pausing' && code === 0 && !pausedThisStretch(store, run)) to = 'completed'
  // Otherwise, however it ended (its own checkpoint-and-exit, or signals because it ignores
  // the contract), it resumes from its latest checkpoint.
  else if (status === 'pausing') to = 'paused'
  else if (code === null) {
    to = 'lost'
    error = `The process disappeared without an exit code.${probe.stderrTail ? `\n${probe.stderrTail}` : ''}`
  } else if (code === 0) to = 'completed'
  else {
    to = 'failed'
    error = probe.stderrTail ?? `exit code ${code}`
  }
  transition(store, run.run_id, status, to, {exit_code: code, error, ended_at: now.toISOString()})
  recordEvent(store, {kind: 'run_exited', time: now, actor: 'system', runId: run.run_id, campaignId: run.campaign_id, args: {status: to, exit_code: code, step: run.step}, result: error ? {error} : null})
  if (to === 'failed' || to === 'lost') {
    recordEvent(store, {kind: 'anomaly', time: now, actor: 'system', runId: run.run_id, campaignId: run.campaign_id, args: {type: 'crash', severity: 'hard', exit_code: code, status: to, step: run.step, rule: 'nonzero_exit', cause: crashCause(probe.stderrTail)}})
  }
  return {run_id: run.run_id, status: to, exit_code: code}
}

/** Since the run last started: did the trainer announce a pause, or did the pause signal it? */
function pausedThisStretch(store: Store, run: RunRow): boolean {
  const row = store.prepare(`SELECT 1 FROM events WHERE run_id = ? AND time >= ? AND (kind = 'pause_escalated' OR (kind = 'trainer_event' AND args LIKE '{"type":"paused"%')) LIMIT 1`)
    .get(run.run_id, run.started_at ?? '')
  return row !== undefined
}

function lastObservedStep(store: Store, runId: string): number | null {
  const row = store.prepare('SELECT max(step) AS step FROM observations WHERE run_id = ?').get(runId) as {step: number | null}
  return row.step
}

/**
 * The trainer applied control version `version` at `step`: every config version carried by it
 * (or by an earlier control version) took effect there, and the newest becomes the run's config.
 */
function applyAcknowledgement(store: Store, runId: string, version: unknown, step: number | null): void {
  if (typeof version !== 'number' || step === null) return
  store.run(store.db.updateTable('run_configs').set({effective_step: step})
    .where('run_id', '=', runId).where('control_version', '<=', version).where('effective_step', 'is', null))
  // The decision log's modify events carry the step their change took effect at, so the log
  // alone says when each decision acted (their result was written `pending`).
  store.prepare(`UPDATE events SET result = json_set(result, '$.status', 'acknowledged', '$.effective_step', ?)
    WHERE run_id = ? AND kind = 'modify' AND json_valid(result) AND json_extract(result, '$.effective_step') IS NULL
    AND json_extract(result, '$.control_version') <= ?`).run(step, runId, version)
  const newest = store.first(store.db.selectFrom('run_configs').select('config_id').where('run_id', '=', runId)
    .where('effective_step', 'is not', null).orderBy('version', 'desc').limit(1))
  if (newest) store.run(store.db.updateTable('runs').set({config_id: newest.config_id}).where('run_id', '=', runId))
}

/** What the stderr tail says killed a run, when it says it: out of memory, or a CUDA/NCCL error. */
export function crashCause(stderrTail: string | null): 'out_of_memory' | 'cuda_error' | null {
  if (!stderrTail) return null
  if (/out of memory|OutOfMemoryError|Cannot allocate memory|MemoryError/i.test(stderrTail)) return 'out_of_memory'
  if (/CUDA error|cudaError|NCCL error|CUBLAS_STATUS|cuDNN error/i.test(stderrTail)) return 'cuda_error'
  return null
}

/**
 * A live process that has logged no new step for longer than the recipe's stall_seconds is
 * stalled: one anomaly per stalled step (it fires again only after progress, then a new stall).
 */
function detectStall(ctx: Ctx, run: RunRow): void {
  const {store} = ctx
  const now = ctx.now()
  const latest = store.prepare('SELECT step, time FROM metric_steps WHERE run_id = ? ORDER BY step DESC LIMIT 1').get(run.run_id) as {step: number; time: number} | undefined
  // Progress is the later of the last step's time and the start of this stretch (a resume).
  const since = Math.max(latest ? latest.time * 1000 : 0, Date.parse(run.started_at ?? '') || 0)
  if (since === 0 || now.getTime() - since < run.stall_seconds * 1000) return
  const step = latest?.step ?? null
  const reported = store.first(store.db.selectFrom('events').select('args').where('run_id', '=', run.run_id).where('kind', '=', 'anomaly')
    .where('args', 'like', '{"type":"stall"%').orderBy('event_id', 'desc').limit(1))
  if (reported && (JSON.parse(reported.args ?? '{}') as {step?: number | null}).step === step) return
  recordEvent(store, {kind: 'anomaly', time: now, actor: 'system', runId: run.run_id, campaignId: run.campaign_id, args: {type: 'stall', severity: 'hard', step, seconds: Math.round((now.getTime() - since) / 1000), stall_seconds: run.stall_seconds, rule: 'stall', threshold: {seconds: run.stall_seconds}}})
}
