// An SSH host: runs are processes on a remote machine that has only sh and coreutils (no Node),
// driven over one ssh2 connection per command (ssh-connection.ts). Each method is one script run
// in the connection's session shell (remote-scripts.ts, remote-checkpoint-scripts.ts), with the
// same semantics as LocalExecutor; streams (checkpoint tar) use their own channel.
import {nodeCrypto} from '../lazy-modules.js'
import {AutolabError} from '../output/errors.js'
import {safeName} from '../shell.js'
import {type CheckpointCheck, type Executor, type GroupSignal, type LaunchSpec, RUN_DIR_MARKER, type RunDirMarker, type RunProbe, type RunProbeRequest, type TrainerProcess} from './executor.js'
import {parseRunDirMarker} from './local.js'
import {checkScript, exportCommand, importAbortScript, importCommitScript, importScript, materializeScript} from './remote-checkpoint-scripts.js'
import {aliveScript, createRunDirScript, launchScript, listRunDirsScript, listTrainerProcessesScript, probeScript, readFilePrefixScript, readSmallFileScript, type RemoteScript, removeRunDirScript, signalScript, trainersUnder, writeFileScript} from './remote-scripts.js'
import type {RemoteShell} from './ssh-mux.js'
import {pipeIntoChannel, readChannel} from './ssh-streams.js'

/** After a failed connect, calls fail at once with the same error for this long, then try again. */
const RETRY_CONNECT_MS = 10_000

export class SshExecutor implements Executor {
  private connection: Promise<RemoteShell> | null = null
  private opened: RemoteShell | null = null
  private retryAt: number | null = null

  constructor(readonly hostId: string, private readonly root: string, private readonly connect: () => Promise<RemoteShell>) {}

  /**
   * The command's one connection to the host, opened on first use. A long command (wait, tick
   * on a slow host) may outlive it: a lost connection is opened again, and a failed attempt is
   * retried after RETRY_CONNECT_MS rather than at every poll.
   */
  protected conn(): Promise<RemoteShell> {
    if (this.connection && ((this.retryAt !== null && Date.now() >= this.retryAt) || this.opened?.isOpen === false)) this.connection = null
    if (!this.connection) {
      this.opened = null
      this.retryAt = null
      const attempt = this.connect()
      attempt.then((c) => (this.opened = c), () => (this.retryAt = Date.now() + RETRY_CONNECT_MS))
      this.connection = attempt
    }
    return this.connection
  }

  runDir(runId: string): string {
    return `${this.root}/runs/${safeName('run id', runId)}`
  }

  /** Run one script and read its answer with its own parser; a script that fails is an error naming the host. */
  private async run<T>(remote: RemoteScript<T>): Promise<T> {
    const connection = await this.conn()
    const result = await connection.exec(remote.script, {maxStdout: remote.maxStdout})
    if (result.code !== 0) {
      const stderr = result.stderr.trim().slice(-1000)
      const details = {host: this.hostId, script: remote.name, exit_code: result.code, stderr}
      if (/No space left on device/.test(stderr)) throw new AutolabError('DISK_FULL', `Host ${this.hostId}: the disk is full (${remote.name}): ${stderr}`, {details})
      throw new AutolabError('INTERNAL', `Host ${this.hostId}: the ${remote.name} script failed (exit ${result.code})${stderr ? `: ${stderr}` : ''}.`, {details})
    }
    return remote.parse(result.stdout, this.hostId)
  }

  async launch(spec: LaunchSpec): Promise<{pid: number}> {
    let answer: {pid: number} | {failed: string}
    try {
      answer = await this.run(launchScript(spec))
    } catch (error) {
      // A host we cannot reach stays retryable; anything else kept the wrapper from starting.
      if (error instanceof AutolabError && ['HOST_UNREACHABLE', 'DISK_FULL', 'INVALID_ARGUMENT'].includes(error.code)) throw error
      throw new AutolabError('LAUNCH_FAILED', `Cannot start run ${spec.runId} on host ${this.hostId}: ${(error as Error).message}`, {cause: error, details: {host: this.hostId}})
    }
    if ('failed' in answer) throw new AutolabError('LAUNCH_FAILED', `Cannot start run ${spec.runId} on host ${this.hostId}: ${answer.failed}.`, {details: {host: this.hostId, run_dir: spec.runDir}})
    return answer
  }

  async writeFileAtomic(runDir: string, name: string, content: string): Promise<void> {
    await this.run(writeFileScript(runDir, name, content))
  }

  async probe(requests: RunProbeRequest[]): Promise<RunProbe[]> {
    if (requests.length === 0) return []
    return this.run(probeScript(requests))
  }

  async isAlive(pid: number, runDir: string): Promise<boolean> {
    if (!Number.isSafeInteger(pid) || pid <= 0) return false
    return this.run(aliveScript(pid, runDir))
  }

  async signalGroup(pid: number, runDir: string, signal: GroupSignal): Promise<boolean> {
    if (!Number.isSafeInteger(pid) || pid <= 0) return false
    return this.run(signalScript(pid, runDir, signal))
  }

  async materializeCheckpoint(source: string, target: string, options: {copy: boolean; sourceRunDir: string}): Promise<{method: 'hardlink' | 'copy'; bytes: number; files: number}> {
    const answer = await this.run(materializeScript(source, target, {...options, nonce: nodeCrypto().randomBytes(6).toString('hex')}))
    if ('missing' in answer) throw noCheckpoint(source, this.hostId)
    if ('refused' in answer) throw notForkable(source, options.sourceRunDir, answer.refused)
    return answer
  }

  async inspectCheckpoint(runDir: string, announced: string): Promise<CheckpointCheck> {
    const check = await this.run(checkScript(runDir, announced))
    return check.ok ? check : {ok: false, reason: check.reason}
  }

  async readFile(path: string, maxBytes: number): Promise<Buffer | null> {
    return this.run(readFilePrefixScript(path, maxBytes))
  }

  async readPid(runDir: string): Promise<number | null> {
    const data = await this.run(readSmallFileScript(`${runDir}/pid`, 32))
    if (data === null) return null
    const pid = Number.parseInt(data.toString('latin1'), 10)
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null
  }

  async createRunDir(runDir: string, marker: RunDirMarker): Promise<void> {
    const verdict = await this.run(createRunDirScript(runDir, `${JSON.stringify(marker)}\n`, RUN_DIR_MARKER))
    if (verdict === 'exists') {
      // The same error as LocalExecutor.createRunDir: callers retry with the next run id.
      throw new AutolabError('CONFLICT', `Run directory ${runDir} exists already; autolab never reuses one.`, {
        retryable: true, details: {run_dir: runDir}, suggestedAction: 'Retry: the next run id will be used. `autolab doctor` reports directories that belong to no run of this store.',
      })
    }
  }

  async readRunDirMarker(runDir: string): Promise<RunDirMarker | null> {
    const data = await this.run(readSmallFileScript(`${runDir}/${RUN_DIR_MARKER}`, 65_536))
    return parseRunDirMarker(data === null ? null : data.toString('utf8'))
  }

  async removeRunDir(runDir: string): Promise<void> {
    await this.run(removeRunDirScript(runDir))
  }

  async listRunDirs(): Promise<string[]> {
    return this.run(listRunDirsScript(this.root))
  }

  async listTrainerProcesses(): Promise<TrainerProcess[]> {
    return trainersUnder(`${this.root}/runs`, await this.run(listTrainerProcessesScript()))
  }

  async exportCheckpoint(source: string, options: {sourceRunDir: string}): Promise<{stream: NodeJS.ReadableStream; done: Promise<void>}> {
    const check = await this.run(checkScript(options.sourceRunDir, source))
    if (!check.ok) throw 'missing' in check ? noCheckpoint(source, this.hostId) : notForkable(source, options.sourceRunDir, check.reason)
    const channel = await (await this.conn()).channel(exportCommand(source))
    channel.end() // tar reads nothing
    const done = readChannel(channel, {hostId: this.hostId, what: `the export of ${source}`, keepStdout: false}).then(() => undefined)
    done.catch(() => undefined) // a caller that only reads the stream must not see an unhandled rejection
    return {stream: channel, done}
  }

  async importCheckpoint(target: string, stream: NodeJS.ReadableStream): Promise<{bytes: number; files: number}> {
    const temp = `${target}.tmp-${nodeCrypto().randomBytes(6).toString('hex')}`
    const unpack = importScript(temp)
    const connection = await this.conn()
    const channel = await connection.channel(unpack.command)
    const [fed, result] = await Promise.allSettled([
      pipeIntoChannel(stream, channel),
      readChannel(channel, {hostId: this.hostId, what: `the import into ${target}`, keepStdout: true, maxStdout: unpack.maxStdout}),
    ])
    if (fed.status === 'fulfilled' && result.status === 'fulfilled') {
      const counts = unpack.parse(result.value, this.hostId)
      await this.run(importCommitScript(temp, target))
      return counts
    }
    // The stream broke or tar failed: tar may have unpacked a prefix, so the temp dir goes.
    await this.run(importAbortScript(temp)).catch(() => undefined)
    const failure = fed.status === 'rejected' ? fed.reason : (result as PromiseRejectedResult).reason
    if (failure instanceof AutolabError) throw failure
    throw new AutolabError('HOST_UNREACHABLE', `The checkpoint stream into ${target} on host ${this.hostId} broke: ${(failure as Error).message}; nothing was kept.`, {cause: failure, details: {host: this.hostId, path: target}})
  }

  async reach(): Promise<void> {
    await this.conn()
  }

  close(): void {
    this.connection?.then((c) => c.close(), () => undefined)
  }
}

function noCheckpoint(path: string, hostId: string): AutolabError {
  return new AutolabError('NO_CHECKPOINT', `Checkpoint directory ${path} is missing on host ${hostId}.`, {details: {path}})
}

function notForkable(path: string, runDir: string, reason: string): AutolabError {
  return new AutolabError('RUN_NOT_FORKABLE', `Checkpoint ${path} cannot be used: ${reason}.`, {
    details: {path, run_dir: runDir}, suggestedAction: 'Fork from another checkpoint step of the run (see `autolab show <run>`).',
  })
}
