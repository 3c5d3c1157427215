// Where processes run. A host kind (local, ssh; slurm later) implements Executor; the
// run lifecycle code never knows which kind it talks to. Every method that touches several runs
// takes them all at once, so a remote kind can serve a whole sync with one round trip.

export interface LaunchSpec {
  runId: string
  runDir: string
  /** Files to write into the run dir before starting (config.json, control.json, command.sh…). */
  files: Record<string, string>
  /** The environment of the wrapper (and so of the trainer); undefined: autolab's own. */
  env?: Record<string, string>
}

/** What sync needs to know about one run: new bytes of its JSONL files, liveness, exit code. */
export interface RunProbeRequest {
  runId: string
  runDir: string
  pid: number | null
  /** Byte offsets already ingested, per file name (metrics.jsonl, samples.jsonl, events.jsonl). */
  offsets: Record<string, number>
}

export interface RunProbe {
  runId: string
  /**
   * The run's process group still has a member: the wrapper, or (when only the wrapper was
   * killed) a trainer process of the group carrying the run's marker. A run is its process group.
   */
  alive: boolean
  /** Contents of exit_code, when the wrapper wrote it. */
  exitCode: number | null
  /** New bytes per file, starting at the requested offset; at most PROBE_MAX_BYTES each (the rest comes next time). */
  deltas: Record<string, Buffer>
  /** Last lines of stderr.log, only when the run has exited. */
  stderrTail: string | null
}

export type GroupSignal = 'TERM' | 'KILL'

export interface Executor {
  readonly hostId: string
  /** Absolute path of a run's directory on the host. */
  runDir(runId: string): string
  /** Create the run dir, write the files and start the wrapper; resolves once the process exists. */
  launch(spec: LaunchSpec): Promise<{pid: number}>
  /** Replace one file in a run dir atomically (temp file + rename). */
  writeFileAtomic(runDir: string, name: string, content: string): Promise<void>
  probe(requests: RunProbeRequest[]): Promise<RunProbe[]>
  /** Is the wrapper of this run dir alive under this pid (pid and marker both match)? */
  isAlive(pid: number, runDir: string): Promise<boolean>
  /** Signal the run's whole process group; false if it was already gone. */
  signalGroup(pid: number, runDir: string, signal: GroupSignal): Promise<boolean>
  /**
   * Give `target` its own copy of the checkpoint directory `source`: hard links (constant time
   * in checkpoint size) unless `copy` is set or links are impossible (another filesystem), then
   * a full copy. The source files are made read-only first: a checkpoint is immutable once
   * announced, and hard-linked files are shared, so neither run may alter them.
   */
  materializeCheckpoint(source: string, target: string, options: {copy: boolean; sourceRunDir: string}): Promise<{method: 'hardlink' | 'copy'; bytes: number; files: number}>
  /**
   * Check a checkpoint path a trainer announced (relative to its run dir, or absolute): it must
   * exist and resolve, symlinks followed, inside the run dir, with no symlink in it leading out.
   * Returns the path under the run dir and its size, or why it is refused.
   */
  inspectCheckpoint(runDir: string, announced: string): Promise<CheckpointCheck>
  /**
   * At most the first `maxBytes` bytes of a regular file on the host (an eval's result.json and
   * examples.jsonl), or null when there is none (missing, a directory, a link to elsewhere is
   * followed like cat would). Ask for one byte more than you accept to tell "too large".
   */
  readFile(path: string, maxBytes: number): Promise<Buffer | null>
  /** The wrapper's pid file (its process group id), or null before the wrapper wrote it. */
  readPid(runDir: string): Promise<number | null>
  /**
   * Create a new run's directory exclusively (never reuse one: it may belong to a lost store or
   * another store sharing the root) and write its marker into it. CONFLICT if it exists.
   */
  createRunDir(runDir: string, marker: RunDirMarker): Promise<void>
  /** The marker of a run dir, or null when it has none (or an unreadable one). */
  readRunDirMarker(runDir: string): Promise<RunDirMarker | null>
  removeRunDir(runDir: string): Promise<void>
  /** Names of the run directories under the host root (for doctor's orphan check). */
  listRunDirs(): Promise<string[]>
  /** Processes on the host started for a run dir under this host's root (from their environment). */
  listTrainerProcesses(): Promise<TrainerProcess[]>
  /**
   * A checkpoint directory as a tar stream, for a fork onto another host (checked like
   * materializeCheckpoint first). `done` settles when the archive is complete, or fails.
   */
  exportCheckpoint(source: string, options: {sourceRunDir: string}): Promise<{stream: NodeJS.ReadableStream; done: Promise<void>}>
  /**
   * Unpack a tar stream into `target` (a new directory): into a temp directory first, renamed
   * into place only when complete, so a failure leaves no partial checkpoint. Files end read-only.
   */
  importCheckpoint(target: string, stream: NodeJS.ReadableStream): Promise<{bytes: number; files: number}>
  /**
   * Make sure the host answers (an SSH host: connected, its key verified) before a command
   * changes a run's state: a host that cannot be reached is then the command's answer, with
   * nothing changed. Resolves at once for the local host.
   */
  reach(): Promise<void>
  /** Release what the executor holds (an SSH connection); called at the end of every command. */
  close(): void
}

/** Written into every run dir at creation: which store and run it belongs to. */
export interface RunDirMarker {
  store_id: string
  run_id: string
  created_at: string
}

/** The marker's file name in a run dir. */
export const RUN_DIR_MARKER = 'autolab-run.json'

export interface TrainerProcess {
  pid: number
  /** Its process group: what kill signals. */
  pgid: number
  run_dir: string
  /** AUTOLAB_STORE_ID of its environment (null for runs launched before it existed). */
  store_id: string | null
}

/** What a host found at an announced checkpoint path. */
export type CheckpointCheck = {ok: true; path: string; bytes: number} | {ok: false; reason: string}

/** A probe returns at most this many new bytes per file: memory stays bounded, the rest comes at the next sync. */
export const PROBE_MAX_BYTES = 8 << 20

/** Files the trainer appends to, in ingest order (events last: they refer to checkpoints). */
export const TELEMETRY_FILES = ['metrics.jsonl', 'samples.jsonl', 'events.jsonl'] as const

/**
 * The launch wrapper, POSIX sh only (GPU hosts may have no Node). Started as the leader of a
 * new session/process group, it runs command.sh with the logs redirected, writes `pid` (its own
 * pid, which is the process group id) and, when the trainer ends, `exit_code`. TERM/INT/HUP are
 * trapped with a no-op (not ignored: ignored signals would be inherited by the trainer) so the
 * wrapper outlives a group signal long enough to record the trainer's exit status.
 */
export const LAUNCH_WRAPPER = `#!/bin/sh
# autolab launch wrapper: sh <run dir>/launch.sh
cd "$(dirname "$0")" || exit 97
rm -f exit_code exit_code.tmp
trap ':' TERM INT HUP
sh ./command.sh >>stdout.log 2>>stderr.log </dev/null &
child=$!
echo "$$" > pid.tmp && mv pid.tmp pid
while :; do
  wait "$child"; code=$?
  kill -0 "$child" 2>/dev/null || break
done
echo "$code" > exit_code.tmp && mv exit_code.tmp exit_code
`
