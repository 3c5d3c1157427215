// Human output: tables, status colours and a status line (charts: chart.ts). The only module (with
// its siblings in lib/output) that knows about colour; chalk turns colour off when stdout is
// not a terminal, and useColour turns it off for NO_COLOR and --no-color.
import chalk from 'chalk'

/**
 * Colour off when asked: `--no-color`, or a non-empty NO_COLOR (https://no-color.org) — which
 * chalk alone ignores on a terminal. FORCE_COLOR still wins over NO_COLOR, as chalk has it.
 */
export function useColour(flag: boolean | undefined, env: NodeJS.ProcessEnv = process.env): void {
  if (flag === false || ((env.NO_COLOR ?? '') !== '' && (env.FORCE_COLOR ?? '') === '')) chalk.level = 0
}
import type {StatusBar} from '../status.js'

export interface Column<R> {
  header: string
  value: (row: R) => unknown
  align?: 'left' | 'right'
}

const ANSI = /\u001B\[[0-9;]*m/g
const visibleLength = (text: string): number => text.replace(ANSI, '').length

export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return chalk.dim('-')
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return chalk.red(Number.isNaN(value) ? 'NaN' : value > 0 ? 'Inf' : '-Inf')
    if (Number.isInteger(value)) return String(value)
    const abs = Math.abs(value)
    return abs !== 0 && (abs < 1e-3 || abs >= 1e6) ? value.toExponential(2) : value.toFixed(4)
  }
  if (value === 'NaN' || value === 'Infinity' || value === '-Infinity') return chalk.red(value)
  return String(value)
}

/** The width human output wraps at: the terminal's, else 80 (never below 40). */
export function outputWidth(): number {
  return Math.max(40, process.stdout.columns || 80)
}

/**
 * Lay out tokens after a label on lines of at most `width` columns, breaking only between
 * tokens (a token longer than a line gets a line of its own): nothing a reader copies — a
 * key=value, a path, an id — is ever cut in two by the terminal's wrapping.
 */
export function wrapTokens(label: string, tokens: readonly string[], width = outputWidth(), separator = ' '): string {
  const indent = ' '.repeat(Math.min(visibleLength(label), 8))
  const lines: string[] = []
  let line = label
  let empty = true
  for (const token of tokens) {
    const candidate = empty ? `${line}${token}` : `${line}${separator}${token}`
    if (!empty && visibleLength(candidate) > width) {
      lines.push(line)
      line = `${indent}${token}`
    } else {
      line = candidate
    }
    empty = false
  }
  lines.push(line)
  return lines.join('\n')
}

export function table<R>(rows: readonly R[], columns: readonly Column<R>[]): string {
  if (rows.length === 0) return chalk.dim('(none)')
  const cells = rows.map((row) => columns.map((c) => {
    const v = c.value(row)
    return typeof v === 'string' && v.includes('\u001B') ? v : formatValue(v)
  }))
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => visibleLength(r[i]))))
  const pad = (text: string, i: number) => {
    const fill = ' '.repeat(widths[i] - visibleLength(text))
    return columns[i].align === 'right' ? fill + text : text + fill
  }
  const header = columns.map((c, i) => chalk.bold(pad(c.header, i))).join('  ')
  return [header, ...cells.map((r) => r.map(pad).join('  '))].join('\n')
}

const STATUS_COLOURS: Record<string, (text: string) => string> = {
  running: chalk.green, starting: chalk.cyan, queued: chalk.cyan, pausing: chalk.yellow, paused: chalk.yellow,
  killing: chalk.magenta, killed: chalk.magenta, completed: chalk.blue, failed: chalk.red, lost: chalk.red,
}

export function colourStatus(status: string): string {
  return (STATUS_COLOURS[status] ?? ((t: string) => t))(status)
}

export function statusLine(bar: StatusBar): string {
  const r = bar.runs
  const parts = [`${r.running} running`, `${r.queued} queued`, `${r.paused} paused`]
  if (bar.gpus.total > 0) parts.push(`GPUs ${bar.gpus.free}/${bar.gpus.total} free`)
  parts.push(`campaign ${bar.campaign}${bar.campaign_status === 'finalized' ? ' (finalized)' : ''}`)
  if (bar.budget?.left_gpu_seconds !== null && bar.budget?.left_gpu_seconds !== undefined) {
    const atRate = bar.budget.budget_seconds_left_at_rate
    parts.push(`budget ${formatDuration(bar.budget.left_gpu_seconds)} GPU left${atRate !== null && atRate !== undefined ? ` (${formatDuration(atRate)} at ${bar.budget.burn_rate} GPU${bar.budget.burn_rate === 1 ? '' : 's'})` : ''}`)
  }
  if (bar.budget?.deadline_seconds_left !== null && bar.budget?.deadline_seconds_left !== undefined) parts.push(`deadline in ${formatDuration(bar.budget.deadline_seconds_left)}`)
  const warnings = bar.warnings.map((w) => chalk.yellow(`warning: ${w}`))
  return [chalk.dim(parts.join(' · ')), ...warnings].join('\n')
}

/** Seconds as a short human duration: 45s, 12m, 3.5h. */
export function formatDuration(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)}s`
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)}m`
  return `${(seconds / 3600).toFixed(1)}h`
}
