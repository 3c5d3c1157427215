// Progress on long work (a wait, a pause waiting for the trainer's checkpoint, a checkpoint copied
// across hosts, the demo): one line on stderr, rewritten in place. The rule lives here and only
// here: progress goes to stderr, only when stderr is a terminal, and never with --json — an agent's
// stderr is not a terminal, and stdout carries the result alone. Everywhere else the reporter is a
// no-op, so library code reports progress unconditionally through ctx.progress.

export interface Progress {
  /** Show `text` as the progress line, replacing the one before (throttled: the latest text wins). */
  update(text: string): void
  /**
   * End the line: `keep` leaves its latest text on screen followed by a newline, otherwise it is
   * erased. Nothing is written when nothing was shown; update may start a new line afterwards.
   */
  end(options?: {keep?: boolean}): void
}

export const noProgress: Progress = {update() {}, end() {}}

/** Where a reporter writes: stderr, or a fake in tests. */
export interface ProgressStream {
  isTTY?: boolean
  columns?: number
  write(text: string): unknown
}

export interface ProgressOptions {
  /** --json: never any progress. */
  json: boolean
  stream?: ProgressStream
  /** At most one write per this many milliseconds. [default: 100] */
  throttleMs?: number
  now?: () => number
}

/** The reporter of a command: a line on `stream` (stderr) when it is a terminal and the command is not --json; otherwise a no-op. */
export function progressFor(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr
  if (options.json || stream.isTTY !== true) return noProgress
  return new TerminalProgress(stream, options.throttleMs ?? 100, options.now ?? Date.now)
}

const CLEAR_TO_END = '\u001B[K'

class TerminalProgress implements Progress {
  private shown = false
  private pending: string | null = null
  private lastWrite = Number.NEGATIVE_INFINITY
  private latest = ''

  constructor(private readonly stream: ProgressStream, private readonly throttleMs: number, private readonly now: () => number) {}

  update(text: string): void {
    this.pending = text
    if (this.now() - this.lastWrite >= this.throttleMs) this.flush()
  }

  end(options: {keep?: boolean} = {}): void {
    if (options.keep && this.pending !== null) this.flush()
    if (this.shown) this.stream.write(options.keep ? '\n' : `\r${CLEAR_TO_END}`)
    this.shown = false
    this.pending = null
    this.lastWrite = Number.NEGATIVE_INFINITY
  }

  private flush(): void {
    const text = this.fit(this.pending ?? '')
    this.pending = null
    this.lastWrite = this.now()
    if (this.shown && text === this.latest) return
    // \r back to the line's start and clear what the previous text left: no flicker, no scrolling.
    this.stream.write(`\r${text}${CLEAR_TO_END}`)
    this.shown = true
    this.latest = text
  }

  /** One line that never wraps (a wrapped line cannot be rewritten with \r): cut to the terminal's width. */
  private fit(text: string): string {
    const line = text.replaceAll(/[\r\n]+/g, ' ')
    const width = (this.stream.columns ?? 0) > 1 ? this.stream.columns! - 1 : Number.POSITIVE_INFINITY
    return line.length > width ? `${line.slice(0, Math.max(0, width - 1))}…` : line
  }
}

/** "12s of 600s": how long a bounded wait has waited, for a progress line. */
export function waitedText(startedMs: number, nowMs: number, timeoutMs: number): string {
  return `${Math.floor(Math.max(0, nowMs - startedMs) / 1000)}s of ${Math.round(timeoutMs / 1000)}s`
}
