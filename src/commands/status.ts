import chalk from 'chalk'
import {AutolabCommand, type Parsed} from '../base-command.js'
import type {Ctx} from '../lib/context.js'
import {type EventView, eventView, listEvents} from '../lib/events.js'
import {colourStatus, formatValue, table} from '../lib/output/render.js'
import {hostCapacity} from '../lib/runs/placement.js'
import {type ActiveRun, type HostGpus, activeRuns, statusBar} from '../lib/status.js'

export interface StatusResult {
  store: string
  /** Live, queued and paused runs, each with the latest value of its primary metric. */
  active_runs: ActiveRun[]
  recent_events: EventView[]
  /** GPUs per host (the status bar's `hosts`), with which live run holds which GPU. */
  hosts: (HostGpus & {busy: {gpu: string; run_id: string}[]})[]
  /** Soft anomalies of live runs since they (re)started: worth a look, not a wake (also in the status bar's warnings). */
  open_soft_anomalies: EventView[]
}

/** Soft anomalies of each live run since it last started (one indexed lookup per live run). */
function openSoftAnomalies(ctx: Ctx): EventView[] {
  const {store} = ctx
  const live = store.all(store.db.selectFrom('runs').select(['run_id', 'started_at']).where('status', 'in', ['running', 'pausing']))
  return live.flatMap((run) => store.all(store.db.selectFrom('events').selectAll().where('run_id', '=', run.run_id).where('kind', '=', 'anomaly')
    .where('time', '>=', run.started_at ?? '').orderBy('event_id', 'desc').limit(20)).map(eventView)
    .filter((e) => (e.args as {severity?: string} | null)?.severity === 'soft').reverse())
}

export default class Status extends AutolabCommand<StatusResult> {
  static summary = 'What is going on: active runs and the latest events.'
  static description = 'Every response carries the status bar (runs by state, GPUs, warnings, staleness); this command adds the active runs (each with the latest value of its recipe\'s primary metric), the GPUs per host, the last ten events, and the soft anomalies of live runs since they started (also as warnings), so a new session can pick the campaign up from here.'
  static examples = ['<%= config.bin %> status', '<%= config.bin %> status --json']

  async execute(ctx: Ctx, _parsed: Parsed<typeof Status>): Promise<StatusResult> {
    const openSoft = openSoftAnomalies(ctx)
    for (const e of openSoft) {
      const a = e.args as {type?: string; metric?: string; step?: number | null}
      ctx.warnings.push(`${e.run_id}: soft anomaly ${a.type} on ${a.metric} at step ${a.step} (autolab log --run ${e.run_id} --kind anomaly)`)
    }
    return {
      store: ctx.store.path,
      active_runs: activeRuns(ctx.store),
      recent_events: listEvents(ctx.store, {limit: 10}),
      hosts: statusBar(ctx).hosts.map((h) => ({...h, busy: hostCapacity(ctx.store, h.host).busy})),
      open_soft_anomalies: openSoft,
    }
  }

  render(r: StatusResult): string {
    const runs = table(r.active_runs, [
      {header: 'RUN', value: (x) => x.run_id},
      {header: 'NAME', value: (x) => x.name},
      {header: 'STATUS', value: (x) => colourStatus(x.status)},
      {header: 'STEP', value: (x) => x.step, align: 'right'},
      {header: 'RECIPE', value: (x) => x.recipe},
      {header: 'PRIMARY', value: (x) => (x.primary_metric === null ? null : `${x.primary_metric} ${formatValue(x.primary_value)}`)},
    ])
    const hosts = table(r.hosts, [
      {header: 'HOST', value: (h) => h.host},
      {header: 'KIND', value: (h) => h.kind},
      {header: 'FREE', value: (h) => h.gpus_free, align: 'right'},
      {header: 'USED', value: (h) => h.gpus_used, align: 'right'},
      {header: 'TOTAL', value: (h) => h.gpus_total, align: 'right'},
      {header: 'BUSY', value: (h) => h.busy.map((b) => `${b.gpu}:${b.run_id}`).join(' ') || null},
    ])
    const events = r.recent_events.map((e) => `${chalk.dim(`#${e.event_id} ${e.time.slice(11, 19)}`)} ${e.kind}${e.run_id ? ` ${e.run_id}` : ''}${e.reason ? ` — ${e.reason}` : ''}`)
    return [chalk.bold('active runs'), runs, '', chalk.bold('GPUs per host'), hosts, '', chalk.bold('recent events'), ...(events.length ? events : [chalk.dim('(none)')])].join('\n')
  }
}
