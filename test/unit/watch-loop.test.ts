// watch's loop and its terminal, with fakes: the loop refreshes (sync, then snapshot) until its
// count or its signal, and a failing sync is a warning on the next frame, not the end; the
// full-screen display takes the terminal (alternate screen, hidden cursor, raw keys), draws each
// frame over the last one, fitted and redrawn on resize, and gives everything back on q, Ctrl-C,
// close() or the process exiting.
import {EventEmitter} from 'node:events'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {type Ctx, openContext} from '../../src/lib/context.js'
import {AutolabError} from '../../src/lib/output/errors.js'
import {FullScreenDisplay} from '../../src/lib/output/watch-display.js'
import {type WatchDisplay, watchLoop} from '../../src/lib/watch/loop.js'
import {type WatchSnapshot, watchSnapshot} from '../../src/lib/watch/snapshot.js'

// eslint-disable-next-line no-control-regex
const ANSI = /\u001B\[[0-9;?]*[A-Za-z]/g

describe('watchLoop', () => {
  let dir: string
  let ctx: Ctx

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'autolab-watch-loop-'))
    ctx = await openContext({store: join(dir, 'autolab.db'), create: true, log: () => {}})
  })

  afterAll(() => {
    ctx.close()
    ctx.store.close()
    rmSync(dir, {recursive: true, force: true})
  })

  function recorder(onShow: (s: WatchSnapshot, n: number) => void = () => {}): WatchDisplay & {shown: WatchSnapshot[]} {
    const shown: WatchSnapshot[] = []
    return {shown, capacity: () => ({runs: 5, events: 5}), show(s) {
      shown.push(s)
      onShow(s, shown.length)
    }}
  }

  it('syncs, then shows a snapshot, every interval until --count', async () => {
    let syncs = 0
    const display = recorder()
    const result = await watchLoop(ctx, display, {campaign: 'default', intervalMs: 5, count: 3, signal: new AbortController().signal, sync: async () => void syncs++})
    expect(result.refreshes).toBe(3)
    expect(syncs).toBe(3)
    expect(display.shown).toHaveLength(3)
    expect(result.last).toBe(display.shown[2])
    expect(display.shown[0].campaign.name).toBe('default')
  })

  it('shows a failed sync as a warning and goes on; the warning goes once the sync works again', async () => {
    let syncs = 0
    ctx.warnings.push('store is read-only (test)')
    try {
      const display = recorder()
      await watchLoop(ctx, display, {campaign: 'default', intervalMs: 5, count: 3, signal: new AbortController().signal, sync: async () => {
        syncs++
        if (syncs === 2) throw new AutolabError('STORE_BUSY', 'The store is busy: database is locked')
      }})
      expect(display.shown.map((s) => s.warnings.filter((w) => w.startsWith('sync failed')).length)).toEqual([0, 1, 0])
      expect(display.shown[1].warnings).toContain('sync failed (STORE_BUSY): The store is busy: database is locked; retried at the next refresh')
      // The command's own warnings stay on every frame.
      for (const s of display.shown) expect(s.warnings).toContain('store is read-only (test)')
    } finally {
      ctx.warnings.length = 0
    }
  })

  it('ends at once when its signal fires, whatever the interval', async () => {
    const controller = new AbortController()
    const display = recorder(() => setTimeout(() => controller.abort(), 20))
    const started = Date.now()
    const result = await watchLoop(ctx, display, {campaign: 'default', intervalMs: 3_600_000, signal: controller.signal, sync: async () => {}})
    expect(result.refreshes).toBe(1)
    expect(Date.now() - started).toBeLessThan(5000)
  })

  it('refuses an unknown campaign', async () => {
    await expect(watchLoop(ctx, recorder(), {campaign: 'nope', intervalMs: 5, count: 1, signal: new AbortController().signal, sync: async () => {}}))
      .rejects.toMatchObject({code: 'CAMPAIGN_NOT_FOUND'})
  })

  describe('FullScreenDisplay', () => {
    class FakeOut extends EventEmitter {
      isTTY = true
      columns = 60
      rows = 12
      written = ''
      write(text: string): boolean {
        this.written += text
        return true
      }
    }
    class FakeIn extends EventEmitter {
      isTTY = true
      raw: boolean[] = []
      flowing = false
      setRawMode(on: boolean) {
        this.raw.push(on)
        return this
      }
      resume() {
        this.flowing = true
        return this
      }
      pause() {
        this.flowing = false
        return this
      }
    }

    function screen() {
      const out = new FakeOut()
      const input = new FakeIn()
      let quits = 0
      const display = new FullScreenDisplay({intervalSeconds: 2, onQuit: () => quits++, stdout: out as unknown as NodeJS.WriteStream, stdin: input as unknown as NodeJS.ReadStream})
      return {out, input, display, quits: () => quits}
    }

    /** The last frame written: its lines, as drawn from the top left. */
    function lastFrame(written: string): string[] {
      const frame = written.slice(written.lastIndexOf('\u001B[H') + 3)
      expect(frame.endsWith('\u001B[J')).toBe(true)
      return frame.slice(0, -3).split('\r\n').map((line) => {
        expect(line.endsWith('\u001B[K')).toBe(true)
        return line.slice(0, -3)
      })
    }

    it('takes the terminal, draws fitted frames in place, redraws on resize, and gives it all back on q', () => {
      const {out, input, display, quits} = screen()
      display.open()
      expect(out.written).toBe('\u001B[?1049h\u001B[?25l\u001B[H\u001B[2J')
      expect(input.raw).toEqual([true])
      expect(input.flowing).toBe(true)
      expect(process.listeners('exit')).toContain(display.close)
      const snapshot = watchSnapshot(ctx, {campaign: 'default', maxRuns: 5, maxEvents: 5})
      display.show(snapshot)
      let lines = lastFrame(out.written)
      expect(lines[0].replace(ANSI, '')).toMatch(/^autolab watch · campaign default/)
      expect(lines.length).toBeLessThanOrEqual(12)
      for (const line of lines) expect([...line.replace(ANSI, '')].length).toBeLessThanOrEqual(60)
      out.columns = 30
      out.rows = 6
      out.emit('resize')
      lines = lastFrame(out.written)
      expect(lines.length).toBeLessThanOrEqual(6)
      for (const line of lines) expect([...line.replace(ANSI, '')].length).toBeLessThanOrEqual(30)
      input.emit('data', Buffer.from('x'))
      expect(quits()).toBe(0)
      input.emit('data', Buffer.from('q'))
      expect(quits()).toBe(1)
      expect(out.written.endsWith('\u001B[?25h\u001B[?1049l')).toBe(true)
      expect(input.raw).toEqual([true, false])
      expect(input.flowing).toBe(false)
      expect(input.listenerCount('data')).toBe(0)
      expect(out.listenerCount('resize')).toBe(0)
      expect(process.listeners('exit')).not.toContain(display.close)
      // Given back: nothing more is drawn, and closing again writes nothing.
      const before = out.written
      display.show(snapshot)
      display.close()
      expect(out.written).toBe(before)
    })

    it('quits on Ctrl-C (\\x03 in raw mode)', () => {
      const {out, input, display, quits} = screen()
      display.open()
      input.emit('data', '\u0003')
      expect(quits()).toBe(1)
      expect(out.written.endsWith('\u001B[?25h\u001B[?1049l')).toBe(true)
    })

    it('restores the terminal when closed without a key (an exception, a signal)', () => {
      const {out, input, display, quits} = screen()
      display.open()
      display.close()
      expect(quits()).toBe(0)
      expect(out.written.endsWith('\u001B[?25h\u001B[?1049l')).toBe(true)
      expect(input.raw).toEqual([true, false])
    })
  })
})
