// `host check`: the one script that looks at a host (POSIX sh and coreutils only; GPU hosts may
// have no Node or Python) and the one parser of its answer. The answer comes from a machine that
// autolab does not control: it is bounded in size, every line must have a known shape, numbers
// are range-checked, free text (GPU names, an nvidia-smi error) is stripped of control
// characters and cut short. Anything else makes the whole answer invalid, never half-used.
import {AutolabError} from '../output/errors.js'
import {shellQuote} from '../shell.js'

/** The largest answer accepted (64 GPUs' lines take ~8 KiB). */
export const MAX_CHECK_OUTPUT = 64 << 10
const MAX_GPUS = 256
const MAX_LINE = 4096
const FORMAT = 'autolab-host-check 1'

/**
 * The script, for a work root. Lines out: `now <epoch s>`, `tool <name> <path or nothing>`,
 * `root <exists 0|1> <writable 0|1>`, `df <the data line of df -Pk>` of the root or its nearest
 * existing parent (with that path on `df_path`), `gpu_exit <code>` then `gpu <csv>` lines or
 * one `gpu_error <text>`. nvidia-smi runs under `timeout` where there is one: a wedged driver
 * makes it hang.
 */
export function checkScript(root: string): string {
  return `R=${shellQuote(root)}
echo '${FORMAT}'
echo "now $(date +%s)"
for t in sh python3 nvidia-smi; do echo "tool $t $(command -v "$t" 2>/dev/null | head -n 1)"; done
if [ -d "$R" ]; then
  t="$R/.autolab-check.$$"
  if ( : >"$t" ) 2>/dev/null; then rm -f "$t"; echo 'root 1 1'; else echo 'root 1 0'; fi
else
  echo 'root 0 0'
fi
d=$R
while [ ! -d "$d" ]; do d=$(dirname "$d"); done
echo "df_path $d"
echo "df $(df -Pk "$d" 2>/dev/null | sed -n 2p)"
if command -v nvidia-smi >/dev/null 2>&1; then
  q='--query-gpu=index,uuid,name,memory.total'
  if command -v timeout >/dev/null 2>&1; then o=$(timeout 20 nvidia-smi "$q" --format=csv,noheader,nounits 2>&1); c=$?
  else o=$(nvidia-smi "$q" --format=csv,noheader,nounits 2>&1); c=$?; fi
  echo "gpu_exit $c"
  if [ "$c" = 0 ]; then printf '%s\\n' "$o" | sed -n '/./p' | head -n ${MAX_GPUS} | sed 's/^/gpu /'
  else printf '%s\\n' "$o" | sed -n '/./p' | head -n 1 | sed 's/^/gpu_error /'; fi
fi
echo end
`
}

export interface CheckedGpu {
  /** nvidia-smi's index: the id CUDA_VISIBLE_DEVICES takes. */
  index: string
  uuid: string
  name: string
  /** MiB; null when nvidia-smi says [N/A]. */
  memory_mib: number | null
}

export interface CheckAnswer {
  /** The host's clock (epoch seconds). */
  now: number
  tools: {sh: string | null; python3: string | null; nvidia_smi: string | null}
  root_exists: boolean
  root_writable: boolean
  /** Free and total bytes of the filesystem holding the root (or its nearest existing parent); null when df failed. */
  disk: {path: string; free_bytes: number; total_bytes: number} | null
  gpus: CheckedGpu[]
  /** What nvidia-smi said when it failed (a driver problem), or null. */
  gpu_error: string | null
}

/**
 * Parse the check script's stdout. An answer that does not fit is refused whole, as
 * HOST_UNREACHABLE and not retryable (as SshConnection refuses an answer out of frame).
 */
export function parseCheckAnswer(stdout: Buffer | string, hostId: string): CheckAnswer {
  const invalid = (why: string): never => {
    throw new AutolabError('HOST_UNREACHABLE', `Host ${hostId} answered the check out of format (${why}); nothing was recorded.`, {
      retryable: false, details: {host: hostId, problem: why},
      suggestedAction: 'Check that the host runs a POSIX sh with coreutils (date, df, sed, head) on its PATH, then retry.',
    })
  }
  const size = typeof stdout === 'string' ? Buffer.byteLength(stdout) : stdout.length
  if (size > MAX_CHECK_OUTPUT) invalid(`${size} bytes, more than ${MAX_CHECK_OUTPUT}`)
  const text = typeof stdout === 'string' ? stdout : stdout.toString('utf8')
  const lines = text.split('\n')
  if (lines.at(-1) === '') lines.pop()
  if (lines[0] !== FORMAT) invalid('no header line')
  if (lines.at(-1) !== 'end') invalid('the answer is cut short')
  const answer: CheckAnswer = {now: NaN, tools: {sh: null, python3: null, nvidia_smi: null}, root_exists: false, root_writable: false, disk: null, gpus: [], gpu_error: null}
  let dfPath: string | null = null
  let dfLine: string | null = null
  let rootSeen = false
  for (const line of lines.slice(1, -1)) {
    if (line.length > MAX_LINE) invalid(`a line of ${line.length} characters`)
    const space = line.indexOf(' ')
    const [key, rest] = space < 0 ? [line, ''] : [line.slice(0, space), line.slice(space + 1)]
    switch (key) {
      case 'now': {
        if (!/^\d{1,12}$/.test(rest)) invalid(`date +%s printed "${printable(rest, 40)}"`)
        answer.now = Number(rest)
        break
      }
      case 'tool': {
        const match = /^(sh|python3|nvidia-smi) ?(.*)$/.exec(rest)
        if (!match) invalid('an unknown tool line')
        const path = match![2]
        if (path !== '' && (!path.startsWith('/') || /[\u0000-\u001f\u007f]/.test(path))) invalid(`command -v ${match![1]} printed "${printable(path, 80)}"`)
        answer.tools[match![1] === 'nvidia-smi' ? 'nvidia_smi' : (match![1] as 'sh' | 'python3')] = path === '' ? null : path
        break
      }
      case 'root': {
        const match = /^([01]) ([01])$/.exec(rest)
        if (!match) invalid('a malformed root line')
        answer.root_exists = match![1] === '1'
        answer.root_writable = match![2] === '1'
        rootSeen = true
        break
      }
      case 'df_path':
        dfPath = rest
        break
      case 'df':
        dfLine = rest
        break
      case 'gpu_exit':
        if (!/^\d{1,3}$/.test(rest)) invalid('a malformed gpu_exit line')
        break
      case 'gpu':
        if (answer.gpus.length >= MAX_GPUS) invalid(`more than ${MAX_GPUS} GPUs`)
        answer.gpus.push(parseGpuLine(rest, invalid))
        break
      case 'gpu_error':
        answer.gpu_error = printable(rest, 300)
        break
      default:
        invalid(`an unknown line "${printable(key, 40)}"`)
    }
  }
  if (!Number.isFinite(answer.now)) invalid('no clock reading')
  if (!rootSeen) invalid('no root line')
  answer.disk = dfPath !== null && dfLine !== null ? parseDfLine(dfLine, dfPath) : null
  if (new Set(answer.gpus.map((g) => g.index)).size !== answer.gpus.length) invalid('a GPU index listed twice')
  return answer
}

/** `0, GPU-5f1c…, NVIDIA A100-SXM4-80GB, 81920`: the name may itself hold commas. */
function parseGpuLine(line: string, invalid: (why: string) => never): CheckedGpu {
  const fields = line.split(',').map((f) => f.trim())
  if (fields.length < 4) invalid(`a GPU line with ${fields.length} fields`)
  const index = fields[0]
  const uuid = fields[1]
  const memory = fields.at(-1)!
  const name = fields.slice(2, -1).join(', ')
  if (!/^\d{1,3}$/.test(index)) invalid(`a GPU index "${printable(index, 20)}"`)
  if (!/^[A-Za-z0-9-]{1,128}$/.test(uuid)) invalid(`a GPU uuid "${printable(uuid, 40)}"`)
  if (!/^\d{1,9}$/.test(memory) && !/^\[N\/A\]$/.test(memory)) invalid(`a GPU memory "${printable(memory, 20)}"`)
  return {index: String(Number(index)), uuid, name: printable(name, 200), memory_mib: /^\d+$/.test(memory) ? Number(memory) : null}
}

/**
 * df -P's data line: `<filesystem> <1024-blocks> <used> <available> <capacity>% <mounted on>`.
 * The filesystem and the mount point may hold spaces: the numbers are found by their shape.
 */
function parseDfLine(line: string, path: string): CheckAnswer['disk'] {
  const match = /(?:^|\s)(\d{1,18})\s+(\d{1,18})\s+(\d{1,18})\s+(\d{1,3})%(?:\s|$)/.exec(line)
  if (!match || !path.startsWith('/') || /[\u0000-\u001f\u007f]/.test(path)) return null
  return {path, total_bytes: Number(match[1]) * 1024, free_bytes: Number(match[3]) * 1024}
}

/** Free text from the host, safe to print: no control characters, at most `max` characters. */
function printable(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?')
  return clean.length > max ? `${clean.slice(0, max)}…` : clean
}
