// The local host: runs are processes on this machine, started through the sh wrapper.
import {chmodSync, closeSync, copyFileSync, existsSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, realpathSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'
import {AutolabError} from '../output/errors.js'
import {safeName} from '../shell.js'
import {type CheckpointCheck, type Executor, type GroupSignal, LAUNCH_WRAPPER, type LaunchSpec, PROBE_MAX_BYTES, RUN_DIR_MARKER, type RunDirMarker, type RunProbe, type RunProbeRequest, TELEMETRY_FILES, type TrainerProcess} from './executor.js'
import {tarStream, untarInto} from './local-tar.js'
import {processGroupOf, processIds, trainerProcessesUnder} from './trainer-processes.js'

const STDERR_TAIL_BYTES = 4096

export class LocalExecutor implements Executor {
  constructor(readonly hostId: string, private readonly root: string) {}

  runDir(runId: string): string {
    return resolve(this.root, 'runs', safeName('run id', runId))
  }

  async launch(spec: LaunchSpec): Promise<{pid: number}> {
    mkdirSync(spec.runDir, {recursive: true})
    for (const [name, content] of Object.entries({...spec.files, 'launch.sh': LAUNCH_WRAPPER})) {
      writeAtomic(join(spec.runDir, name), content)
    }
    // detached: the wrapper becomes a session and process-group leader, so the group can be
    // signalled as one and the run outlives this CLI process.
    // Loaded here, not at the top: child_process costs ~5 ms and most commands start nothing.
    const {spawn} = process.getBuiltinModule('node:child_process')
    // /bin/sh by its path: the run's environment may have no PATH to find it by.
    const child = spawn('/bin/sh', [join(spec.runDir, 'launch.sh')], {cwd: spec.runDir, detached: true, stdio: 'ignore', env: spec.env ?? process.env})
    await new Promise<void>((resolveSpawn, reject) => {
      child.once('spawn', resolveSpawn)
      child.once('error', (error) => reject(new AutolabError('LAUNCH_FAILED', `Cannot start sh for run ${spec.runId}: ${error.message}`, {cause: error})))
    })
    child.unref()
    return {pid: child.pid!}
  }

  async writeFileAtomic(runDir: string, name: string, content: string): Promise<void> {
    writeAtomic(join(runDir, name), content)
  }

  async probe(requests: RunProbeRequest[]): Promise<RunProbe[]> {
    return requests.map((request) => this.probeOne(request))
  }

  /**
   * Order matters: liveness first, then the data, then exit_code. A process seen dead has
   * written everything it will ever write, so the deltas read after are complete; and the
   * wrapper writes exit_code before it exits, so "dead and no exit_code" really means lost.
   */
  probeOne(request: RunProbeRequest): RunProbe {
    const alive = request.pid !== null && isGroupAlive(request.pid, request.runDir)
    const deltas: Record<string, Buffer> = {}
    for (const file of TELEMETRY_FILES) {
      const data = readFrom(join(request.runDir, file), request.offsets[file] ?? 0, PROBE_MAX_BYTES)
      if (data.length > 0) deltas[file] = data
    }
    const exitCode = readExitCode(request.runDir)
    const ended = exitCode !== null || !alive
    return {
      runId: request.runId,
      alive,
      exitCode,
      deltas,
      stderrTail: ended ? readTail(join(request.runDir, 'stderr.log'), STDERR_TAIL_BYTES) : null,
    }
  }

  async isAlive(pid: number, runDir: string): Promise<boolean> {
    return isGroupAlive(pid, runDir)
  }

  async signalGroup(pid: number, runDir: string, signal: GroupSignal): Promise<boolean> {
    // Never signal a group that is not ours any more: pids are reused.
    if (!isGroupAlive(pid, runDir)) return false
    try {
      process.kill(-pid, `SIG${signal}`)
      return true
    } catch {
      return false
    }
  }

  async materializeCheckpoint(source: string, target: string, options: {copy: boolean; sourceRunDir: string}): Promise<{method: 'hardlink' | 'copy'; bytes: number; files: number}> {
    this.checkForkable(source, options.sourceRunDir)
    const temp = `${target}.tmp-${process.pid}`
    rmSync(temp, {recursive: true, force: true})
    let method: 'hardlink' | 'copy' = options.copy ? 'copy' : 'hardlink'
    const stats = {bytes: 0, files: 0}
    const walk = (from: string, to: string): void => {
      mkdirSync(to, {recursive: true})
      for (const entry of readdirSync(from, {withFileTypes: true})) {
        const src = join(from, entry.name)
        const dst = join(to, entry.name)
        if (entry.isDirectory()) {
          walk(src, dst)
          continue
        }
        if (entry.isSymbolicLink()) {
          // Inside the run dir (inspectCheckpointPath checked it): keep it a link, and never chmod through it.
          symlinkSync(readlinkSync(src), dst)
          continue
        }
        if (!entry.isFile()) continue
        chmodSync(src, statSync(src).mode & 0o555)
        stats.bytes += statSync(src).size
        stats.files++
        if (method === 'hardlink') {
          try {
            linkSync(src, dst)
            continue
          } catch (error) {
            // Another filesystem, or links not allowed: copy this file and every later one.
            if (!['EXDEV', 'EPERM', 'EMLINK', 'ENOTSUP'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error
            method = 'copy'
          }
        }
        copyFileSync(src, dst)
        chmodSync(dst, statSync(dst).mode & 0o555)
      }
    }
    walk(source, temp)
    mkdirSync(dirname(target), {recursive: true})
    renameSync(temp, target)
    return {method, ...stats}
  }

  /**
   * Checked again here, not only at ingest: the trainer may have swapped the directory since,
   * and a store written by an older autolab may hold a path that was never checked.
   */
  private checkForkable(source: string, sourceRunDir: string): void {
    if (!existsSync(source)) throw new AutolabError('NO_CHECKPOINT', `Checkpoint directory ${source} is missing on host ${this.hostId}.`, {details: {path: source}})
    const check = inspectCheckpointPath(sourceRunDir, source)
    if (!check.ok) {
      throw new AutolabError('RUN_NOT_FORKABLE', `Checkpoint ${source} cannot be used: ${check.reason}.`, {
        details: {path: source, run_dir: sourceRunDir}, suggestedAction: 'Fork from another checkpoint step of the run (see `autolab show <run>`).',
      })
    }
  }

  async listRunDirs(): Promise<string[]> {
    try {
      return readdirSync(join(this.root, 'runs'), {withFileTypes: true}).filter((e) => e.isDirectory()).map((e) => e.name)
    } catch {
      return []
    }
  }

  async inspectCheckpoint(runDir: string, announced: string): Promise<CheckpointCheck> {
    return inspectCheckpointPath(runDir, announced)
  }

  async readFile(path: string, maxBytes: number): Promise<Buffer | null> {
    return readFilePrefix(path, maxBytes)
  }

  async readPid(runDir: string): Promise<number | null> {
    try {
      const pid = Number.parseInt(readFileSync(join(runDir, 'pid'), 'utf8'), 10)
      return Number.isFinite(pid) ? pid : null
    } catch {
      return null
    }
  }

  async createRunDir(runDir: string, marker: RunDirMarker): Promise<void> {
    mkdirSync(dirname(runDir), {recursive: true})
    try {
      mkdirSync(runDir)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      throw new AutolabError('CONFLICT', `Run directory ${runDir} exists already; autolab never reuses one.`, {
        retryable: true, details: {run_dir: runDir}, suggestedAction: 'Retry: the next run id will be used. `autolab doctor` reports directories that belong to no run of this store.',
      })
    }
    writeAtomic(join(runDir, RUN_DIR_MARKER), `${JSON.stringify(marker)}\n`)
  }

  async readRunDirMarker(runDir: string): Promise<RunDirMarker | null> {
    return parseRunDirMarker(readSmallFile(join(runDir, RUN_DIR_MARKER)))
  }

  async listTrainerProcesses(): Promise<TrainerProcess[]> {
    return trainerProcessesUnder(join(resolve(this.root), 'runs'))
  }

  async exportCheckpoint(source: string, options: {sourceRunDir: string}): Promise<{stream: NodeJS.ReadableStream; done: Promise<void>}> {
    this.checkForkable(source, options.sourceRunDir)
    return tarStream(source)
  }

  async importCheckpoint(target: string, stream: NodeJS.ReadableStream): Promise<{bytes: number; files: number}> {
    return untarInto(target, stream)
  }

  async reach(): Promise<void> {
    // always here
  }

  close(): void {
    // nothing held
  }

  async removeRunDir(runDir: string): Promise<void> {
    // Checkpoint files are read-only; their directories are not, so removal works as usual.
    rmSync(runDir, {recursive: true, force: true})
  }
}

/**
 * Temp file + rename. The run dir is shared with the trainer, which could have put a symlink at
 * the temp name: it is removed (the link, not its target) and the file created exclusively, so
 * the write never goes through a link; rename replaces a link at `path` rather than following it.
 */
function writeAtomic(path: string, content: string): void {
  const temp = `${path}.tmp-${process.pid}`
  rmSync(temp, {force: true})
  writeFileSync(temp, content, {flag: 'wx'})
  renameSync(temp, path)
}

/** pid alive *and* its command line names this run dir (the wrapper is `sh <run dir>/launch.sh`). */
export function isWrapperAlive(pid: number, runDir: string): boolean {
  try {
    process.kill(pid, 0)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  try {
    // A zombie has an empty cmdline, so it does not count as alive.
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(join(runDir, 'launch.sh'))
  } catch {
    return false
  }
}

/**
 * The run's process group still has a member: the wrapper itself, or (if the wrapper was killed
 * on its own) a process of the group whose environment carries the run's AUTOLAB_RUN_DIR.
 */
export function isGroupAlive(pgid: number, runDir: string): boolean {
  if (isWrapperAlive(pgid, runDir)) return true
  const marker = `AUTOLAB_RUN_DIR=${runDir}\0`
  for (const entry of processIds()) {
    try {
      if (processGroupOf(entry) === pgid && readFileSync(`/proc/${entry}/environ`, 'utf8').includes(marker)) return true
    } catch {
      // the process ended while we looked
    }
  }
  return false
}

/** A marker file's content, validated (it lives in a directory trainers can write to). */
export function parseRunDirMarker(text: string | null): RunDirMarker | null {
  if (text === null) return null
  try {
    const m = JSON.parse(text) as Partial<RunDirMarker> | null
    if (m && typeof m.store_id === 'string' && typeof m.run_id === 'string' && typeof m.created_at === 'string') return {store_id: m.store_id, run_id: m.run_id, created_at: m.created_at}
  } catch {
    // not JSON: no marker
  }
  return null
}

/** The first maxBytes bytes of a regular file, or null when it is not one (or cannot be read). */
function readFilePrefix(path: string, maxBytes: number): Buffer | null {
  let fd: number
  try {
    if (!statSync(path).isFile()) return null
    fd = openSync(path, 'r')
  } catch {
    return null
  }
  try {
    const buffer = Buffer.alloc(maxBytes)
    let length = 0
    while (length < maxBytes) {
      const read = readSync(fd, buffer, length, maxBytes - length, null)
      if (read === 0) break
      length += read
    }
    return buffer.subarray(0, length)
  } catch {
    return null
  } finally {
    closeSync(fd)
  }
}

function readSmallFile(path: string, maxBytes = 65_536): string | null {
  try {
    if (statSync(path).size > maxBytes) return null
    return readFileSync(path, 'utf8')
  } catch {
    return null
  }
}

/**
 * A checkpoint path a trainer announced, checked on this machine: it must exist and resolve
 * (symlinks followed) strictly inside the run dir, and no symlink under it may lead out of the
 * run dir — otherwise fork would hard-link (and make read-only) files that belong to someone else.
 */
export function inspectCheckpointPath(runDir: string, announced: string): CheckpointCheck {
  let realRunDir: string
  let real: string
  try {
    realRunDir = realpathSync(runDir)
    real = realpathSync(resolve(runDir, announced))
  } catch {
    return {ok: false, reason: 'no such file or directory in the run directory'}
  }
  const inside = (path: string) => path.startsWith(`${realRunDir}/`)
  if (!inside(real)) return {ok: false, reason: 'it resolves outside the run directory'}
  let bytes = 0
  const walk = (path: string): string | null => {
    const stat = lstatSync(path)
    if (stat.isSymbolicLink()) {
      let target: string
      try {
        target = realpathSync(path)
      } catch {
        return `the link ${path} leads nowhere`
      }
      return inside(target) ? null : `the link ${path} leads outside the run directory`
    }
    if (stat.isDirectory()) {
      for (const name of readdirSync(path)) {
        const problem = walk(join(path, name))
        if (problem) return problem
      }
      return null
    }
    bytes += stat.size
    return null
  }
  try {
    const problem = walk(real)
    if (problem) return {ok: false, reason: problem}
  } catch (error) {
    return {ok: false, reason: `unreadable: ${(error as Error).message}`}
  }
  return {ok: true, path: join(runDir, relative(realRunDir, real)), bytes}
}

function readFrom(path: string, offset: number, maxBytes = Number.POSITIVE_INFINITY): Buffer {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch {
    return Buffer.alloc(0)
  }
  try {
    const size = statSync(path).size
    if (size <= offset) return Buffer.alloc(0)
    const buffer = Buffer.allocUnsafe(Math.min(size - offset, maxBytes))
    let read = 0
    while (read < buffer.length) {
      const n = readSync(fd, buffer, read, buffer.length - read, offset + read)
      if (n === 0) break
      read += n
    }
    return buffer.subarray(0, read)
  } finally {
    closeSync(fd)
  }
}

function readExitCode(runDir: string): number | null {
  const path = join(runDir, 'exit_code')
  if (!existsSync(path)) return null
  const code = Number.parseInt(readFileSync(path, 'utf8').trim(), 10)
  return Number.isFinite(code) ? code : null
}

export function readTail(path: string, bytes: number): string | null {
  try {
    const size = statSync(path).size
    const data = readFrom(path, Math.max(0, size - bytes)).toString('utf8')
    return data.trim() === '' ? null : data.trimEnd()
  } catch {
    return null
  }
}
