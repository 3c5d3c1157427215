// Where `watch` draws. On a terminal: the alternate screen (the shell's screen comes back intact on
// exit), cursor hidden, each frame written over the last in one write (cursor home, every line
// cleared to its end, the rest of the screen cleared: no flicker), redrawn on resize; stdin in raw
// mode so `q` or Ctrl-C (\x03 in raw mode) quits. The terminal is restored however the view ends:
// close(), an exception (the command's finally), or the process exiting. Elsewhere: plain lines.
import type {WatchDisplay} from '../watch/loop.js'
import type {WatchSnapshot} from '../watch/snapshot.js'
import {renderWatchBlock, renderWatchFrame} from './watch-view.js'

const ENTER = '\u001B[?1049h\u001B[?25l\u001B[H\u001B[2J'
const LEAVE = '\u001B[?25h\u001B[?1049l'
const QUIT_KEYS = new Set(['q', 'Q', '\u0003'])

export interface FullScreenOptions {
  intervalSeconds: number
  /** Called once when the person asks to quit (q, Ctrl-C). */
  onQuit: () => void
  stdout?: NodeJS.WriteStream
  stdin?: NodeJS.ReadStream
}

export class FullScreenDisplay implements WatchDisplay {
  private readonly stdout: NodeJS.WriteStream
  private readonly stdin: NodeJS.ReadStream
  private last: WatchSnapshot | null = null
  private opened = false
  private rawMode = false

  constructor(private readonly options: FullScreenOptions) {
    this.stdout = options.stdout ?? process.stdout
    this.stdin = options.stdin ?? process.stdin
  }

  open(): void {
    if (this.opened) return
    this.opened = true
    process.once('exit', this.close)
    this.stdout.write(ENTER)
    this.stdout.on('resize', this.redraw)
    if (this.stdin.isTTY) {
      this.stdin.setRawMode(true)
      this.rawMode = true
      this.stdin.on('data', this.onKey)
      this.stdin.resume()
    }
  }

  capacity(): {runs: number; events: number} {
    const rows = this.size().height
    return {runs: Math.max(1, rows - 4), events: Math.max(0, rows - 6)}
  }

  show(snapshot: WatchSnapshot): void {
    this.last = snapshot
    this.redraw()
  }

  /** Restore the terminal: idempotent, synchronous (it also runs at process exit). */
  readonly close = (): void => {
    if (!this.opened) return
    this.opened = false
    process.off('exit', this.close)
    this.stdout.off('resize', this.redraw)
    if (this.rawMode) {
      this.stdin.off('data', this.onKey)
      try {
        this.stdin.setRawMode(false)
      } catch {
        // the terminal is gone (hung up): nothing to restore
      }
      this.stdin.pause()
      this.rawMode = false
    }
    try {
      this.stdout.write(LEAVE)
    } catch {
      // the terminal is gone
    }
  }

  private readonly redraw = (): void => {
    if (!this.opened || !this.last) return
    const {width, height} = this.size()
    const lines = renderWatchFrame(this.last, {width, height, intervalSeconds: this.options.intervalSeconds})
    this.stdout.write(`\u001B[H${lines.map((line) => `${line}\u001B[K`).join('\r\n')}\u001B[J`)
  }

  private readonly onKey = (data: Buffer | string): void => {
    const keys = typeof data === 'string' ? data : data.toString('utf8')
    if (![...keys].some((k) => QUIT_KEYS.has(k))) return
    // The screen is given back at once; the loop then ends after its current refresh.
    this.close()
    this.options.onQuit()
  }

  private size(): {width: number; height: number} {
    return {width: Math.max(20, this.stdout.columns || 80), height: Math.max(5, this.stdout.rows || 24)}
  }
}

/** For a pipe or a file: a plain block per refresh (see renderWatchBlock), the events new since the one before. */
export class LineDisplay implements WatchDisplay {
  private previous: WatchSnapshot | null = null

  constructor(private readonly out: {write(text: string): unknown}, private readonly limits = {runs: 50, events: 10}) {}

  capacity(): {runs: number; events: number} {
    return this.limits
  }

  show(snapshot: WatchSnapshot): void {
    this.out.write(`${renderWatchBlock(snapshot, this.previous)}\n`)
    this.previous = snapshot
  }
}
