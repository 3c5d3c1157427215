// One SSH connection (ssh2) to one host, opened on first use and reused for every exec of the
// command: connect + auth costs ~80 ms, an exec on an open connection ~2 ms (with setNoDelay).
// Host keys are verified before authentication (host-keys.ts); authentication is ssh-agent,
// then the identity files; never a password or a prompt. Remote commands read their script from
// stdin of one session shell (see Session): no argument-length limit, and the login shell starts once.
import {nodeCrypto} from '../lazy-modules.js'
import {readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import type {Duplex} from 'node:stream'
import type {Client, ClientChannel, ConnectConfig} from 'ssh2'
import {AutolabError} from '../output/errors.js'
import {knownKeysFor, type HostKeyVerdict, verifyHostKey} from './host-keys.js'
import type {SshTarget} from './ssh-target.js'

export interface ConnectOptions {
  /** The fingerprint pinned in the store for this host, or null. */
  pinnedKey: string | null
  /** Accept (and report) a key that nothing knows yet: `host check --accept-new`. */
  acceptNew?: boolean
  /** Milliseconds for connect, handshake and auth together. */
  timeoutMs?: number
  /** Name of the host in autolab (for messages). */
  hostId: string
  /** Session shells run scripts concurrently up to this many (default 1: one command's scripts run in order anyway). */
  maxSessions?: number
}

export interface ExecResult {
  code: number | null
  signal: string | null
  stdout: Buffer
  stderr: string
}

const DEFAULT_TIMEOUT_MS = Number(process.env.AUTOLAB_SSH_TIMEOUT_MS) || 15_000
const MAX_STDERR = 64 << 10

export class SshConnection {
  /** The verdict on the host key of this connection (after connect). */
  hostKey: HostKeyVerdict | null = null
  private closed = false
  /** Session shells, each running one script at a time; a shared connection (ssh-mux) has several. */
  private readonly lanes: {session: Promise<Session> | null; queue: Promise<unknown>; waiting: number}[] = []
  /** Rejecters of what is in flight: a lost connection fails them at once. */
  readonly pending = new Set<(error: Error) => void>()

  private constructor(private readonly client: Client, private readonly jumps: Client[], private readonly hostId: string, private readonly maxSessions: number) {
    client.on('close', () => this.lost('the connection closed'))
    client.on('error', (error) => this.lost(error.message))
  }

  static async connect(target: SshTarget, options: ConnectOptions): Promise<SshConnection> {
    // require, not import(): bin/run.js runs the bundle in a vm.Script, where a dynamic import()
    // has no loader ("A dynamic import callback was not specified").
    const {Client: SshClient} = createRequire(import.meta.url)('ssh2') as typeof import('ssh2')
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    const jumps: Client[] = []
    let sock: Duplex | undefined
    try {
      // Bastions first, each reached through the one before (ProxyJump), each with its own key check.
      const chain: SshTarget[] = []
      for (let hop = target.jump; hop; hop = hop.jump) chain.unshift(hop)
      for (const hop of chain) {
        const {client} = await open(SshClient, hop, {...options, pinnedKey: null, acceptNew: false, hostId: `${options.hostId} (via ${hop.alias})`}, timeoutMs, sock)
        jumps.push(client)
        sock = await forward(client, hop === chain.at(-1) ? target : chain[chain.indexOf(hop) + 1], options.hostId)
      }
      const {client, verdict} = await open(SshClient, target, options, timeoutMs, sock)
      const connection = new SshConnection(client, jumps, options.hostId, Math.max(1, options.maxSessions ?? 1))
      connection.hostKey = verdict
      return connection
    } catch (error) {
      for (const jump of jumps) jump.end()
      throw error
    }
  }

  /**
   * Run a sh script on the host and collect its exit code, stdout (up to maxStdout bytes) and
   * stderr. Scripts run one at a time in the connection's session shell (see Session).
   */
  exec(script: string, options: {maxStdout?: number} = {}): Promise<ExecResult> {
    const maxStdout = options.maxStdout ?? 16 << 20
    // The least busy session shell; a new one while fewer than maxSessions are open.
    let lane = this.lanes.find((l) => l.waiting === 0)
    if (!lane && this.lanes.length < this.maxSessions) this.lanes.push(lane = {session: null, queue: Promise.resolve(), waiting: 0})
    lane ??= this.lanes.reduce((a, b) => (b.waiting < a.waiting ? b : a))
    const chosen = lane
    chosen.waiting++
    const run = chosen.queue.then(async () => {
      chosen.session ??= Session.open(this, this.hostId)
      return (await chosen.session).run(script, maxStdout)
    }).finally(() => chosen.waiting--)
    chosen.queue = run.catch(() => undefined)
    return run
  }

  /** A raw channel running `command` (for streams such as a checkpoint's tar). */
  channel(command: string): Promise<ClientChannel> {
    if (this.closed) return Promise.reject(lostError(this.hostId, 'the connection is closed'))
    return new Promise((resolvePromise, reject) => {
      this.client.exec(command, (error, stream) => (error ? reject(lostError(this.hostId, error.message)) : resolvePromise(stream)))
    })
  }

  /** False once closed or lost. */
  get isOpen(): boolean {
    return !this.closed
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.client.end()
    for (const jump of this.jumps) jump.end()
  }

  private lost(why: string): void {
    this.closed = true
    for (const fail of [...this.pending]) fail(lostError(this.hostId, why))
    this.pending.clear()
  }
}

/**
 * One long-lived `sh` on the host that runs every script of the connection. An exec channel
 * costs the user's login shell each time (`bash -c …` reading .bashrc: ~85 ms here with pyenv,
 * more with conda), a script in the session costs a few forks. Each script arrives base64-encoded
 * in a heredoc, runs in its own `sh` with stdin from /dev/null and its output in files, and its
 * answer comes back framed: `<tag> <exit code> <stdout bytes> <stderr bytes>\n`, then the bytes.
 * Nothing else is written to the channel's stdout, so the frame is never ambiguous.
 */
class Session {
  private buffer: Buffer = Buffer.alloc(0)
  private waiter: (() => void) | null = null
  private seq = 0
  private ended = false

  private constructor(private readonly stream: ClientChannel, private readonly tag: string, private readonly hostId: string) {
    stream.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk])
      this.waiter?.()
    })
    stream.stderr.on('data', () => undefined)
    stream.on('close', () => {
      this.ended = true
      this.waiter?.()
    })
  }

  static async open(connection: SshConnection, hostId: string): Promise<Session> {
    const stream = await connection.channel('exec sh')
    const tag = `__autolab_${nodeCrypto().randomBytes(12).toString('hex')}`
    // T is exported: each script runs in its own sh, and may keep scratch files in T (one script at a time per session).
    stream.write(`T=$(mktemp -d "\${TMPDIR:-/tmp}/autolab-sh.XXXXXX") || exit 1\nexport T\ntrap 'rm -rf "$T"' EXIT\n`)
    return new Session(stream, tag, hostId)
  }

  async run(script: string, maxStdout: number): Promise<ExecResult> {
    const end = `${this.tag}_${++this.seq}`
    const encoded = Buffer.from(script).toString('base64').replace(/.{76}/g, '$&\n')
    this.stream.write([
      `base64 -d > "$T/s" <<'${end}'`, encoded, end,
      `sh "$T/s" </dev/null >"$T/o" 2>"$T/e"; c=$?; o=$(($(wc -c <"$T/o"))); e=$(($(wc -c <"$T/e")))`,
      `if [ "$e" -gt ${MAX_STDERR} ]; then e=${MAX_STDERR}; fi`,
      `if [ "$o" -gt ${maxStdout} ]; then printf '%s %s -1 %s\\n' ${end} "$c" "$e"; else printf '%s %s %s %s\\n' ${end} "$c" "$o" "$e"; cat "$T/o"; fi`,
      `head -c "$e" "$T/e"`, '',
    ].join('\n'))
    const header = await this.read((buffer) => {
      const newline = buffer.indexOf(10)
      return newline < 0 ? null : newline + 1
    })
    const match = new RegExp(`^${end} (\\d+) (-1|\\d+) (\\d+)\\n$`).exec(header.toString('latin1'))
    if (!match) throw lostError(this.hostId, 'the host answered out of frame')
    const [code, outBytes, errBytes] = [Number(match[1]), Number(match[2]), Number(match[3])]
    const stdout = outBytes < 0 ? null : await this.read((buffer) => (buffer.length >= outBytes ? outBytes : null))
    const stderr = await this.read((buffer) => (buffer.length >= errBytes ? errBytes : null))
    if (stdout === null) {
      throw new AutolabError('HOST_UNREACHABLE', `Host ${this.hostId} answered more than ${maxStdout} bytes; the answer was refused.`, {retryable: false, details: {host: this.hostId}})
    }
    return {code, signal: null, stdout, stderr: stderr.toString('utf8')}
  }

  /** Wait until `complete` says how many buffered bytes make the next piece, and take them. */
  private async read(complete: (buffer: Buffer) => number | null): Promise<Buffer> {
    for (;;) {
      const length = complete(this.buffer)
      if (length !== null) {
        const piece = this.buffer.subarray(0, length)
        this.buffer = this.buffer.subarray(length)
        return piece
      }
      if (this.ended) throw lostError(this.hostId, 'the session shell ended')
      await new Promise<void>((resolvePromise) => {
        this.waiter = resolvePromise
      })
      this.waiter = null
    }
  }
}

function lostError(hostId: string, why: string): AutolabError {
  return new AutolabError('HOST_UNREACHABLE', `Lost the connection to host ${hostId}: ${why}.`, {details: {host: hostId}})
}

type ClientClass = typeof import('ssh2').Client

async function open(SshClient: ClientClass, target: SshTarget, options: ConnectOptions, timeoutMs: number, sock?: Duplex): Promise<{client: Client; verdict: HostKeyVerdict}> {
  const known = knownKeysFor(target.knownHostsFiles, target.host, target.port)
  const keys = loadIdentities(target.identityFiles)
  const agent = process.env.SSH_AUTH_SOCK
  let verdict: HostKeyVerdict | null = null
  const client = new SshClient()
  const config: ConnectConfig = {
    host: target.host,
    port: target.port,
    username: target.user,
    sock,
    readyTimeout: timeoutMs,
    keepaliveInterval: 15_000,
    // Ask for a key type known_hosts has, so a host with several keys is checked against the right one.
    algorithms: preferredKeyTypes(known.map((k) => k.type)),
    hostVerifier: (presented: Buffer) => {
      verdict = verifyHostKey(presented, known, options.pinnedKey)
      return verdict.verdict === 'ok' || (verdict.verdict === 'unknown' && options.acceptNew === true)
    },
    // Agent first, then each identity file; never a password, never keyboard-interactive.
    authHandler: [
      ...(agent ? [{type: 'agent' as const, username: target.user, agent}] : []),
      ...keys.map((key) => ({type: 'publickey' as const, username: target.user, key})),
    ] as unknown as ConnectConfig['authHandler'],
  }
  return new Promise((resolvePromise, reject) => {
    let settled = false
    // Kept for the client's whole life, a no-op once settled: ssh2 can emit a second error after
    // the first (a host going down mid-handshake: "Connection lost before handshake"), and an
    // error event with no listener would be an uncaught exception. The connection adds its own.
    const onError = (error: Error & {level?: string; code?: string}) => {
      if (settled) return
      settled = true
      client.removeAllListeners('ready')
      client.end()
      reject(connectError(error, target, options.hostId, verdict, keys.length > 0 || Boolean(agent)))
    }
    client.on('error', onError)
    client.once('ready', () => {
      if (settled) return
      settled = true
      client.setNoDelay(true)
      resolvePromise({client, verdict: verdict!})
    })
    client.connect(config)
  })
}

function connectError(error: Error & {level?: string; code?: string}, target: SshTarget, hostId: string, verdict: HostKeyVerdict | null, hadCredentials: boolean): AutolabError {
  const where = `${target.user}@${target.host}:${target.port}`
  if (verdict?.verdict === 'mismatch') {
    return new AutolabError('HOST_KEY_MISMATCH', `Host ${hostId} (${where}) presented key ${verdict.fingerprint}, but ${verdict.source === 'pinned' ? 'the store has pinned' : 'known_hosts has'} ${verdict.expected.join(', ')}. Nothing was sent to it.`, {
      details: {host: hostId, presented: verdict.fingerprint, expected: verdict.expected, source: verdict.source},
    })
  }
  if (verdict?.verdict === 'unknown') {
    return new AutolabError('HOST_KEY_UNKNOWN', `Host ${hostId} (${where}) presented key ${verdict.fingerprint}, which neither known_hosts nor the store knows.`, {
      details: {host: hostId, presented: verdict.fingerprint}, suggestedAction: `If ${verdict.fingerprint} is the host's key, run \`autolab host check ${hostId} --accept-new\` to pin it.`,
    })
  }
  if (error.level === 'client-authentication') {
    return new AutolabError('HOST_AUTH_FAILED', `Host ${hostId} (${where}) refused ${hadCredentials ? 'every key offered (ssh-agent, then the identity files)' : 'the connection: no ssh-agent and no identity file was found'}.`, {details: {host: hostId}})
  }
  return new AutolabError('HOST_UNREACHABLE', `Cannot reach host ${hostId} (${where}): ${error.message}.`, {details: {host: hostId, cause: error.code ?? error.message}})
}

/** Private keys from identity files; encrypted or unreadable ones are skipped (there is no prompt). */
function loadIdentities(files: readonly string[]): Buffer[] {
  const keys: Buffer[] = []
  for (const file of files) {
    try {
      const key = readFileSync(file)
      if (!/ENCRYPTED|Proc-Type: 4,ENCRYPTED/.test(key.toString('latin1', 0, 4096)) && !isEncryptedOpenSshKey(key)) keys.push(key)
    } catch {
      // missing or unreadable: try the next
    }
  }
  return keys
}

/** An OpenSSH-format private key protected by a passphrase names its cipher (not "none") in its header. */
function isEncryptedOpenSshKey(key: Buffer): boolean {
  const text = key.toString('latin1')
  const match = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END/.exec(text)
  if (!match) return false
  const body = Buffer.from(match[1].replace(/\s+/g, ''), 'base64')
  const magic = 'openssh-key-v1\0'
  if (body.toString('latin1', 0, magic.length) !== magic) return false
  const length = body.readUInt32BE(magic.length)
  return body.toString('latin1', magic.length + 4, magic.length + 4 + length) !== 'none'
}

/** The server host key algorithms to offer: those of the known keys first (OpenSSH does the same). */
function preferredKeyTypes(knownTypes: string[]): ConnectConfig['algorithms'] {
  if (knownTypes.length === 0) return undefined
  const all = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']
  const algorithmsOf = (type: string) => (type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type])
  const first = [...new Set(knownTypes.flatMap(algorithmsOf))].filter((a) => all.includes(a))
  return {serverHostKey: [...first, ...all.filter((a) => !first.includes(a))] as never}
}

function forward(client: Client, next: SshTarget, hostId: string): Promise<Duplex> {
  return new Promise((resolvePromise, reject) => {
    client.forwardOut('127.0.0.1', 0, next.host, next.port, (error, stream) => {
      if (error) reject(new AutolabError('HOST_UNREACHABLE', `The bastion of host ${hostId} cannot reach ${next.host}:${next.port}: ${error.message}.`, {details: {host: hostId}}))
      else resolvePromise(stream)
    })
  })
}
