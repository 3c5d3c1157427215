// How `watch` looks: a full-screen frame for a terminal (fitted to its width and height), and a
// plain block per refresh for a pipe or a log file (no ANSI at all). Both render a WatchSnapshot.
import chalk from 'chalk'
import type {EventView} from '../events.js'
import type {WatchRun, WatchSnapshot} from '../watch/snapshot.js'
import {colourStatus, formatDuration, formatValue, table} from './render.js'

// eslint-disable-next-line no-control-regex
const ANSI = /\u001B\[[0-9;?]*[A-Za-z]/g
const SPARKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'] as const
/** Characters of the sparkline column. */
const SPARK_WIDTH = 16
const NAME_WIDTH = 16

/** A small unicode chart of the last `width` values, low to high (a non-finite value is `!`). */
export function sparkline(values: readonly (number | string)[], width = SPARK_WIDTH): string {
  const shown = values.slice(-width).map(Number)
  const finite = shown.filter((v) => Number.isFinite(v))
  if (finite.length === 0) return shown.map(() => '!').join('')
  const lo = Math.min(...finite)
  const hi = Math.max(...finite)
  return shown.map((v) => {
    if (!Number.isFinite(v)) return '!'
    if (hi === lo) return SPARKS[3]
    return SPARKS[Math.min(SPARKS.length - 1, Math.floor(((v - lo) / (hi - lo)) * SPARKS.length))]
  }).join('')
}

/** Cut a line to `width` visible characters, keeping its colour codes (and resetting them when cut). */
export function fitLine(line: string, width: number): string {
  let visible = 0
  let out = ''
  for (let i = 0; i < line.length;) {
    ANSI.lastIndex = i
    const code = ANSI.exec(line)
    if (code && code.index === i) {
      out += code[0]
      i += code[0].length
      continue
    }
    const char = String.fromCodePoint(line.codePointAt(i)!)
    if (visible + 1 > width) return `${out}\u001B[0m`
    out += char
    visible++
    i += char.length
  }
  return out
}

export interface FrameOptions {
  width: number
  height: number
  intervalSeconds: number
}

/** The full-screen frame: at most `height` lines of at most `width` visible characters. */
export function renderWatchFrame(s: WatchSnapshot, options: FrameOptions): string[] {
  const {width, height} = options
  const top = [
    chalk.bold(`autolab watch · campaign ${s.campaign.name}${s.campaign.status === 'active' ? '' : ` (${s.campaign.status})`}`) +
      chalk.dim(` · ${s.time.slice(11, 19)} · every ${options.intervalSeconds}s · q quits`),
    `runs: ${runCountsText(s)}`,
    ...(s.budget ? [`budget: ${budgetText(s)}`] : []),
    `GPUs used: ${s.hosts.map((h) => `${h.host} ${h.gpus_used}/${h.gpus_total}`).join(' · ') || chalk.dim('no hosts')}` +
      (s.pending_evals.length ? ` · evals: ${s.pending_evals.map((e) => `${e.eval_id} ${e.run_id} ${e.suite}@${e.checkpoint_step} ${e.status}`).join(', ')}` : ''),
  ]
  // Up to three warnings, fewer on a small screen: the runs' header, a run and a "more" line come first.
  const warnings = s.warnings.slice(0, Math.min(3, Math.max(0, height - top.length - 4))).map((w) => chalk.yellow(`! ${w}`))
  const eventLines = s.recent_events.map(eventText).reverse()
  // Rows for runs: what is left after the fixed lines (a blank, the table's header), keeping room
  // for a few events; when not all fit, the last row says how many more there are.
  // On a small screen runs come first: no room is kept for events then.
  const needed = s.runs.length + (s.runs_not_shown > 0 ? 1 : 0)
  const room = height - top.length - warnings.length - 2
  const eventsKept = eventLines.length ? 2 + Math.min(eventLines.length, 3) : 0
  const runRoom = Math.max(1, room - eventsKept >= Math.min(needed, 3) ? room - eventsKept : room)
  const shownRuns = needed <= runRoom ? s.runs : s.runs.slice(0, Math.max(1, runRoom - 1))
  const hidden = s.runs_not_shown + s.runs.length - shownRuns.length
  const runs = shownRuns.length === 0 ? [chalk.dim('(no runs in this campaign yet)')] : runTable(shownRuns).split('\n')
  if (hidden > 0) runs.push(chalk.dim(`… ${hidden} more run${hidden === 1 ? '' : 's'} (autolab runs --campaign ${s.campaign.name})`))
  const lines = [...top, ...warnings, '', ...runs]
  const eventRoom = height - lines.length - 2
  if (eventLines.length && eventRoom > 0) lines.push('', chalk.bold('events'), ...eventLines.slice(0, eventRoom))
  return lines.slice(0, height).map((line) => fitLine(line, width))
}

function runTable(runs: WatchRun[]): string {
  return table(runs, [
    {header: 'RUN', value: (r) => chalk.bold(r.run_id)},
    {header: 'NAME', value: (r) => (r.name === null ? null : r.name.length > NAME_WIDTH ? `${r.name.slice(0, NAME_WIDTH - 1)}…` : r.name)},
    {header: 'STATUS', value: (r) => colourStatus(r.status)},
    {header: 'STEP', value: (r) => r.step, align: 'right'},
    {header: 'STEPS/S', value: (r) => (r.steps_per_second === null ? null : r.steps_per_second.toFixed(r.steps_per_second < 10 ? 2 : 1)), align: 'right'},
    {header: 'PRIMARY', value: (r) => (r.primary_metric === null ? null : `${r.primary_metric} ${formatValue(r.primary_value)}`)},
    {header: 'RECENT', value: (r) => (r.primary_recent.length ? chalk.cyan(sparkline(r.primary_recent)) : null)},
    {header: 'HOST', value: (r) => r.host},
    {header: 'GPUS', value: (r) => (r.gpus.length ? r.gpus.join(',') : null)},
  ])
}

function runCountsText(s: WatchSnapshot): string {
  const counts = Object.entries(s.run_counts).filter(([status]) => status !== 'total')
  const parts = counts.map(([status, n]) => `${n} ${colourStatus(status)}`)
  return `${parts.length ? parts.join(' · ') : 'none'}${parts.length > 1 ? ` (${s.run_counts.total} in all)` : ''}`
}

function budgetText(s: WatchSnapshot): string {
  const b = s.budget!
  const parts: string[] = []
  if (b.budget_gpu_seconds !== null) {
    parts.push(`${formatDuration(b.left_gpu_seconds ?? 0)} of ${formatDuration(b.budget_gpu_seconds)} GPU left`)
    if (b.budget_seconds_left_at_rate !== null) parts.push(`${formatDuration(b.budget_seconds_left_at_rate)} at ${b.burn_rate} GPU${b.burn_rate === 1 ? '' : 's'}`)
  }
  if (b.deadline_seconds_left !== null) parts.push(b.deadline_passed ? 'deadline passed' : `deadline in ${formatDuration(b.deadline_seconds_left)}`)
  const text = parts.join(' · ')
  return b.exhausted ? chalk.red(`${text} (exhausted)`) : text
}

/** One event on one line: its id, time, kind, run and what it says in brief. */
function eventText(e: EventView): string {
  const args = (e.args ?? {}) as Record<string, unknown>
  const result = (e.result ?? {}) as Record<string, unknown>
  const detail = [
    typeof args.type === 'string' ? args.type : null,
    typeof args.metric === 'string' ? args.metric : null,
    typeof args.status === 'string' ? args.status : typeof result.status === 'string' ? result.status : null,
    typeof args.step === 'number' ? `step ${args.step}` : null,
    typeof args.exit_code === 'number' ? `exit ${args.exit_code}` : null,
  ].filter((d) => d !== null)
  const kind = e.kind === 'anomaly' ? chalk.red(e.kind) : e.kind
  return `${chalk.dim(`#${e.event_id} ${e.time.slice(11, 19)}`)} ${kind}${e.run_id ? ` ${e.run_id}` : ''}${detail.length ? ` ${detail.join(' ')}` : ''}${e.reason ? chalk.dim(` — ${e.reason}`) : ''}`
}

/**
 * One refresh for a pipe or a log: a timestamped line with the campaign's counts, GPUs and budget,
 * then a line per run that is not ended, the events since `previous`, and the warnings. No ANSI.
 */
export function renderWatchBlock(s: WatchSnapshot, previous: WatchSnapshot | null): string {
  const head = [`[${s.time.replace('T', ' ').slice(0, 19)}] campaign ${s.campaign.name}: ${runCountsText(s)}`,
    `GPUs used ${s.hosts.map((h) => `${h.host} ${h.gpus_used}/${h.gpus_total}`).join(', ') || 'none'}`,
    ...(s.budget ? [`budget ${budgetText(s)}`] : []),
    ...(s.pending_evals.length ? [`${s.pending_evals.length} pending eval${s.pending_evals.length === 1 ? '' : 's'}`] : [])]
  const runs = s.runs.slice(0, s.runs_not_ended).map((r) =>
    `  ${r.run_id}${r.name ? ` ${r.name}` : ''} ${r.status} step ${r.step ?? '-'}` +
    (r.steps_per_second === null ? '' : ` ${r.steps_per_second} steps/s`) +
    (r.primary_metric === null ? '' : ` ${r.primary_metric} ${formatValue(r.primary_value)}`) +
    ` ${r.host}${r.gpus.length ? ` gpus ${r.gpus.join(',')}` : ''}`)
  const since = previous?.recent_events.at(-1)?.event_id ?? -1
  const events = s.recent_events.filter((e) => e.event_id > since).map((e) => `  ${eventText(e)}`)
  const warnings = s.warnings.map((w) => `  warning: ${w}`)
  return [head.join(' · '), ...runs, ...events, ...warnings].join('\n').replace(ANSI, '')
}
