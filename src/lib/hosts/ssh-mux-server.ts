// The mux (see ssh-mux.ts): a background process holding one verified SSH connection to one host
// and running the scripts of autolab commands sent over its unix socket. Started detached by the
// first command that reaches the host; exits when idle for its configured time, when its
// connection drops, or on SIGTERM — removing its socket only if it is still its own.
//   node ssh-mux-server.js '{"socket","target","pinned_key","host_id","idle_seconds"}'
import {lstatSync, unlinkSync} from 'node:fs'
import {createServer, type Socket} from 'node:net'
import {AutolabError} from '../output/errors.js'
import {SshConnection} from './ssh-connection.js'
import {MUX_SESSIONS, type MuxReply, type MuxRequest, request} from './ssh-mux.js'
import type {SshTarget} from './ssh-target.js'

interface MuxConfig {
  socket: string
  target: SshTarget
  pinned_key: string | null
  host_id: string
  idle_seconds: number
}

const MAX_REQUEST_BYTES = 64 << 20

async function main(config: MuxConfig): Promise<void> {
  // Another mux for the same target may have started first: leave it be.
  if (await request(config.socket, {op: 'ping'}, 500).then(() => true, () => false)) return
  const connection = await SshConnection.connect(config.target, {pinnedKey: config.pinned_key, hostId: config.host_id, maxSessions: MUX_SESSIONS})
  let idle: NodeJS.Timeout | null = null
  let inode: number | null = null
  const server = createServer((socket) => {
    if (idle) clearTimeout(idle)
    serve(socket, connection).finally(() => armIdle())
  })
  const stop = () => {
    try {
      // Only our own socket: a newer mux may have taken the path since.
      if (inode !== null && lstatSync(config.socket).ino === inode) unlinkSync(config.socket)
    } catch {
      // already gone
    }
    connection.close()
    server.close()
    process.exit(0)
  }
  const armIdle = () => {
    if (idle) clearTimeout(idle)
    idle = setTimeout(stop, config.idle_seconds * 1000)
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  const watch = setInterval(() => {
    if (!connection.isOpen) stop()
  }, 1000)
  watch.unref()
  try {
    unlinkSync(config.socket) // a stale socket of a mux that died (a live one answered the ping above)
  } catch {
    // none
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.socket, () => resolve())
  })
  inode = lstatSync(config.socket).ino
  armIdle()
}

/** One request per socket connection: a JSON line, answered by a header line and the raw stdout. */
async function serve(socket: Socket, connection: SshConnection): Promise<void> {
  const line = await readLine(socket)
  if (line === null) return
  let reply: MuxReply
  let stdout: Buffer = Buffer.alloc(0)
  try {
    const body = JSON.parse(line) as MuxRequest
    if (body.op === 'ping') {
      // The host must still answer: a command that gets a yes here will act through this connection.
      await connection.exec('true')
      reply = {stdout_bytes: 0}
    } else if (body.op === 'exec' && typeof body.script === 'string') {
      const result = await connection.exec(body.script, {maxStdout: typeof body.max_stdout === 'number' ? body.max_stdout : undefined})
      stdout = result.stdout
      reply = {code: result.code, signal: result.signal, stderr: result.stderr, stdout_bytes: stdout.length}
    } else {
      reply = {error: {code: 'INVALID_ARGUMENT', message: 'The mux got a request it does not know.', retryable: false}}
    }
  } catch (error) {
    const e = error instanceof AutolabError ? error : new AutolabError('HOST_UNREACHABLE', (error as Error).message)
    reply = {error: {code: e.code, message: e.message, retryable: e.retryable, details: e.details}}
  }
  socket.end(Buffer.concat([Buffer.from(`${JSON.stringify(reply)}\n`), stdout]))
}

function readLine(socket: Socket): Promise<string | null> {
  return new Promise((resolve) => {
    let buffer = Buffer.alloc(0)
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk])
      const newline = buffer.indexOf(10)
      if (newline >= 0) resolve(buffer.subarray(0, newline).toString('utf8'))
      else if (buffer.length > MAX_REQUEST_BYTES) socket.destroy()
    })
    socket.on('error', () => resolve(null))
    socket.on('close', () => resolve(null))
  })
}

main(JSON.parse(process.argv[2] ?? '{}') as MuxConfig).catch(() => process.exit(1))
