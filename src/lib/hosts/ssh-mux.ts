// Sharing one SSH connection between commands, as OpenSSH's ControlPersist does. Every command
// otherwise pays a connection (TCP, key exchange, host key check, auth: ~70 ms on loopback, far
// more through a bastion) plus the user's login shell starting the session shell (~100 ms with a
// heavy .bashrc), which is most of what an agent's action costs on a remote host. The first
// command that reaches a host connects directly and starts a small background process (the mux,
// ssh-mux-server.ts) that holds its own verified connection and serves the scripts of later
// commands over a unix socket in a private directory; it exits after AUTOLAB_SSH_PERSIST seconds
// without a request (default 60; 0 turns sharing off) or when its connection drops.
// A command never opens more than one connection per host: a shared one, or its own.
import {nodeCrypto} from '../lazy-modules.js'
import {lstatSync, mkdirSync} from 'node:fs'
import {tmpdir, userInfo} from 'node:os'
import {join} from 'node:path'
import type {ClientChannel} from 'ssh2'
import {AutolabError, ERROR_CODES, type ErrorCode} from '../output/errors.js'
import {packageRoot} from '../project.js'
import {type ConnectOptions, type ExecResult, SshConnection} from './ssh-connection.js'
import type {SshTarget} from './ssh-target.js'

/** What the SSH executor needs of a connection, shared or its own. */
export interface RemoteShell {
  exec(script: string, options?: {maxStdout?: number}): Promise<ExecResult>
  /** A raw channel (checkpoint streams): always on a connection of this command's own. */
  channel(command: string): Promise<ClientChannel>
  readonly isOpen: boolean
  close(): void
}

export const DEFAULT_PERSIST_SECONDS = 60
/** Part of the socket's name: an autolab speaking another protocol never talks to this mux. */
const MUX_PROTOCOL = 1
/** Sessions the mux runs scripts in concurrently (sshd's MaxSessions is 10 by default). */
export const MUX_SESSIONS = 4

export interface MuxRequest {
  op: 'ping' | 'exec'
  script?: string
  max_stdout?: number
}

/** The mux's answer: this header line, then `stdout_bytes` raw bytes. */
export interface MuxReply {
  code?: number | null
  signal?: string | null
  stdout_bytes?: number
  stderr?: string
  error?: {code: ErrorCode; message: string; retryable: boolean; details?: Record<string, unknown>}
}

/** Seconds a mux lives without requests; 0: no sharing. */
export function persistSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.AUTOLAB_SSH_PERSIST ?? DEFAULT_PERSIST_SECONDS)
  return Number.isFinite(value) && value >= 0 ? Math.min(value, 86_400) : DEFAULT_PERSIST_SECONDS
}

/**
 * The socket of the mux for this target and pinned key, in a directory only this user can use,
 * or null when that directory is not safely ours (then nothing is shared).
 */
export function muxSocketPath(target: SshTarget, pinnedKey: string | null): string | null {
  const uid = process.getuid?.() ?? -1
  const dir = join(tmpdir(), `autolab-ssh-${uid >= 0 ? uid : userInfo().username}`)
  try {
    mkdirSync(dir, {mode: 0o700})
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return null
  }
  try {
    const stat = lstatSync(dir)
    if (!stat.isDirectory() || (uid >= 0 && stat.uid !== uid) || (stat.mode & 0o077) !== 0) return null
  } catch {
    return null
  }
  // Everything that decides what the connection is: another key pin, user, identity or bastion is another mux.
  const key = nodeCrypto().createHash('sha256').update(JSON.stringify({protocol: MUX_PROTOCOL, target, pinnedKey})).digest('hex').slice(0, 32)
  return join(dir, `${key}.sock`)
}

/** This command's connection to a host: a running mux's, else its own (starting a mux for the next commands). */
export async function connectShell(target: SshTarget, options: ConnectOptions): Promise<RemoteShell> {
  const seconds = persistSeconds()
  const socket = seconds > 0 && !options.acceptNew ? muxSocketPath(target, options.pinnedKey) : null
  if (socket && await muxAnswers(socket)) return new MuxShell(socket, options.hostId, () => SshConnection.connect(target, options))
  const own = await SshConnection.connect(target, options)
  if (socket) startMux(socket, target, options, seconds)
  return own
}

/**
 * How long a command waits for the mux's yes: it runs `true` on the host through the shared session
 * shells, behind whatever scripts other commands have there, so a busy mux on a loaded machine can
 * take a second (500 ms sent commands to connections of their own). A mux that is gone answers at
 * once (no socket); only a hung one costs this, once.
 */
const MUX_PING_MS = 2000

async function muxAnswers(socket: string): Promise<boolean> {
  try {
    const {reply} = await request(socket, {op: 'ping'}, MUX_PING_MS)
    return reply.error === undefined
  } catch {
    return false
  }
}

function startMux(socket: string, target: SshTarget, options: ConnectOptions, seconds: number): void {
  const server = join(packageRoot(), 'dist', 'src', 'lib', 'hosts', 'ssh-mux-server.js')
  const config = JSON.stringify({socket, target, pinned_key: options.pinnedKey, host_id: options.hostId, idle_seconds: seconds})
  // Detached, with no stdio and only what it needs of the environment (the agent's socket): it
  // belongs to no command and must not hold a terminal or a test's marker.
  const env: NodeJS.ProcessEnv = process.env.SSH_AUTH_SOCK ? {SSH_AUTH_SOCK: process.env.SSH_AUTH_SOCK} : {}
  try {
    // Loaded here: child_process and net cost start-up time, and most commands need neither.
    const {spawn} = process.getBuiltinModule('node:child_process')
    spawn(process.execPath, [server, config], {detached: true, stdio: 'ignore', env}).unref()
  } catch {
    // Sharing is an optimisation: this command has its own connection.
  }
}

/** The socket's answer is read like any remote answer: every field checked, or the whole answer refused (null). */
export function parseMuxReply(line: string): MuxReply | null {
  let raw: unknown
  try {
    raw = JSON.parse(line)
  } catch {
    return null
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return null
  const r = raw as Record<string, unknown>
  const bytes = r.stdout_bytes ?? 0
  if (!Number.isSafeInteger(bytes) || (bytes as number) < 0 || (bytes as number) > MAX_MUX_STDOUT) return null
  if (r.code !== undefined && r.code !== null && !Number.isSafeInteger(r.code)) return null
  if (r.signal !== undefined && r.signal !== null && typeof r.signal !== 'string') return null
  if (r.stderr !== undefined && typeof r.stderr !== 'string') return null
  if (r.error !== undefined) {
    const e = r.error as Record<string, unknown> | null
    if (e === null || typeof e !== 'object' || typeof e.code !== 'string' || !Object.hasOwn(ERROR_CODES, e.code) || typeof e.message !== 'string' || typeof e.retryable !== 'boolean') return null
    if (e.details !== undefined && (e.details === null || typeof e.details !== 'object' || Array.isArray(e.details))) return null
  }
  return r as MuxReply
}

/** An answer larger than any script may produce (the probe's budget is 32 MiB of base64) is refused. */
const MAX_MUX_STDOUT = 256 << 20

/** One request on a fresh socket connection: the reply header, then exactly stdout_bytes bytes. */
export function request(socket: string, body: MuxRequest, timeoutMs: number | null = null): Promise<{reply: MuxReply; stdout: Buffer}> {
  return new Promise((resolvePromise, reject) => {
    const connection = process.getBuiltinModule('node:net').createConnection(socket)
    let buffer = Buffer.alloc(0)
    let reply: MuxReply | null = null
    const timer = timeoutMs === null ? null : setTimeout(() => connection.destroy(new Error('the mux did not answer')), timeoutMs)
    const finish = (error: Error | null, value?: {reply: MuxReply; stdout: Buffer}) => {
      if (timer) clearTimeout(timer)
      connection.destroy()
      if (error) reject(error)
      else resolvePromise(value!)
    }
    connection.on('error', (error) => finish(error))
    connection.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk])
      if (reply === null) {
        const newline = buffer.indexOf(10)
        if (newline < 0) {
          if (buffer.length > 1 << 20) finish(new Error('the mux answered out of frame'))
          return
        }
        reply = parseMuxReply(buffer.subarray(0, newline).toString('utf8'))
        if (reply === null) {
          finish(new Error('the mux answered out of frame'))
          return
        }
        buffer = buffer.subarray(newline + 1)
      }
      const bytes = reply.stdout_bytes ?? 0
      if (buffer.length >= bytes) finish(null, {reply, stdout: buffer.subarray(0, bytes)})
    })
    connection.on('end', () => finish(new Error('the mux closed the connection')))
    connection.write(`${JSON.stringify(body)}\n`)
  })
}

/** Scripts through the mux; raw channels on a connection of this command's own, opened when first needed. */
class MuxShell implements RemoteShell {
  private open = true
  private own: Promise<SshConnection> | null = null

  constructor(private readonly socket: string, private readonly hostId: string, private readonly connectOwn: () => Promise<SshConnection>) {}

  get isOpen(): boolean {
    return this.open
  }

  async exec(script: string, options: {maxStdout?: number} = {}): Promise<ExecResult> {
    let answer: {reply: MuxReply; stdout: Buffer}
    try {
      answer = await request(this.socket, {op: 'exec', script, max_stdout: options.maxStdout ?? 16 << 20})
    } catch (error) {
      this.open = false
      throw new AutolabError('HOST_UNREACHABLE', `Lost the shared connection to host ${this.hostId}: ${(error as Error).message}.`, {details: {host: this.hostId}})
    }
    const {reply, stdout} = answer
    if (reply.error) {
      if (reply.error.code === 'HOST_UNREACHABLE') this.open = false
      throw new AutolabError(reply.error.code, reply.error.message, {retryable: reply.error.retryable, details: reply.error.details})
    }
    return {code: reply.code ?? null, signal: reply.signal ?? null, stdout, stderr: reply.stderr ?? ''}
  }

  async channel(command: string): Promise<ClientChannel> {
    this.own ??= this.connectOwn()
    return (await this.own).channel(command)
  }

  close(): void {
    this.open = false
    this.own?.then((c) => c.close(), () => undefined)
  }
}
