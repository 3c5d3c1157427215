// The sh scripts an SSH host runs for a run's lifecycle (launch, probe, liveness, signals, run
// dirs, files), each with the one parser of its answer. Every value goes into a script through
// shellQuote; file contents go through a base64 heredoc; answers come back in the line frame of
// remote-frame.ts. Checkpoint scripts are in remote-checkpoint-scripts.ts.
import {AutolabError} from '../output/errors.js'
import {type GroupSignal, LAUNCH_WRAPPER, type LaunchSpec, PROBE_MAX_BYTES, type RunProbe, type RunProbeRequest, TELEMETRY_FILES, type TrainerProcess} from './executor.js'
import {countField, decodeField, frameLines, heredoc, livenessPatterns, outOfFrame, pidFrom, PRELUDE, q} from './remote-frame.js'

/** A script, how much answer it may send, and the one function that reads that answer. */
export interface RemoteScript<T> {
  name: string
  script: string
  maxStdout: number
  parse(stdout: Buffer, hostId: string): T
}

/** All the telemetry one probe call may carry (raw bytes); runs past it get their data at the next sync. */
export const PROBE_BUDGET_BYTES = 32 << 20
const STDERR_TAIL_BYTES = 4096
const EXIT_CODE_MAX_BYTES = 64
const LAUNCH_WAIT_TICKS = 1000 // × 10 ms: the wrapper writes pid right after starting the trainer

function checkedPid(pid: number): string {
  if (!Number.isSafeInteger(pid) || pid <= 0) throw new AutolabError('INVALID_ARGUMENT', `Invalid pid ${pid}.`)
  return String(pid)
}

// ---- probe: one exec for a whole sync, whatever the number of runs ----

/**
 * In three passes, each in the order local probeOne keeps per run (liveness, data, exit_code and
 * stderr tail): a process seen dead has written all it will write, so data read after it is
 * complete. Cheap when nothing is new, since a sync polls many idle runs: liveness uses only sh
 * builtins (the slow exact check runs only when the wrapper is gone), one `wc` sizes every file,
 * and only files that grew are read — each into a temp file (one dd, or tail|head), then all of
 * them sent as one base64 blob whose pieces the `S` lines measure after the fact, so a file that
 * changes under the read can shorten its own piece but never shift another run's.
 */
export function probeScript(requests: RunProbeRequest[], budget = PROBE_BUDGET_BYTES): RemoteScript<RunProbe[]> {
  const liveness: string[] = []
  const sizes: string[] = []
  const exits: string[] = []
  requests.forEach((request, index) => {
    const dir = q(request.runDir)
    const pid = request.pid === null ? '' : checkedPid(request.pid)
    // The fast check compares the cmdline read by `read` (which drops its NUL bytes): exact for
    // any run dir without a newline; a dir with one takes the slow exact path only.
    const plain = request.runDir.includes('\n') ? "''" : q(`${request.runDir}/launch.sh`)
    liveness.push(`a=0; if [ -n ${q(pid)} ] && alive_fast ${q(pid)} ${plain} ${livenessPatterns(request.runDir).map(q).join(' ')}; then a=1; fi; printf 'R ${index}\\nA ${index} %s\\n' "$a"; a${index}=$a`)
    TELEMETRY_FILES.forEach((file, j) => {
      const offset = request.offsets[file] ?? 0
      if (!Number.isSafeInteger(offset) || offset < 0) throw new AutolabError('INVALID_ARGUMENT', `Invalid offset ${offset} of ${file} for run ${request.runId}.`)
      sizes.push(`p_${index}_${j}=${dir}/${file}; if [ -f "$p_${index}_${j}" ]; then set -- "$@" "$p_${index}_${j}"; echo '${index} ${j} ${offset}' >&5; fi`)
    })
    exits.push(`x=0; if [ -f ${dir}/exit_code ]; then x=1; printf 'X ${index} '; head -c ${EXIT_CODE_MAX_BYTES} -- ${dir}/exit_code | base64 -w0; echo; fi
if [ "$x" = 1 ] || [ "$a${index}" = 0 ]; then printf 'E ${index} '; tail -c ${STDERR_TAIL_BYTES} -- ${dir}/stderr.log 2>/dev/null | base64 -w0; echo; fi`)
  })
  const script = `${PRELUDE}
alive_fast() {
  if [ -n "$2" ] && kill -0 "$1" 2>/dev/null; then
    l=; { read -r l || :; } < "/proc/$1/cmdline" 2>/dev/null
    case $l in *"$2") return 0;; esac
  fi
  alive "$1" "$3" "$4"
}
case $T in /?*) ;; *) echo 'probe: the session has no scratch directory' >&2; exit 1;; esac
${liveness.join('\n')}
set --
exec 5>"$T/k"
${sizes.join('\n')}
exec 5>&-
: > "$T/w"; if [ $# -gt 0 ]; then wc -c -- "$@" > "$T/w" 2>/dev/null; fi
DD=0; if dd if=/dev/null of=/dev/null iflag=skip_bytes,count_bytes status=none 2>/dev/null; then DD=1; fi
budget=${budget}
set --
aligned=1
while read -r i j off <&3; do
  eval "path=\\$p_\${i}_\${j}"
  size=
  if [ "$aligned" = 1 ] && read -r size name <&4 && [ "$name" = "$path" ]; then :; else aligned=0; size=$(wc -c < "$path" 2>/dev/null) || continue; fi
  n=$((size - off)); [ "$n" -gt ${PROBE_MAX_BYTES} ] && n=${PROBE_MAX_BYTES}; [ "$n" -gt "$budget" ] && n=$budget
  [ "$n" -gt 0 ] || continue
  budget=$((budget - n))
  f="$T/q.$i.$j"
  if [ "$DD" = 1 ]; then dd if="$path" of="$f" bs=1M iflag=skip_bytes,count_bytes skip="$off" count="$n" status=none 2>/dev/null || continue
  else tail -c "+$((off + 1))" -- "$path" 2>/dev/null | head -c "$n" > "$f" || continue; fi
  set -- "$@" "$f"
done 3<"$T/k" 4<"$T/w"
if [ $# -gt 0 ]; then
  wc -c -- "$@" | while read -r size f; do case $f in "$T"/q.*) x=\${f##*/q.}; printf 'S %s %s %s\\n' "\${x%.*}" "\${x#*.}" "$size";; esac; done
  printf 'B '; cat -- "$@" | base64 -w0; echo
  rm -f -- "$@"
fi
${exits.join('\n')}
printf 'Z %s\\n' ${requests.length}
`
  return {
    name: 'probe',
    script,
    // base64 of the budget, plus per run its frame lines, stderr tail and exit code.
    maxStdout: 4 * Math.ceil(budget / 3) + requests.length * 8192 + 1024,
    parse: (stdout, hostId) => parseProbe(stdout, hostId, requests, budget),
  }
}

export function parseProbe(stdout: Buffer, hostId: string, requests: RunProbeRequest[], budget = PROBE_BUDGET_BYTES): RunProbe[] {
  const bad = (why: string) => outOfFrame(hostId, 'probe', why)
  const runs = requests.map(() => ({seen: false, alive: null as boolean | null, exit: null as Buffer | null, tail: null as Buffer | null, deltas: {} as Record<string, Buffer>}))
  const pieces: {run: number; file: string; bytes: number}[] = []
  let total = 0
  let blob: Buffer | null = null
  let ended = false
  for (const fields of frameLines(stdout, hostId, 'probe', requests.length * 9 + 2)) {
    if (ended) throw bad('lines after the end')
    const [kind, indexField] = fields
    if (kind === 'Z' && fields.length === 2) {
      if (countField(indexField) !== requests.length) throw bad('wrong run count')
      ended = true
      continue
    }
    if (kind === 'B' && fields.length === 2 && blob === null && pieces.length > 0) {
      // Checked before decoding: the pieces were measured and bounded first.
      blob = decodeField(fields[1], total)
      if (blob === null || blob.length !== total) throw bad('a blob that is not the size of its pieces')
      continue
    }
    const index = countField(indexField)
    const run = index === null ? undefined : runs[index]
    if (!run) throw bad(`no run ${JSON.stringify(indexField ?? '')}`)
    if (kind === 'R' && fields.length === 2 && !run.seen) {
      run.seen = true
    } else if (!run.seen) {
      throw bad('data before its run')
    } else if (kind === 'A' && fields.length === 3 && run.alive === null && (fields[2] === '0' || fields[2] === '1')) {
      run.alive = fields[2] === '1'
    } else if (kind === 'S' && fields.length === 4 && blob === null && /^[0-2]$/.test(fields[2])) {
      const file = TELEMETRY_FILES[Number(fields[2])]
      const bytes = countField(fields[3])
      if (bytes === null || bytes > PROBE_MAX_BYTES || total + bytes > budget || pieces.some((p) => p.run === index && p.file === file)) throw bad(`a bad or oversized delta of ${file}`)
      total += bytes
      pieces.push({run: index!, file, bytes})
    } else if (kind === 'X' && fields.length === 3 && run.exit === null) {
      run.exit = decodeField(fields[2], EXIT_CODE_MAX_BYTES)
      if (run.exit === null) throw bad('a bad exit code field')
    } else if (kind === 'E' && fields.length === 3 && run.tail === null) {
      run.tail = decodeField(fields[2], STDERR_TAIL_BYTES)
      if (run.tail === null) throw bad('a bad stderr tail field')
    } else {
      throw bad(`an unexpected ${JSON.stringify(kind.slice(0, 8))} line`)
    }
  }
  if (!ended) throw bad('the answer is cut short')
  if (pieces.length > 0 && blob === null) throw bad('deltas without their blob')
  let at = 0
  for (const piece of pieces) {
    if (piece.bytes > 0) runs[piece.run].deltas[piece.file] = blob!.subarray(at, at + piece.bytes)
    at += piece.bytes
  }
  return requests.map((request, index) => {
    const run = runs[index]
    if (run.alive === null) throw bad(`no liveness for run ${request.runId}`)
    const exitCode = run.exit === null ? null : exitCodeFrom(run.exit.toString('utf8'))
    const ended = exitCode !== null || !run.alive
    const tail = run.tail?.toString('utf8') ?? ''
    return {runId: request.runId, alive: run.alive, exitCode, deltas: run.deltas, stderrTail: ended && tail.trim() !== '' ? tail.trimEnd() : null}
  })
}

/** exit_code as local reads it (a leading integer), bounded to what a wait status can hold. */
function exitCodeFrom(text: string): number | null {
  const match = /^\s*(-?\d{1,10})/.exec(text)
  if (!match) return null
  const code = Number(match[1])
  return Math.abs(code) <= 0x7f_ff_ff_ff ? code : null
}

// ---- launch ----

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * Files first (atomically), then the wrapper in a new session detached from the SSH session
 * (setsid -f, no stdio), then a bounded wait for the `pid` it writes: that pid leads the group.
 * /bin/sh by path: under `env -i` there may be no PATH.
 */
export function launchScript(spec: LaunchSpec): RemoteScript<{pid: number} | {failed: string}> {
  const puts = Object.entries({...spec.files, 'launch.sh': LAUNCH_WRAPPER}).map(([name, content]) => heredoc(`put "$d" ${q(name)}`, content, ' || exit 1'))
  let env = ''
  if (spec.env) {
    const bad = Object.keys(spec.env).find((k) => !ENV_NAME.test(k))
    if (bad !== undefined) throw new AutolabError('INVALID_ARGUMENT', `Environment variable name ${JSON.stringify(bad)} of run ${spec.runId} is not a shell name.`)
    env = `env -i ${Object.entries(spec.env).map(([k, v]) => q(`${k}=${v}`)).join(' ')} `
  }
  const script = String.raw`${PRELUDE}
d=${q(spec.runDir)}
mkdir -p -- "$d" || exit 1
${puts.join('\n')}
rm -f -- "$d/pid" || exit 1
cd -- "$d" || exit 1
if ! setsid -f ${env}/bin/sh "$d/launch.sh" </dev/null >/dev/null 2>&1; then echo 'F setsid'; exit 0; fi
i=0
while [ ! -s "$d/pid" ]; do
  i=$((i + 1)); if [ "$i" -gt ${LAUNCH_WAIT_TICKS} ]; then echo 'F timeout'; exit 0; fi
  sleep 0.01
done
printf 'P '; head -c 32 -- "$d/pid" | base64 -w0; echo
`
  return {name: 'launch', script, maxStdout: 256, parse: parseLaunch}
}

export function parseLaunch(stdout: Buffer, hostId: string): {pid: number} | {failed: string} {
  const lines = frameLines(stdout, hostId, 'launch', 1)
  const [kind, field] = lines[0] ?? []
  if (kind === 'F' && (field === 'setsid' || field === 'timeout')) {
    return {failed: field === 'setsid' ? 'setsid could not start the wrapper' : 'the wrapper wrote no pid file within 10 s'}
  }
  if (kind === 'P' && lines[0].length === 2) {
    const pid = pidFrom(decodeField(field, 32)?.toString('latin1') ?? '')
    if (pid !== null) return {pid}
  }
  throw outOfFrame(hostId, 'launch', 'no pid')
}

// ---- liveness and signals ----

export function aliveScript(pid: number, runDir: string): RemoteScript<boolean> {
  const script = `${PRELUDE}\nif alive ${checkedPid(pid)} ${livenessPatterns(runDir).map(q).join(' ')}; then echo 'L 1'; else echo 'L 0'; fi\n`
  return {name: 'alive', script, maxStdout: 64, parse: parseAlive}
}

export function parseAlive(stdout: Buffer, hostId: string): boolean {
  const text = stdout.toString('latin1')
  if (text === 'L 1\n') return true
  if (text === 'L 0\n') return false
  throw outOfFrame(hostId, 'alive', 'no verdict')
}

/** Checked and signalled in one script: the group cannot be replaced between the check and the kill by a second round trip. */
export function signalScript(pid: number, runDir: string, signal: GroupSignal): RemoteScript<boolean> {
  const sig = signal === 'KILL' ? 'KILL' : 'TERM'
  const script = `${PRELUDE}\nif alive ${checkedPid(pid)} ${livenessPatterns(runDir).map(q).join(' ')} && kill -${sig} -${pid} 2>/dev/null; then echo 'S 1'; else echo 'S 0'; fi\n`
  return {name: 'signal', script, maxStdout: 64, parse: parseSignal}
}

export function parseSignal(stdout: Buffer, hostId: string): boolean {
  const text = stdout.toString('latin1')
  if (text === 'S 1\n') return true
  if (text === 'S 0\n') return false
  throw outOfFrame(hostId, 'signal', 'no verdict')
}

// ---- run dirs and their files ----

export function writeFileScript(runDir: string, name: string, content: string): RemoteScript<void> {
  const script = `${PRELUDE}\n${heredoc(`put ${q(runDir)} ${q(name)}`, content, ' || exit 1')}\necho W\n`
  return {name: 'write', script, maxStdout: 64, parse: (stdout, hostId) => parseDone(stdout, hostId, 'write', 'W')}
}

/** `W`/`M`/`X`: a script whose only answer is that it got to its end. */
export function parseDone(stdout: Buffer, hostId: string, script: string, token: string): void {
  if (stdout.toString('latin1') !== `${token}\n`) throw outOfFrame(hostId, script, 'no completion line')
}

/** Exclusive mkdir: an existing run dir is never reused; `E` says it existed. */
export function createRunDirScript(runDir: string, markerJson: string, markerName: string): RemoteScript<'created' | 'exists'> {
  const script = String.raw`${PRELUDE}
d=${q(runDir)}
mkdir -p -- "$(dirname -- "$d")" || exit 1
if ! mkdir -- "$d" 2>/dev/null; then
  if [ -e "$d" ] || [ -L "$d" ]; then echo E; exit 0; fi
  mkdir -- "$d" || exit 1
fi
${heredoc(`put "$d" ${q(markerName)}`, markerJson, ' || exit 1')}
echo C
`
  return {name: 'create-run-dir', script, maxStdout: 64, parse: parseCreateRunDir}
}

export function parseCreateRunDir(stdout: Buffer, hostId: string): 'created' | 'exists' {
  const text = stdout.toString('latin1')
  if (text === 'C\n') return 'created'
  if (text === 'E\n') return 'exists'
  throw outOfFrame(hostId, 'create-run-dir', 'no verdict')
}

/** A small file of a run dir (pid, marker): its bytes when it is a regular file of at most maxBytes, else none. */
export function readSmallFileScript(path: string, maxBytes: number): RemoteScript<Buffer | null> {
  const script = String.raw`p=${q(path)}
if [ -f "$p" ] && [ "$(($(wc -c < "$p")))" -le ${maxBytes} ]; then printf 'F '; head -c ${maxBytes} -- "$p" | base64 -w0; echo; else echo N; fi
`
  return {name: 'read-file', script, maxStdout: 4 * Math.ceil(maxBytes / 3) + 64, parse: (stdout, hostId) => parseSmallFile(stdout, hostId, maxBytes)}
}

/** The first maxBytes bytes of a regular file (an eval's result or examples), or none. */
export function readFilePrefixScript(path: string, maxBytes: number): RemoteScript<Buffer | null> {
  const script = String.raw`p=${q(path)}
if [ -f "$p" ] && [ -r "$p" ]; then printf 'F '; head -c ${maxBytes} -- "$p" | base64 -w0; echo; else echo N; fi
`
  return {name: 'read-file', script, maxStdout: 4 * Math.ceil(maxBytes / 3) + 64, parse: (stdout, hostId) => parseSmallFile(stdout, hostId, maxBytes)}
}

export function parseSmallFile(stdout: Buffer, hostId: string, maxBytes: number): Buffer | null {
  const lines = frameLines(stdout, hostId, 'read-file', 1)
  const [kind, field] = lines[0] ?? []
  if (kind === 'N' && lines[0].length === 1) return null
  const data = kind === 'F' && lines[0].length === 2 ? decodeField(field, maxBytes) : null
  if (data === null) throw outOfFrame(hostId, 'read-file', 'no file field')
  return data
}

export function removeRunDirScript(runDir: string): RemoteScript<void> {
  return {name: 'remove-run-dir', script: `rm -rf -- ${q(runDir)} || exit 1\necho X\n`, maxStdout: 64, parse: (stdout, hostId) => parseDone(stdout, hostId, 'remove-run-dir', 'X')}
}

const MAX_LISTED = 100_000

/** Directories (not links to them) right under <root>/runs, each name base64-encoded: a name may hold a newline. */
export function listRunDirsScript(root: string): RemoteScript<string[]> {
  const script = String.raw`r=${q(`${root}/runs`)}
[ -d "$r" ] && find "$r/" -mindepth 1 -maxdepth 1 -type d -exec sh -c 'for p; do printf "D %s\n" "$(printf %s "${'$'}{p##*/}" | base64 -w0)"; done' sh {} +
echo Z
`
  return {name: 'list-run-dirs', script, maxStdout: 16 << 20, parse: parseRunDirList}
}

export function parseRunDirList(stdout: Buffer, hostId: string): string[] {
  const lines = frameLines(stdout, hostId, 'list-run-dirs', MAX_LISTED + 1)
  if (lines.at(-1)?.join(' ') !== 'Z') throw outOfFrame(hostId, 'list-run-dirs', 'the answer is cut short')
  const names: string[] = []
  for (const fields of lines.slice(0, -1)) {
    const name = fields[0] === 'D' && fields.length === 2 ? decodeField(fields[1], 4096)?.toString('utf8') : undefined
    if (name === undefined || name === '' || name.includes('/')) throw outOfFrame(hostId, 'list-run-dirs', 'a bad name')
    names.push(name)
  }
  return names
}

const ENVIRON_MAX_BYTES = 256 << 10
const MAX_TRAINERS = 2000

/**
 * The processes whose environment names AUTOLAB_RUN_DIR (one grep over /proc finds them), each
 * sent with its stat line and environment so the parsing is the same as on the local host.
 */
export function listTrainerProcessesScript(): RemoteScript<Array<{pid: number; stat: string; environ: Buffer}>> {
  const script = String.raw`for f in $(grep -laF AUTOLAB_RUN_DIR= /proc/[0-9]*/environ 2>/dev/null); do
  p=${'$'}{f#/proc/}; p=${'$'}{p%/environ}
  s=$(head -c 1024 "/proc/$p/stat" 2>/dev/null | base64 -w0) || continue
  e=$(head -c ${ENVIRON_MAX_BYTES} "$f" 2>/dev/null | base64 -w0) || continue
  [ -n "$s" ] && printf 'P %s %s %s\n' "$p" "$s" "$e"
done
echo Z
`
  return {name: 'list-trainers', script, maxStdout: 64 << 20, parse: parseTrainerList}
}

export function parseTrainerList(stdout: Buffer, hostId: string): Array<{pid: number; stat: string; environ: Buffer}> {
  const lines = frameLines(stdout, hostId, 'list-trainers', MAX_TRAINERS + 1)
  if (lines.at(-1)?.join(' ') !== 'Z') throw outOfFrame(hostId, 'list-trainers', 'the answer is cut short')
  const found: Array<{pid: number; stat: string; environ: Buffer}> = []
  for (const fields of lines.slice(0, -1)) {
    const pid = fields[0] === 'P' && fields.length === 4 ? pidFrom(fields[1]) : null
    const stat = decodeField(fields[2] ?? '', 1024)
    const environ = decodeField(fields[3] ?? '', ENVIRON_MAX_BYTES)
    if (pid === null || stat === null || environ === null) throw outOfFrame(hostId, 'list-trainers', 'a bad process line')
    found.push({pid, stat: stat.toString('utf8'), environ})
  }
  return found
}

/** The trainers under `runsDir`, from what listTrainerProcessesScript found (same reading as trainerProcessesUnder). */
export function trainersUnder(runsDir: string, processes: Array<{pid: number; stat: string; environ: Buffer}>): TrainerProcess[] {
  const prefix = `${runsDir}/`
  const found: TrainerProcess[] = []
  for (const {pid, stat, environ} of processes) {
    const vars = environ.toString('utf8').split('\0')
    const runDir = vars.find((v) => v.startsWith('AUTOLAB_RUN_DIR='))?.slice('AUTOLAB_RUN_DIR='.length)
    if (!runDir?.startsWith(prefix)) continue
    const pgid = pidFrom(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2] ?? '')
    if (pgid === null) continue
    const storeId = vars.find((v) => v.startsWith('AUTOLAB_STORE_ID='))?.slice('AUTOLAB_STORE_ID='.length) ?? null
    found.push({pid, pgid, run_dir: runDir, store_id: storeId})
  }
  return found
}
