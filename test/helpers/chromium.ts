// A small Chrome DevTools Protocol client over a pipe, to open a page in headless Chromium and
// look at it, with no new dependency: Chromium is started with --remote-debugging-pipe, reads
// commands on its fd 3 and writes answers and events on its fd 4, one JSON message each,
// terminated by a NUL byte. The browser runs in its own process group with a marker in its
// environment; close() ends the group and checks that no process of it is left.
import {type ChildProcess, spawn} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {Readable, Writable} from 'node:stream'
import {waitFor} from './cli.js'
import {describeProcess, processesWithEnvironMarker} from './processes.js'

/** Where Debian installs it; CHROMIUM overrides. */
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'

export const chromiumAvailable = (): boolean => existsSync(CHROMIUM)

interface Message {
  id?: number
  method?: string
  params?: any
  result?: any
  error?: {code: number; message: string}
  sessionId?: string
}

export interface CdpEvent {
  method: string
  params: any
  sessionId?: string
}

export class Chromium {
  private nextId = 1
  private readonly pending = new Map<number, {resolve: (r: any) => void; reject: (e: Error) => void; method: string}>()
  /** Every event received, in order: tests look for errors and page loads here. */
  readonly events: CdpEvent[] = []
  private readonly listeners = new Set<(event: CdpEvent) => void>()
  private stderr = ''
  private exited = false

  /** The browser's pid, which is also its process group's id. */
  get pid(): number {
    return this.child.pid!
  }

  private constructor(private readonly child: ChildProcess, private readonly profile: string) {
    const input = child.stdio[4] as Readable
    let buffer = Buffer.alloc(0)
    input.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk])
      for (let end = buffer.indexOf(0); end !== -1; end = buffer.indexOf(0)) {
        const text = buffer.subarray(0, end).toString('utf8')
        buffer = buffer.subarray(end + 1)
        this.receive(JSON.parse(text) as Message)
      }
    })
    child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-20_000)
    })
    child.on('exit', () => {
      this.exited = true
      for (const {reject, method} of this.pending.values()) reject(new Error(`Chromium exited before answering ${method}\n${this.stderr}`))
      this.pending.clear()
    })
  }

  /** Start headless Chromium (root needs --no-sandbox) with a throwaway profile. */
  static async launch(): Promise<Chromium> {
    const profile = mkdtempSync(join(tmpdir(), 'autolab-chromium-'))
    const child = spawn(CHROMIUM, [
      '--headless', '--no-sandbox', '--disable-gpu', '--remote-debugging-pipe', `--user-data-dir=${profile}`,
      '--no-first-run', '--no-default-browser-check', '--disable-extensions', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--metrics-recording-only', '--mute-audio', 'about:blank',
    ], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
      // Its own process group: close() can end every helper process it forks.
      detached: true,
      // Inherited by every process Chromium starts: how close() finds any left behind.
      env: {...process.env, AUTOLAB_CHROMIUM_PROFILE: profile},
    })
    const browser = new Chromium(child, profile)
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve)
      child.once('error', reject)
    })
    // The pipe is ready once the browser answers.
    await browser.send('Browser.getVersion')
    return browser
  }

  private receive(message: Message): void {
    if (message.id !== undefined) {
      const waiter = this.pending.get(message.id)
      this.pending.delete(message.id)
      if (!waiter) return
      if (message.error) waiter.reject(new Error(`${waiter.method}: ${message.error.message}`))
      else waiter.resolve(message.result)
      return
    }
    if (message.method) {
      const event = {method: message.method, params: message.params, sessionId: message.sessionId}
      this.events.push(event)
      for (const listener of this.listeners) listener(event)
    }
  }

  /** Send one command (to a page's session when given) and wait, at most timeoutMs, for its answer. */
  send(method: string, params: Record<string, unknown> = {}, sessionId?: string, timeoutMs = 15_000): Promise<any> {
    if (this.exited) return Promise.reject(new Error(`Chromium has exited; cannot send ${method}\n${this.stderr}`))
    const id = this.nextId++
    const output = this.child.stdio[3] as Writable
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new Error(`${method}: no answer from Chromium within ${timeoutMs} ms\n${this.stderr}`))
      }, timeoutMs)
      this.pending.set(id, {
        method,
        resolve: (r) => {
          clearTimeout(timer)
          resolve(r)
        },
        reject: (e) => {
          clearTimeout(timer)
          reject(e)
        },
      })
      output.write(`${JSON.stringify({id, method, params, ...(sessionId ? {sessionId} : {})})}\0`)
    })
  }

  /** The first event (already received or to come) that matches, within timeoutMs. */
  waitForEvent(method: string, match: (event: CdpEvent) => boolean = () => true, timeoutMs = 15_000): Promise<CdpEvent> {
    const seen = this.events.find((e) => e.method === method && match(e))
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      const listener = (event: CdpEvent) => {
        if (event.method !== method || !match(event)) return
        clearTimeout(timer)
        this.listeners.delete(listener)
        resolve(event)
      }
      const timer = setTimeout(() => {
        this.listeners.delete(listener)
        reject(new Error(`no ${method} event within ${timeoutMs} ms\n${this.stderr}`))
      }, timeoutMs)
      this.listeners.add(listener)
    })
  }

  /**
   * A new tab attached in flat mode (commands carry its sessionId), with the Runtime, Log and
   * Page domains enabled, navigated to `url` and loaded.
   */
  async openPage(url: string, viewport = {width: 1200, height: 900}): Promise<Page> {
    const {targetId} = await this.send('Target.createTarget', {url: 'about:blank'})
    const {sessionId} = await this.send('Target.attachToTarget', {targetId, flatten: true})
    const page = new Page(this, sessionId)
    await Promise.all([page.send('Runtime.enable'), page.send('Log.enable'), page.send('Page.enable')])
    await page.send('Emulation.setDeviceMetricsOverride', {...viewport, deviceScaleFactor: 1, mobile: false})
    const loaded = this.waitForEvent('Page.loadEventFired', (e) => e.sessionId === sessionId)
    const navigation = await page.send('Page.navigate', {url})
    if (navigation.errorText) throw new Error(`Page.navigate ${url}: ${navigation.errorText}`)
    await loaded
    return page
  }

  /**
   * Close the browser and make sure nothing of it is left: Browser.close, then the process group
   * is killed (helpers that outlive the browser die with it), then no process may still carry the
   * profile marker. Returns what had to be killed after the group kill (for the test to report).
   */
  async close(): Promise<string[]> {
    try {
      if (!this.exited) await this.send('Browser.close', {}, undefined, 5000).catch(() => undefined)
      await waitFor(() => this.exited, {timeoutMs: 5000, intervalMs: 20, message: 'Chromium to exit'}).catch(() => undefined)
    } finally {
      try {
        process.kill(-this.child.pid!, 'SIGKILL')
      } catch {
        // the group is gone already
      }
    }
    const left = await waitFor(() => processesWithEnvironMarker(this.profile).length === 0, {timeoutMs: 5000, intervalMs: 50, message: 'Chromium processes to end'})
      .then(() => [] as string[])
      .catch(() => {
        const pids = processesWithEnvironMarker(this.profile)
        const described = pids.map(describeProcess)
        for (const pid of pids) {
          try {
            process.kill(pid, 'SIGKILL')
          } catch {
            // gone
          }
        }
        return described
      })
    rmSync(this.profile, {recursive: true, force: true, maxRetries: 5, retryDelay: 50})
    return left
  }
}

/** One tab: commands go to its session. */
export class Page {
  constructor(readonly browser: Chromium, readonly sessionId: string) {}

  send(method: string, params: Record<string, unknown> = {}): Promise<any> {
    return this.browser.send(method, params, this.sessionId)
  }

  /** Evaluate an expression in the page and return its value (JSON-serialisable results only). */
  async evaluate<T>(expression: string): Promise<T> {
    const r = await this.send('Runtime.evaluate', {expression, returnByValue: true, awaitPromise: true})
    if (r.exceptionDetails) throw new Error(`evaluate failed: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`)
    return r.result.value as T
  }

  /** The errors the page reported: console.error calls, uncaught exceptions, and error log entries (a blocked load, a CSP violation…). */
  errors(): string[] {
    return this.browser.events.filter((e) => e.sessionId === this.sessionId).flatMap((e) => {
      if (e.method === 'Runtime.consoleAPICalled' && e.params.type === 'error') return [`console.error: ${e.params.args.map((a: any) => a.value ?? a.description).join(' ')}`]
      if (e.method === 'Runtime.exceptionThrown') return [`exception: ${e.params.exceptionDetails.exception?.description ?? e.params.exceptionDetails.text}`]
      if (e.method === 'Log.entryAdded' && e.params.entry.level === 'error') return [`log: ${e.params.entry.text} ${e.params.entry.url ?? ''}`]
      return []
    })
  }

  /** A PNG of the whole page. */
  async screenshot(): Promise<Buffer> {
    const {cssContentSize} = await this.send('Page.getLayoutMetrics')
    const clip = {x: 0, y: 0, width: Math.ceil(cssContentSize.width), height: Math.ceil(cssContentSize.height), scale: 1}
    const {data} = await this.send('Page.captureScreenshot', {format: 'png', captureBeyondViewport: true, clip})
    return Buffer.from(data, 'base64')
  }
}
