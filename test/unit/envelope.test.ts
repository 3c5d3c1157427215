import BetterSqlite3 from 'better-sqlite3'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {errorEnvelope, successEnvelope, toJson} from '../../src/lib/output/envelope.js'
import {AutolabError, ERROR_CODES, EXIT, toAutolabError} from '../../src/lib/output/errors.js'
import {emptyStatusBar} from '../../src/lib/status.js'

describe('output envelope', () => {
  it('success: ok, data, status', () => {
    const env = JSON.parse(toJson(successEnvelope({run_id: 'r1'}, emptyStatusBar())))
    expect(Object.keys(env)).toEqual(['ok', 'data', 'status'])
    expect(env.ok).toBe(true)
    expect(env.data).toEqual({run_id: 'r1'})
    expect(Object.keys(env.status).sort()).toEqual(['budget', 'campaign', 'campaign_status', 'gpus', 'hosts', 'pending_evals', 'runs', 'staleness', 'warnings'])
  })

  it('error: code, message, retryable, suggested_action, and no stack without debug', () => {
    const error = new AutolabError('RUN_NOT_FOUND', 'No run "r9".', {details: {run: 'r9'}})
    const env = JSON.parse(toJson(errorEnvelope(error, emptyStatusBar())))
    expect(env.ok).toBe(false)
    expect(env.error).toEqual({code: 'RUN_NOT_FOUND', message: 'No run "r9".', retryable: false, suggested_action: ERROR_CODES.RUN_NOT_FOUND.action, details: {run: 'r9'}})
    expect(JSON.parse(toJson(errorEnvelope(error, emptyStatusBar(), true))).error.stack).toContain('AutolabError')
  })

  it('maps every code to one of the documented exit classes', () => {
    const classes = new Set(Object.values(EXIT))
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      expect(classes.has(spec.exit), code).toBe(true)
      expect(spec.exit).not.toBe(0)
      expect(code).toMatch(/^[A-Z][A-Z_]+$/)
    }
    expect(new AutolabError('INVALID_ARGUMENT', 'x').exitCode).toBe(2)
    expect(new AutolabError('RUN_NOT_FOUND', 'x').exitCode).toBe(3)
    expect(new AutolabError('CONFLICT', 'x').exitCode).toBe(4)
    expect(new AutolabError('NO_CAPACITY', 'x').exitCode).toBe(5)
    expect(new AutolabError('BUDGET_EXHAUSTED', 'x').exitCode).toBe(6)
    expect(new AutolabError('INTERNAL', 'x').exitCode).toBe(1)
  })

  it('classifies foreign errors', () => {
    expect(toAutolabError(Object.assign(new Error('database is locked'), {code: 'SQLITE_BUSY'})).code).toBe('STORE_BUSY')
    expect(toAutolabError(Object.assign(new Error('Nonexistent flag: --bogus\nSee more help with --help'), {oclif: {exit: 2}})).code).toBe('INVALID_ARGUMENT')
    expect(toAutolabError(new TypeError('x is undefined')).code).toBe('INTERNAL')
  })

  it('classifies the store\'s own faults from real errors: a full device is DISK_FULL, a read-only database STORE_READONLY', () => {
    let enospc: unknown
    try {
      writeFileSync('/dev/full', 'x')
    } catch (error) {
      enospc = error
    }
    expect((enospc as {code?: string})?.code).toBe('ENOSPC')
    const full = toAutolabError(enospc)
    expect(full).toMatchObject({code: 'DISK_FULL', retryable: true})
    expect(full.exitCode).toBe(5)

    const dir = mkdtempSync(join(tmpdir(), 'autolab-errors-'))
    try {
      new BetterSqlite3(join(dir, 'x.db')).exec('CREATE TABLE t (x)')
      const readOnly = new BetterSqlite3(join(dir, 'x.db'), {readonly: true})
      let refused: unknown
      try {
        readOnly.exec('INSERT INTO t VALUES (1)')
      } catch (error) {
        refused = error
      }
      readOnly.close()
      expect((refused as {code?: string})?.code).toMatch(/^SQLITE_READONLY/)
      expect(toAutolabError(refused)).toMatchObject({code: 'STORE_READONLY', retryable: false})
      expect(toAutolabError(refused).exitCode).toBe(4)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('never turns NaN or Infinity into null silently', () => {
    expect(toJson({a: Number.NaN, b: Number.POSITIVE_INFINITY, c: Number.NEGATIVE_INFINITY})).toBe('{"a":"NaN","b":"Infinity","c":"-Infinity"}')
  })
})

describe('wrapTokens', () => {
  it('breaks only between tokens, at the width, with an indent', async () => {
    const {wrapTokens} = await import('../../src/lib/output/render.js')
    const tokens = Array.from({length: 30}, (_, i) => `key_${i}=${i * 1000}`)
    const text = wrapTokens('config abc: ', tokens, 40)
    const lines = text.split('\n')
    expect(lines.length).toBeGreaterThan(5)
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(40)
    expect(lines.join(' ').split(/\s+/).filter((t) => t.startsWith('key_'))).toEqual(tokens)
    expect(lines[1].startsWith('        key_')).toBe(true)
    // A token longer than a line gets a line of its own, whole.
    expect(wrapTokens('x: ', ['a', 'b'.repeat(60), 'c'], 40).split('\n')).toEqual(['x: a', `   ${'b'.repeat(60)}`, '   c'])
  })
})

describe('lineChart', () => {
  it('gives each series its own glyph, so they stay apart without colour', async () => {
    const {lineChart, SERIES_GLYPHS} = await import('../../src/lib/output/chart.js')
    const series = [0, 1, 2].map((i) => ({name: `run${i}`, points: Array.from({length: 10}, (_, s) => ({step: s, value: i * 10 + s}))}))
    const text = lineChart(series, {width: 30, height: 10})
    for (const [i, glyph] of SERIES_GLYPHS.slice(0, 3).entries()) {
      expect(text).toContain(`${glyph} run${i}`)
      expect(text.split('\n').slice(0, -1).join('\n').split(glyph).length - 1).toBeGreaterThanOrEqual(5)
    }
  })
})
