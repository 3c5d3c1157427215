// The parsers of remote answers against hostile, garbled and oversized output: each answer is
// either read exactly or refused as an AutolabError — never a TypeError, never a partial read.
import {describe, expect, it} from 'vitest'
import {PROBE_MAX_BYTES, type RunProbeRequest} from '../../src/lib/hosts/executor.js'
import {parseCheck, parseImport, parseMaterialize} from '../../src/lib/hosts/remote-checkpoint-scripts.js'
import {decodeField, hexPattern} from '../../src/lib/hosts/remote-frame.js'
import {parseMuxReply} from '../../src/lib/hosts/ssh-mux.js'
import {parseAlive, parseCreateRunDir, parseLaunch, parseProbe, parseRunDirList, parseSignal, parseSmallFile, parseTrainerList, trainersUnder} from '../../src/lib/hosts/remote-scripts.js'

const out = (text: string) => Buffer.from(text, 'latin1')
const b64 = (text: string | Buffer) => Buffer.from(text).toString('base64')
const requests: RunProbeRequest[] = [
  {runId: 'a', runDir: '/r/a', pid: 10, offsets: {}},
  {runId: 'b', runDir: '/r/b', pid: null, offsets: {}},
]

/** Refused the expected way: an AutolabError with a code, not a crash. */
function refused(parse: () => unknown): void {
  let error: unknown
  try {
    parse()
  } catch (e) {
    error = e
  }
  expect(error).toBeInstanceOf(Error)
  expect((error as {code?: string}).code).toBe('HOST_UNREACHABLE')
}

const GARBAGE = ['', '\n', 'Z\n', 'hello world\n', '\0\0\0\n', 'R 0', 'R -1\n', 'R 99999999999999999999\n', 'A 0 1 2\n', `${'x'.repeat(10_000)}\n`, 'R __proto__\n', 'R constructor\n']

describe('parseProbe', () => {
  const delta = '{"step":1}\n'
  const good = `R 0\nA 0 1\nR 1\nA 1 0\nS 0 0 ${delta.length}\nS 1 2 3\nB ${b64(`${delta}abc`)}\nX 1 ${b64('3\n')}\nE 1 ${b64('boom\n\n')}\nZ 2\n`

  it('reads a well-formed answer exactly: each piece of the blob to its run and file', () => {
    expect(parseProbe(out(good), 'h', requests)).toEqual([
      {runId: 'a', alive: true, exitCode: null, deltas: {'metrics.jsonl': Buffer.from(delta)}, stderrTail: null},
      {runId: 'b', alive: false, exitCode: 3, deltas: {'events.jsonl': Buffer.from('abc')}, stderrTail: 'boom'},
    ])
  })

  it.each(GARBAGE)('refuses garbage %j', (text) => refused(() => parseProbe(out(text), 'h', requests)))

  it.each([
    ['cut short (no Z)', good.replace('Z 2\n', '')],
    ['a wrong run count', good.replace('Z 2', 'Z 3')],
    ['lines after the end', `${good}R 0\n`],
    ['a run without liveness', good.replace('A 1 0\n', '')],
    ['data before its run', `S 0 0 1\n${good}`],
    ['a second liveness', good.replace('A 0 1\n', 'A 0 1\nA 0 0\n')],
    ['a run index out of range', good.replace('R 1\nA 1 0', 'R 2\nA 2 0')],
    ['a file index out of range', good.replace('S 0 0', 'S 0 3')],
    ['a blob that is not base64', good.replace(/B .*\n/, 'B !!!!\n')],
    ['a blob shorter than its pieces', good.replace(/B .*\n/, `B ${b64(delta)}\n`)],
    ['a blob longer than its pieces', good.replace(/B .*\n/, `B ${b64(`${delta}abcd`)}\n`)],
    ['pieces without a blob', good.replace(/B .*\n/, '')],
    ['a blob without pieces', `R 0\nA 0 1\nR 1\nA 1 0\nB ${b64('x')}\nZ 2\n`],
    ['a piece after the blob', good.replace('X 1', 'S 1 1 0\nX 1')],
    ['a second blob', good.replace('X 1', `B ${b64('x')}\nX 1`)],
    ['a duplicated piece', good.replace('S 1 2 3', 'S 0 0 3')],
    ['a size that is not a count', good.replace('S 1 2 3', 'S 1 2 -3')],
    ['a liveness that is not 0/1', good.replace('A 0 1', 'A 0 yes')],
    ['a huge stderr tail', good.replace(`E 1 ${b64('boom\n\n')}`, `E 1 ${b64(Buffer.alloc(5000))}`)],
    ['a huge exit code field', good.replace(`X 1 ${b64('3\n')}`, `X 1 ${b64(Buffer.alloc(100))}`)],
  ])('refuses %s', (_why, text) => refused(() => parseProbe(out(text), 'h', requests)))

  it('refuses a piece over PROBE_MAX_BYTES or over the call budget, before decoding anything', () => {
    refused(() => parseProbe(out(`R 0\nA 0 1\nR 1\nA 1 0\nS 0 0 ${PROBE_MAX_BYTES + 1}\nB AAAA\nZ 2\n`), 'h', requests))
    refused(() => parseProbe(out(`R 0\nA 0 1\nR 1\nA 1 0\nS 0 0 8\nS 1 0 8\nB ${b64('1234567812345678')}\nZ 2\n`), 'h', requests, 12))
  })

  it('keeps a garbled exit_code as no exit code (as local does), and the stderr tail only once ended', () => {
    const parsed = parseProbe(out(`R 0\nA 0 1\nX 0 ${b64('oops')}\nE 0 ${b64('err')}\nR 1\nA 1 1\nE 1 ${b64('x')}\nZ 2\n`), 'h', requests)
    expect(parsed[0]).toMatchObject({alive: true, exitCode: null, stderrTail: null})
    expect(parsed[1]).toMatchObject({alive: true, exitCode: null, stderrTail: null})
  })
})

describe('the small parsers', () => {
  it('launch: a positive pid, or a known failure; else refused', () => {
    expect(parseLaunch(out(`P ${b64('4242\n')}\n`), 'h')).toEqual({pid: 4242})
    expect(parseLaunch(out('F timeout\n'), 'h')).toEqual({failed: expect.stringContaining('no pid file')})
    for (const bad of [`P ${b64('0')}\n`, `P ${b64('-5')}\n`, `P ${b64('12abc')}\n`, `P ${b64('99999999999')}\n`, 'P\n', 'F other\n', ...GARBAGE]) refused(() => parseLaunch(out(bad), 'h'))
  })

  it('alive, signal, create-run-dir: exactly their verdicts', () => {
    expect(parseAlive(out('L 1\n'), 'h')).toBe(true)
    expect(parseAlive(out('L 0\n'), 'h')).toBe(false)
    expect(parseSignal(out('S 1\n'), 'h')).toBe(true)
    expect(parseCreateRunDir(out('E\n'), 'h')).toBe('exists')
    for (const bad of ['L 1\nL 1\n', 'L 2\n', 'S 1', ...GARBAGE]) {
      refused(() => parseAlive(out(bad), 'h'))
      refused(() => parseSignal(out(bad), 'h'))
      refused(() => parseCreateRunDir(out(bad), 'h'))
    }
  })

  it('read-file: bounded, or none', () => {
    expect(parseSmallFile(out(`F ${b64('{"a":1}')}\n`), 'h', 100)).toEqual(Buffer.from('{"a":1}'))
    expect(parseSmallFile(out('N\n'), 'h', 100)).toBe(null)
    refused(() => parseSmallFile(out(`F ${b64('x'.repeat(200))}\n`), 'h', 100))
    for (const bad of ['F\n', 'N x\n', ...GARBAGE]) refused(() => parseSmallFile(out(bad), 'h', 100))
  })

  it('list-run-dirs: names with newlines kept; a slash, an empty name or a cut answer refused', () => {
    expect(parseRunDirList(out(`D ${b64('r1')}\nD ${b64("odd\nname 'x'")}\nZ\n`), 'h')).toEqual(['r1', "odd\nname 'x'"])
    expect(parseRunDirList(out('Z\n'), 'h')).toEqual([])
    for (const bad of [`D ${b64('a/b')}\nZ\n`, 'D \nZ\n', `D ${b64('r1')}\n`, ...GARBAGE.filter((g) => g !== 'Z\n')]) refused(() => parseRunDirList(out(bad), 'h'))
  })

  it('list-trainers: each process checked; trainersUnder reads stat and environ as local does', () => {
    const stat = '77 (sh) S) x) S 1 77 77 0 -1'
    const environ = Buffer.from('A=1\0AUTOLAB_RUN_DIR=/root/runs/r1\0AUTOLAB_STORE_ID=st\0')
    const parsed = parseTrainerList(out(`P 78 ${b64(stat)} ${b64(environ)}\nZ\n`), 'h')
    expect(trainersUnder('/root/runs', parsed)).toEqual([{pid: 78, pgid: 77, run_dir: '/root/runs/r1', store_id: 'st'}])
    expect(trainersUnder('/other/runs', parsed)).toEqual([])
    expect(trainersUnder('/root/runs', parseTrainerList(out(`P 78 ${b64('garbled')} ${b64(environ)}\nZ\n`), 'h'))).toEqual([])
    for (const bad of [`P 0 ${b64(stat)} ${b64(environ)}\nZ\n`, `P 78 ${b64(stat)}\nZ\n`, `P x ${b64(stat)} e\nZ\n`, ...GARBAGE.filter((g) => g !== 'Z\n')]) refused(() => parseTrainerList(out(bad), 'h'))
  })

  it('check: ok only inside the run dir; every refusal named; garbage refused', () => {
    expect(parseCheck(out(`K 12 ${b64('/real/rd')} ${b64('/real/rd/ck/s1')}\n`), 'h', '/rd')).toEqual({ok: true, path: '/rd/ck/s1', bytes: 12})
    expect(parseCheck(out(`N out ${b64('/real/rd/ck/l')}\n`), 'h', '/rd')).toEqual({ok: false, reason: 'the link /real/rd/ck/l leads outside the run directory'})
    expect(parseCheck(out('N outside\n'), 'h', '/rd')).toEqual({ok: false, reason: 'it resolves outside the run directory'})
    for (const bad of [`K 12 ${b64('/real/rd')} ${b64('/elsewhere')}\n`, `K 12 ${b64('/real/rd')} ${b64('/real/rd')}\n`, `K -1 ${b64('/a')} ${b64('/a/b')}\n`, 'N out\n', 'N why\n', ...GARBAGE]) {
      refused(() => parseCheck(out(bad), 'h', '/rd'))
    }
  })

  it('materialize and import: counts and method checked', () => {
    expect(parseMaterialize(out('O hardlink 13 2\n'), 'h', '/rd')).toEqual({method: 'hardlink', bytes: 13, files: 2})
    expect(parseMaterialize(out('M\n'), 'h', '/rd')).toEqual({missing: true})
    expect(parseMaterialize(out('N outside\n'), 'h', '/rd')).toEqual({refused: 'it resolves outside the run directory'})
    expect(parseImport(out('I 70008 2\n'), 'h')).toEqual({bytes: 70_008, files: 2})
    for (const bad of ['O reflink 1 1\n', 'O copy -1 1\n', 'O copy 1\n', 'I 1 1 1\n', ...GARBAGE]) {
      refused(() => parseMaterialize(out(bad), 'h', '/rd'))
      refused(() => parseImport(out(bad), 'h'))
    }
  })
})

describe('frame helpers', () => {
  it('decodeField takes canonical base64 within its bound only', () => {
    expect(decodeField(b64('hello'), 5)).toEqual(Buffer.from('hello'))
    expect(decodeField(b64('hello'), 4)).toBe(null)
    expect(decodeField('aGVsbG8', 10)).toBe(null)
    expect(decodeField('', 0)).toEqual(Buffer.alloc(0))
  })

  it('hexPattern matches od -An -tx1 byte for byte', () => {
    expect(hexPattern('/a\n')).toBe(' 2f 61 0a ')
    expect(hexPattern(Buffer.from([0, 255]))).toBe(' 00 ff ')
  })
})

describe('the mux\'s answer (parseMuxReply)', () => {
  it('reads a well-formed header; refuses anything else whole', () => {
    expect(parseMuxReply('{"code":0,"signal":null,"stderr":"","stdout_bytes":3}')).toEqual({code: 0, signal: null, stderr: '', stdout_bytes: 3})
    expect(parseMuxReply('{"error":{"code":"HOST_UNREACHABLE","message":"down","retryable":true}}')).toMatchObject({error: {code: 'HOST_UNREACHABLE'}})
    for (const bad of ['', 'nope', '[]', 'null', '{"stdout_bytes":-1}', '{"stdout_bytes":1.5}', '{"stdout_bytes":1e12}', '{"code":"0"}', '{"stderr":7}',
      '{"error":{"code":"NOT_A_CODE","message":"x","retryable":false}}', '{"error":{"code":"INTERNAL","retryable":false}}', '{"error":null}', '{"error":{"code":"INTERNAL","message":"x","retryable":false,"details":[1]}}']) {
      expect(parseMuxReply(bad), bad).toBeNull()
    }
  })
})
