// The benchmark is not a timed test; CI runs it at a tiny size (BENCH_SMOKE=1) only to show that
// every section still runs end to end and writes its results file with every figure in it.
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {REPO_ROOT} from './helpers/cli.js'

describe('npm run bench, at smoke size', () => {
  const dir = mkdtempSync(join(tmpdir(), 'autolab-bench-smoke-'))
  afterAll(() => rmSync(dir, {recursive: true, force: true}))

  it('runs every section and writes each figure beside its baseline', () => {
    const results = join(dir, 'RESULTS.md')
    const printed = execFileSync(process.execPath, ['bench/run.mjs'], {cwd: REPO_ROOT, env: {...process.env, BENCH_SMOKE: '1', BENCH_RESULTS: results}, encoding: 'utf8', timeout: 240_000})
    const written = readFileSync(results, 'utf8')
    for (const section of ['reads 1k', 'reads 10k', 'ingest', 'fork', 'wake', 'ssh', 'concurrency']) expect(written, section).toContain(`## ${section}`)
    for (const figure of ['autolab runs --json', 'autolab runs --all --json', 'autolab tree --json', 'sqlite3 -json', 'node -e 0', 'bare INSERT', 'cp -r']) expect(written, figure).toContain(figure)
    // The concurrent CLIs: zero errors is a target even at smoke size.
    expect(written).toMatch(/CLIs at once.*, 0 errors \|/)
    expect(printed).toContain('written to')
  }, 300_000)
})
