// What every remote script shares: the sh helpers it may call, and the line frame of its answer.
// A script answers in lines `<KIND> <fields…>`; any byte that comes from the host's files (a
// trainer's output, a path) travels base64-encoded in one field, so it can never break the frame.
// The answer is untrusted: the parsers (remote-scripts.ts) check every field and bound every size.
import {nodeCrypto} from '../lazy-modules.js'
import {AutolabError} from '../output/errors.js'
import {shellQuote} from '../shell.js'

/**
 * sh helpers (POSIX sh, coreutils, findutils, grep only: the host may have nothing else).
 * hx: a file's bytes as " xx xx … " (od), so a pattern built the same way matches exact bytes,
 *   whatever they are (a run dir may hold newlines, which would split a grep pattern).
 * alive PGID CMDHEX ENVHEX: the rule of local isGroupAlive — the wrapper pid is alive and its
 *   cmdline holds "<run dir>/launch.sh", or a process of the group carries AUTOLAB_RUN_DIR=<run
 *   dir> in its environment. dash's kill takes no `--`: `kill -0 -PGID` is the portable form.
 * put DIR NAME: stdin (base64) into DIR/NAME atomically; the temp is removed first (it may be a
 *   trainer's symlink) and created exclusively (set -C), and mv -T replaces a link at NAME
 *   instead of following it.
 * canon PATH: realpath into $c, exact even for a name ending in a newline.
 */
export const PRELUDE = `
hx() { printf '%s ' "$(od -An -v -tx1 -- "$1" 2>/dev/null | tr -d '\\n')"; }
pgid_of() { s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; s=\${s##*") "}; set -- $s; printf '%s' "$3"; }
alive() {
  if kill -0 "$1" 2>/dev/null; then case $(hx "/proc/$1/cmdline") in *"$2"*) return 0;; esac; fi
  kill -0 "-$1" 2>/dev/null || return 1
  for f in $(grep -laF AUTOLAB_RUN_DIR= /proc/[0-9]*/environ 2>/dev/null); do
    p=\${f#/proc/}; p=\${p%/environ}
    [ "$(pgid_of "$p")" = "$1" ] || continue
    case $(hx "$f") in *"$3"*) return 0;; esac
  done
  return 1
}
put() {
  t="$1/$2.tmp-$$"
  rm -f -- "$t" || return 1
  if (set -C; base64 -d > "$t") && mv -fT -- "$t" "$1/$2"; then return 0; fi
  rm -f -- "$t"; return 1
}
canon() { c=$(realpath -e -- "$1" 2>/dev/null && echo .) || return 1; c=\${c%??}; }
b64() { printf '%s' "$1" | base64 -w0; }
`

/** Bytes as od prints them, for hx/case matching: " 2f 72 75 " (never empty: a space at least). */
export function hexPattern(value: string | Buffer): string {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value
  return ` ${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ')} `
}

/** The two patterns `alive` takes for a run dir. */
export function livenessPatterns(runDir: string): [string, string] {
  return [hexPattern(`${runDir}/launch.sh`), hexPattern(Buffer.concat([Buffer.from(`AUTOLAB_RUN_DIR=${runDir}`), Buffer.from([0])]))]
}

/** A heredoc feeding `content` base64-encoded to `command` (`after` ends its line); the end tag holds `_`, which base64 never does. */
export function heredoc(command: string, content: string | Buffer, after = ''): string {
  const tag = `__autolab_end_${nodeCrypto().randomBytes(8).toString('hex')}`
  const encoded = Buffer.from(content).toString('base64').replace(/.{76}/g, '$&\n')
  return `${command} <<'${tag}'${after}\n${encoded}\n${tag}`
}

export const q = shellQuote

/** A remote answer that does not follow its script's frame: the host (or the path to it) is not trustworthy now. */
export function outOfFrame(hostId: string, script: string, why: string): AutolabError {
  return new AutolabError('HOST_UNREACHABLE', `Host ${hostId} answered the ${script} script out of frame (${why}); nothing was taken from the answer.`, {
    retryable: true, details: {host: hostId, script},
  })
}

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** A base64 field decoded, or null when it is not canonical base64 or decodes to more than maxBytes. */
export function decodeField(field: string, maxBytes: number): Buffer | null {
  // Checked before decoding: a huge field is refused without allocating its bytes.
  if (Math.floor(field.length / 4) * 3 > maxBytes + 2 || !B64.test(field)) return null
  const bytes = Buffer.from(field, 'base64')
  return bytes.length <= maxBytes ? bytes : null
}

/** A decimal field as a non-negative safe integer, or null. */
export function countField(field: string | undefined): number | null {
  if (field === undefined || !/^\d{1,15}$/.test(field)) return null
  return Number(field)
}

/** A pid as a process writes it into a file: a positive integer that fits a pid_t, or null. */
export function pidFrom(text: string): number | null {
  const match = /^\s*(\d{1,10})\s*$/.exec(text)
  if (!match) return null
  const pid = Number(match[1])
  return pid > 0 && pid <= 0x7f_ff_ff_ff ? pid : null
}

/**
 * An answer split into its lines, each split into fields. Bounded: at most maxLines lines, so a
 * garbled answer cannot make a parser loop over millions of pieces.
 */
export function frameLines(stdout: Buffer, hostId: string, script: string, maxLines: number): string[][] {
  const text = stdout.toString('latin1')
  if (text.length > 0 && !text.endsWith('\n')) throw outOfFrame(hostId, script, 'the answer is cut short')
  const lines = text.length === 0 ? [] : text.slice(0, -1).split('\n')
  if (lines.length > maxLines) throw outOfFrame(hostId, script, `${lines.length} lines, at most ${maxLines} expected`)
  return lines.map((line) => line.split(' '))
}
