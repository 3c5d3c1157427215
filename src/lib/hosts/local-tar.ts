// A checkpoint as a tar stream on this machine (a fork onto or from another host): tar, spawned
// when needed (child_process is loaded lazily: most commands start nothing, start-up time counts).
import {nodeCrypto} from '../lazy-modules.js'
import {chmodSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {PassThrough} from 'node:stream'
import {AutolabError} from '../output/errors.js'

/** `tar -cf - .` of a directory already checked by the caller; `done` fails when tar does. */
export function tarStream(source: string): {stream: NodeJS.ReadableStream; done: Promise<void>} {
  const {spawn} = process.getBuiltinModule('node:child_process')
  const child = spawn('tar', ['-C', source, '-cf', '-', '.'], {stdio: ['ignore', 'pipe', 'pipe']})
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4096)
  })
  const done = new Promise<void>((resolvePromise, reject) => {
    child.once('error', (error) => reject(new AutolabError('INTERNAL', `Cannot run tar for ${source}: ${error.message}`, {cause: error})))
    child.once('close', (code, signal) => {
      if (code === 0) resolvePromise()
      else reject(new AutolabError('INTERNAL', `tar of ${source} failed (${code === null ? `signal ${signal}` : `exit ${code}`})${stderr.trim() ? `: ${stderr.trim()}` : ''}.`, {details: {path: source}}))
    })
  })
  done.catch(() => undefined) // a caller that only reads the stream must not see an unhandled rejection
  // Piped at once: Node drains (and loses) a child's unread stdout when the child exits, and tar
  // of a small checkpoint exits before the caller has opened where the stream goes.
  const stream = new PassThrough()
  child.stdout.on('error', (error) => stream.destroy(error))
  child.stdout.pipe(stream)
  return {stream, done}
}

/**
 * Unpack a tar stream into `target` through a temp dir, renamed into place only when the stream
 * reached its end and tar succeeded: tar itself accepts an archive cut at a member boundary, so
 * the stream's own end is what proves it whole. Any failure removes the temp dir.
 */
export async function untarInto(target: string, source: NodeJS.ReadableStream): Promise<{bytes: number; files: number}> {
  const temp = `${target}.tmp-${process.pid}-${nodeCrypto().randomBytes(4).toString('hex')}`
  rmSync(temp, {recursive: true, force: true})
  mkdirSync(temp, {recursive: true})
  try {
    await runTar(temp, source)
    const counts = {bytes: 0, files: 0}
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, {withFileTypes: true})) {
        const path = join(dir, entry.name)
        if (entry.isDirectory()) walk(path)
        else if (entry.isFile()) {
          // lstat, and only regular files: never chmod through a link the archive carried.
          const stat = lstatSync(path)
          chmodSync(path, stat.mode & 0o555)
          counts.bytes += stat.size
          counts.files++
        }
      }
    }
    walk(temp)
    mkdirSync(dirname(target), {recursive: true})
    renameSync(temp, target)
    return counts
  } catch (error) {
    rmSync(temp, {recursive: true, force: true})
    throw error
  }
}

function runTar(into: string, source: NodeJS.ReadableStream): Promise<void> {
  const {spawn} = process.getBuiltinModule('node:child_process')
  const child = spawn('tar', ['--no-same-owner', '-C', into, '-xf', '-'], {stdio: ['pipe', 'ignore', 'pipe']})
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4096)
  })
  child.stdin.on('error', () => undefined) // EPIPE when tar quits first: its exit status says why
  return new Promise((resolvePromise, reject) => {
    let broken: string | null = null
    let ended = false
    source.on('end', () => {
      ended = true
    })
    const breakOff = (why: string) => {
      if (ended || broken) return
      broken = why
      source.unpipe(child.stdin)
      child.kill('SIGKILL')
    }
    const readable = source as NodeJS.ReadableStream & {destroyed?: boolean; readableEnded?: boolean}
    if (readable.destroyed && !readable.readableEnded) breakOff('the source stream was closed before it was read')
    source.on('error', (error: Error) => breakOff(`the source stream failed: ${error.message}`))
    source.on('close', () => breakOff('the source stream closed before its end'))
    child.once('error', (error) => reject(new AutolabError('INTERNAL', `Cannot run tar into ${into}: ${error.message}`, {cause: error})))
    child.once('close', (code, signal) => {
      if (broken) reject(new AutolabError('INTERNAL', `The checkpoint stream into ${into} broke: ${broken}; nothing was kept.`))
      else if (code !== 0) reject(new AutolabError('INTERNAL', `Unpacking a checkpoint into ${into} failed (${code === null ? `signal ${signal}` : `exit ${code}`})${stderr.trim() ? `: ${stderr.trim()}` : ''}.`))
      else {
        // tar exits 0 before the source's end only after the archive's end marker: the padding
        // after it is drained so the sender can finish.
        source.unpipe(child.stdin)
        source.resume()
        resolvePromise()
      }
    })
    source.pipe(child.stdin)
  })
}
