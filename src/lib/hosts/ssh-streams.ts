// Streams over an SSH channel (a checkpoint's tar): feeding one, and knowing how it ended. A
// channel that closes without an exit status lost its connection; that is HOST_UNREACHABLE.
import type {ClientChannel} from 'ssh2'
import {AutolabError} from '../output/errors.js'

const STDERR_KEEP = 4096

/**
 * Settles when the channel's command has exited and the channel closed: its stdout (bounded)
 * when keepStdout, else nothing — then stdout is left to whoever reads the channel as a stream.
 */
export function readChannel(channel: ClientChannel, options: {hostId: string; what: string; keepStdout: boolean; maxStdout?: number}): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    let stderr = ''
    const chunks: Buffer[] = []
    let size = 0
    let overflow = false
    let exit: {code: number | null; signal: string | null} | null = null
    channel.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_KEEP)
    })
    if (options.keepStdout) {
      channel.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > (options.maxStdout ?? 1 << 20)) overflow = true
        else chunks.push(chunk)
      })
    }
    channel.on('exit', (code: number | null, signal?: string) => {
      exit = {code: code ?? null, signal: signal ?? null}
    })
    channel.on('close', () => {
      const details = {host: options.hostId, stderr: stderr.trim()}
      if (exit === null) {
        reject(new AutolabError('HOST_UNREACHABLE', `Lost the connection to host ${options.hostId} during ${options.what}.`, {details}))
      } else if (exit.code !== 0) {
        const why = exit.code === null ? `signal ${exit.signal}` : `exit ${exit.code}`
        reject(new AutolabError('INTERNAL', `Host ${options.hostId}: ${options.what} failed (${why})${details.stderr ? `: ${details.stderr}` : ''}.`, {details: {...details, exit_code: exit.code}}))
      } else if (overflow) {
        reject(new AutolabError('HOST_UNREACHABLE', `Host ${options.hostId} answered more than expected during ${options.what}; the answer was refused.`, {retryable: false, details}))
      } else {
        resolvePromise(Buffer.concat(chunks))
      }
    })
  })
}

/**
 * Pipe `source` into the channel's stdin. Resolves once the source ended normally (its 'end'), or
 * once the command closed the channel first: tar stops reading at the archive's end marker and
 * leaves the record padding unread, and whether it liked the archive is its exit status's business
 * (readChannel). Rejects when the source failed or closed before its end — then the channel's
 * stdin is ended so the command finishes, and the caller must not keep what it unpacked.
 */
export function pipeIntoChannel(source: NodeJS.ReadableStream, channel: ClientChannel): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    let settled = false
    const settle = (error: Error | null) => {
      if (settled) return
      settled = true
      if (error) {
        source.unpipe(channel)
        channel.end()
        reject(error)
      } else {
        resolvePromise()
      }
    }
    const readable = source as NodeJS.ReadableStream & {destroyed?: boolean; readableEnded?: boolean}
    if (readable.destroyed && !readable.readableEnded) {
      settle(new Error('the source stream was closed before it was read'))
      return
    }
    source.on('end', () => settle(null))
    source.on('error', (error: Error) => settle(new Error(`the source stream failed: ${error.message}`)))
    // ssh2 may emit a channel's 'close' just before its 'end' (same turn): judge a turn later.
    source.on('close', () => setImmediate(() => settle(new Error('the source stream closed before its end'))))
    channel.on('close', () => {
      settle(null)
      // Drain what the host left unread, so the sender (a tar process, another channel) can finish.
      source.unpipe(channel)
      source.resume()
    })
    source.pipe(channel)
  })
}
