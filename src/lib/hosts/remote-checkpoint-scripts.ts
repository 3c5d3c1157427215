// The sh scripts an SSH host runs for checkpoints (check, materialize, unpack an import), each with
// the one parser of its answer. The check is local inspectCheckpointPath's rule in sh: the path
// resolves strictly inside the run dir, no symlink under it leads out (or nowhere), bytes summed.
import {posix} from 'node:path'
import type {CheckpointCheck} from './executor.js'
import {countField, decodeField, frameLines, outOfFrame, PRELUDE, q} from './remote-frame.js'
import type {RemoteScript} from './remote-scripts.js'

/**
 * chk RUNDIR PATH: on success sets $rrd (real run dir), $real and $bytes; otherwise prints one
 * `N <why> [path]` line. Links are checked by a child sh fed by find (names may hold newlines, so
 * they never go through a pipe as lines); it stops at the first bad one.
 */
const CHECK = `
chk() {
  canon "$1" || { echo 'N missing'; return 1; }
  rrd=$c
  canon "$2" || { echo 'N missing'; return 1; }
  real=$c
  case $real in "$rrd"/*) ;; *) echo 'N outside'; return 1;; esac
  l=$(find "$real" -type l -exec sh -c 'r=$1; shift; for l; do t=$(realpath -e -- "$l" 2>/dev/null && echo .) || { printf "N nowhere %s\\n" "$(printf %s "$l" | base64 -w0)"; exit 1; }; t=\${t%??}; case $t in "$r"/*) ;; *) printf "N out %s\\n" "$(printf %s "$l" | base64 -w0)"; exit 1;; esac; done' sh "$rrd" {} + 2>/dev/null)
  if [ -n "$l" ]; then printf '%s\\n' "$l" | head -n 1; return 1; fi
  sizes=$(find "$real" ! -type d ! -type l -printf '%s\\n' 2>/dev/null) || { echo 'N unreadable'; return 1; }
  bytes=0; for s in $sizes; do bytes=$((bytes + s)); done
}
`

export type RemoteCheck = CheckpointCheck | {ok: false; missing: true; reason: string}

/** `announced` resolved against the run dir as local does (lexically, before symlinks). */
export function checkScript(runDir: string, announced: string): RemoteScript<RemoteCheck> {
  const script = `${PRELUDE}${CHECK}
if chk ${q(runDir)} ${q(posix.resolve(runDir, announced))}; then printf 'K %s %s %s\\n' "$bytes" "$(b64 "$rrd")" "$(b64 "$real")"; fi
`
  return {name: 'check', script, maxStdout: 64 << 10, parse: (stdout, hostId) => parseCheck(stdout, hostId, runDir)}
}

export function parseCheck(stdout: Buffer, hostId: string, runDir: string): RemoteCheck {
  const bad = (why: string) => outOfFrame(hostId, 'check', why)
  const lines = frameLines(stdout, hostId, 'check', 1)
  const fields = lines[0] ?? []
  if (fields[0] === 'K' && fields.length === 4) {
    const bytes = countField(fields[1])
    const realRunDir = decodeField(fields[2], 8192)?.toString('utf8')
    const real = decodeField(fields[3], 8192)?.toString('utf8')
    if (bytes === null || !realRunDir?.startsWith('/') || !real?.startsWith(`${realRunDir}/`)) throw bad('a bad verdict')
    return {ok: true, path: posix.join(runDir, posix.relative(realRunDir, real)), bytes}
  }
  if (fields[0] !== 'N') throw bad('no verdict')
  const path = fields.length === 3 ? decodeField(fields[2], 8192)?.toString('utf8') : undefined
  switch (`${fields[1]}/${fields.length}`) {
    case 'missing/2': return {ok: false, missing: true, reason: 'no such file or directory in the run directory'}
    case 'outside/2': return {ok: false, reason: 'it resolves outside the run directory'}
    case 'unreadable/2': return {ok: false, reason: 'unreadable: find failed under it'}
    case 'nowhere/3': if (path !== undefined) return {ok: false, reason: `the link ${path} leads nowhere`}; break
    case 'out/3': if (path !== undefined) return {ok: false, reason: `the link ${path} leads outside the run directory`}; break
  }
  throw bad('a bad refusal')
}

export interface Materialized {method: 'hardlink' | 'copy'; bytes: number; files: number}
export type MaterializeAnswer = Materialized | {missing: true} | {refused: string}

/**
 * Source files read-only first (find -type f never matches a link, so no chmod goes through
 * one), then hard links (cp -al) into the temp dir, a full copy if any link fails, and one mv into
 * place. Counts are of regular files, as local counts them.
 */
export function materializeScript(source: string, target: string, options: {copy: boolean; sourceRunDir: string; nonce: string}): RemoteScript<MaterializeAnswer> {
  const script = `${PRELUDE}${CHECK}
src=${q(source)}; target=${q(target)}; tmp=${q(`${target}.tmp-${options.nonce}`)}
[ -e "$src" ] || { echo M; exit 0; }
chk ${q(options.sourceRunDir)} ${q(posix.resolve(options.sourceRunDir, source))} || exit 0
rm -rf -- "$tmp" && mkdir -p -- ${q(posix.dirname(target))} || exit 1
find -H "$src" -type f -exec chmod a-w -- {} + || exit 1
method=copy
if [ ${options.copy ? 'copy' : 'link'} = link ] && mkdir -- "$tmp" && cp -al -- "$src/." "$tmp/" 2>/dev/null; then method=hardlink
else rm -rf -- "$tmp"; if ! { mkdir -- "$tmp" && cp -a -- "$src/." "$tmp/"; }; then rm -rf -- "$tmp"; exit 1; fi
fi
n=0; b=0; for s in $(find -H "$src" -type f -printf '%s\\n'); do n=$((n + 1)); b=$((b + s)); done
mv -T -- "$tmp" "$target" || { rm -rf -- "$tmp"; exit 1; }
printf 'O %s %s %s\\n' "$method" "$b" "$n"
`
  return {name: 'materialize', script, maxStdout: 64 << 10, parse: (stdout, hostId) => parseMaterialize(stdout, hostId, options.sourceRunDir)}
}

export function parseMaterialize(stdout: Buffer, hostId: string, runDir: string): MaterializeAnswer {
  const fields = frameLines(stdout, hostId, 'materialize', 1)[0] ?? []
  if (fields[0] === 'M' && fields.length === 1) return {missing: true}
  if (fields[0] === 'N') {
    const verdict = parseCheck(stdout, hostId, runDir)
    return {refused: verdict.ok ? 'refused' : verdict.reason}
  }
  const counts = parseCounts(fields.slice(2), 'O', fields[0])
  if (counts && (fields[1] === 'hardlink' || fields[1] === 'copy')) return {method: fields[1], ...counts}
  throw outOfFrame(hostId, 'materialize', 'no result')
}

function parseCounts(fields: string[], kind: string, got: string | undefined): {bytes: number; files: number} | null {
  const [bytes, files] = [countField(fields[0]), countField(fields[1])]
  return got === kind && fields.length === 2 && bytes !== null && files !== null ? {bytes, files} : null
}

/**
 * Run by a channel whose stdin is the tar stream: unpack into the temp dir (never as the archive's
 * owners), files read-only, counts. It never renames into place: tar accepts an archive cut at a
 * member boundary, so only the sender knows the stream was whole — it commits (importCommitScript)
 * or removes the temp dir (importAbortScript) in a second step. A failed tar removes it at once.
 */
export function importScript(temp: string): {command: string; maxStdout: number; parse(stdout: Buffer, hostId: string): {bytes: number; files: number}} {
  const script = `t=${q(temp)}
rm -rf -- "$t" && mkdir -p -- ${q(posix.dirname(temp))} && mkdir -- "$t" || exit 1
if tar --no-same-owner -C "$t" -xf -; then
  find "$t" -type f -exec chmod a-w -- {} + || { rm -rf -- "$t"; exit 1; }
  n=0; b=0; for s in $(find "$t" -type f -printf '%s\\n'); do n=$((n + 1)); b=$((b + s)); done
  printf 'I %s %s\\n' "$b" "$n"; exit 0
fi
rm -rf -- "$t"; exit 1
`
  return {command: `sh -c ${q(script)}`, maxStdout: 4096, parse: parseImport}
}

export function parseImport(stdout: Buffer, hostId: string): {bytes: number; files: number} {
  const fields = frameLines(stdout, hostId, 'import', 1)[0] ?? []
  const counts = parseCounts(fields.slice(1), 'I', fields[0])
  if (!counts) throw outOfFrame(hostId, 'import', 'no counts')
  return counts
}

export function importCommitScript(temp: string, target: string): RemoteScript<void> {
  const script = `mv -T -- ${q(temp)} ${q(target)} || { rm -rf -- ${q(temp)}; exit 1; }\necho X\n`
  return {name: 'import-commit', script, maxStdout: 64, parse: (stdout, hostId) => parseFinal(stdout, hostId, 'import-commit')}
}

export function importAbortScript(temp: string): RemoteScript<void> {
  return {name: 'import-abort', script: `rm -rf -- ${q(temp)}\necho X\n`, maxStdout: 64, parse: (stdout, hostId) => parseFinal(stdout, hostId, 'import-abort')}
}

function parseFinal(stdout: Buffer, hostId: string, script: string): void {
  if (stdout.toString('latin1') !== 'X\n') throw outOfFrame(hostId, script, 'no completion line')
}

/** The export's channel command (the check runs before it, as a script). */
export function exportCommand(source: string): string {
  return `tar -C ${q(source)} -cf - .`
}
