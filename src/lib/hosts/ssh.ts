// An SSH host: runs are processes on a remote machine that has only sh and coreutils (no Node),
// driven over one ssh2 connection per command (ssh-connection.ts). SKELETON: being written.
import type {CheckpointCheck, Executor, GroupSignal, LaunchSpec, RunDirMarker, RunProbe, RunProbeRequest, TrainerProcess} from './executor.js'
import type {SshConnection} from './ssh-connection.js'

export class SshExecutor implements Executor {
  private connection: Promise<SshConnection> | null = null

  constructor(readonly hostId: string, private readonly root: string, private readonly connect: () => Promise<SshConnection>) {}

  /** The command's one connection to the host, opened on first use. */
  protected conn(): Promise<SshConnection> {
    this.connection ??= this.connect()
    return this.connection
  }

  runDir(runId: string): string {
    return `${this.root}/runs/${runId}`
  }

  launch(_spec: LaunchSpec): Promise<{pid: number}> { throw new Error('not yet') }
  writeFileAtomic(_runDir: string, _name: string, _content: string): Promise<void> { throw new Error('not yet') }
  probe(_requests: RunProbeRequest[]): Promise<RunProbe[]> { throw new Error('not yet') }
  isAlive(_pid: number, _runDir: string): Promise<boolean> { throw new Error('not yet') }
  signalGroup(_pid: number, _runDir: string, _signal: GroupSignal): Promise<boolean> { throw new Error('not yet') }
  materializeCheckpoint(_source: string, _target: string, _options: {copy: boolean; sourceRunDir: string}): Promise<{method: 'hardlink' | 'copy'; bytes: number; files: number}> { throw new Error('not yet') }
  inspectCheckpoint(_runDir: string, _announced: string): Promise<CheckpointCheck> { throw new Error('not yet') }
  readPid(_runDir: string): Promise<number | null> { throw new Error('not yet') }
  createRunDir(_runDir: string, _marker: RunDirMarker): Promise<void> { throw new Error('not yet') }
  readRunDirMarker(_runDir: string): Promise<RunDirMarker | null> { throw new Error('not yet') }
  removeRunDir(_runDir: string): Promise<void> { throw new Error('not yet') }
  listRunDirs(): Promise<string[]> { throw new Error('not yet') }
  listTrainerProcesses(): Promise<TrainerProcess[]> { throw new Error('not yet') }
  exportCheckpoint(_source: string, _options: {sourceRunDir: string}): Promise<{stream: NodeJS.ReadableStream; done: Promise<void>}> { throw new Error('not yet') }
  importCheckpoint(_target: string, _stream: NodeJS.ReadableStream): Promise<{bytes: number; files: number}> { throw new Error('not yet') }

  close(): void {
    this.connection?.then((c) => c.close(), () => undefined)
  }
}
