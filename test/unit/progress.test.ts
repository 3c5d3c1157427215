// The progress line: on a terminal's stderr only, never with --json, throttled, one line rewritten
// in place that never wraps, ended (kept with a newline, or erased) and otherwise silent.
import {describe, expect, it} from 'vitest'
import {noProgress, progressFor, waitedText} from '../../src/lib/output/progress.js'

function fakeStream(options: {isTTY?: boolean; columns?: number} = {}) {
  const written: string[] = []
  return {written, stream: {isTTY: options.isTTY, columns: options.columns, write: (text: string) => written.push(text)}}
}

describe('progressFor', () => {
  it('is a no-op with --json, even on a terminal, and when the stream is not a terminal', () => {
    for (const [json, isTTY] of [[true, true], [false, false], [false, undefined], [true, false]] as const) {
      const {written, stream} = fakeStream({isTTY})
      const progress = progressFor({json, stream})
      expect(progress).toBe(noProgress)
      progress.update('waiting…')
      progress.end({keep: true})
      expect(written).toEqual([])
    }
  })

  it('rewrites one line in place on a terminal, and ends it with a newline when kept', () => {
    const {written, stream} = fakeStream({isTTY: true, columns: 80})
    let now = 0
    const progress = progressFor({json: false, stream, now: () => now})
    progress.update('waiting 1s')
    now = 500
    progress.update('waiting 2s')
    progress.end({keep: true})
    expect(written).toEqual(['\rwaiting 1s\u001B[K', '\rwaiting 2s\u001B[K', '\n'])
  })

  it('throttles: updates within the interval are held, and the latest one is shown when kept', () => {
    const {written, stream} = fakeStream({isTTY: true})
    let now = 1000
    const progress = progressFor({json: false, stream, now: () => now, throttleMs: 100})
    progress.update('a')
    now += 10
    progress.update('b')
    now += 10
    progress.update('c')
    expect(written).toEqual(['\ra\u001B[K'])
    now += 100
    progress.update('d')
    expect(written.at(-1)).toBe('\rd\u001B[K')
    progress.update('e')
    progress.end({keep: true})
    expect(written.slice(-2)).toEqual(['\re\u001B[K', '\n'])
  })

  it('erases the line when not kept, and writes nothing at the end when nothing was shown', () => {
    const {written, stream} = fakeStream({isTTY: true})
    const progress = progressFor({json: false, stream})
    progress.end()
    expect(written).toEqual([])
    progress.update('copying')
    progress.end()
    expect(written).toEqual(['\rcopying\u001B[K', '\r\u001B[K'])
    // A new line may start after the end.
    progress.update('again')
    expect(written.at(-1)).toBe('\ragain\u001B[K')
  })

  it('never wraps: a line is cut to the terminal width, newlines flattened', () => {
    const {written, stream} = fakeStream({isTTY: true, columns: 20})
    const progress = progressFor({json: false, stream})
    progress.update(`two\nlines ${'x'.repeat(40)}`)
    const line = written[0].replace('\r', '').replace('\u001B[K', '')
    expect(line.length).toBeLessThanOrEqual(19)
    expect(line).toMatch(/^two lines x+…$/)
  })
})

describe('waitedText', () => {
  it('says how long of how long, in whole seconds', () => {
    expect(waitedText(1000, 13_900, 600_000)).toBe('12s of 600s')
    expect(waitedText(1000, 500, 2000)).toBe('0s of 2s')
  })
})
