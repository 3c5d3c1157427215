// A checkpoint carried from one host to another for a cross-host fork: the source host's tar
// stream piped straight into the target host's unpacking (two ssh2 channels when both are
// remote), through this process's memory only — no temp copy on the control machine. The target
// unpacks into a temp directory renamed into place only when complete (importCheckpoint), so a
// failure half way leaves no partial checkpoint, and the fork's rollback removes the rest.
import {PassThrough} from 'node:stream'
import type {Ctx} from '../context.js'
import type {Executor} from '../hosts/executor.js'

export interface Transfer {
  method: 'stream'
  bytes: number
  files: number
}

export async function streamCheckpoint(ctx: Ctx, from: Executor, to: Executor, paths: {source: string; sourceRunDir: string; target: string}): Promise<Transfer> {
  const exported = await from.exportCheckpoint(paths.source, {sourceRunDir: paths.sourceRunDir})
  // Counting what passes, for the progress line (on a terminal only: see output/progress.ts).
  const counter = new PassThrough()
  let streamed = 0
  const started = Date.now()
  counter.on('data', (chunk: Buffer) => {
    streamed += chunk.length
    const seconds = Math.max(0.001, (Date.now() - started) / 1000)
    ctx.progress.update(`copying the checkpoint ${from.hostId} → ${to.hostId}: ${formatBytes(streamed)} (${formatBytes(streamed / seconds)}/s)`)
  })
  exported.stream.on('error', (error) => counter.destroy(error))
  exported.stream.pipe(counter)
  // Both sides must succeed: a source that fails half way ends the stream early, and the target's
  // tar may well accept the truncated archive; `done` says whether the source really finished.
  // Both are settled before answering, so nothing still writes into the child's dir when the
  // fork's rollback removes it.
  const [imported, source] = await Promise.allSettled([to.importCheckpoint(paths.target, counter), exported.done])
  ctx.progress.end({keep: streamed > 0})
  if (source.status === 'rejected') throw source.reason
  if (imported.status === 'rejected') throw imported.reason
  return {method: 'stream', bytes: imported.value.bytes, files: imported.value.files}
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`
}
