// `runs` answers a page, newest runs oldest first, with the total and the cursor of the page
// before; following the cursors visits every run once, and --all gives them all at once.
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import Runs from '../../src/commands/runs.js'
import {createStore, insertBareRuns, removeDir, runCommand, tempDir} from './run-command.js'

describe('runs, page by page', () => {
  let dir: string
  let store: string
  beforeEach(async () => {
    dir = tempDir()
    store = await createStore(dir)
    await insertBareRuns(store, Array.from({length: 250}, (_, n) => ({run_id: `r${n + 1}`, recipe: (n + 1) % 2 ? 'odd' : 'even', status: (n + 1) % 5 ? 'completed' : 'failed'})))
  })
  afterEach(() => removeDir(dir))

  const page = async (...args: string[]) => {
    const out = await runCommand(Runs, [...args, '--json', '--store', store])
    expect(out.json.ok, out.stdout).toBe(true)
    return out.json.data as {runs: {run_id: string}[]; total: number; truncated: boolean; next: {before: string; limit: number} | null}
  }
  const ids = (runs: {run_id: string}[]) => runs.map((r) => r.run_id)

  it('is the newest 100 by default, and the cursors walk back to the first run', async () => {
    const first = await page()
    expect(first).toMatchObject({total: 250, truncated: true, next: {before: 'r151', limit: 100}})
    expect(ids(first.runs)).toEqual(Array.from({length: 100}, (_, i) => `r${151 + i}`))
    const seen = [...ids(first.runs)]
    let next = first.next
    while (next) {
      const older = await page('--before', next.before, '--limit', String(next.limit))
      expect(older.total).toBe(250)
      seen.unshift(...ids(older.runs))
      next = older.next
      if (!next) expect(older.truncated).toBe(false)
    }
    expect(seen).toEqual(Array.from({length: 250}, (_, i) => `r${i + 1}`))
  })

  it('pages filtered lists by the filter, and --all lists every match', async () => {
    const failedOdd = await page('--status', 'failed', '--recipe', 'odd', '--limit', '10')
    expect(failedOdd.total).toBe(25)
    expect(ids(failedOdd.runs)).toEqual(Array.from({length: 10}, (_, i) => `r${5 + 10 * (15 + i)}`))
    expect(failedOdd.next).toEqual({before: 'r155', limit: 10})
    const all = await page('--all', '--status', 'failed')
    expect(all).toMatchObject({total: 50, truncated: false, next: null})
    expect(ids(all.runs)).toHaveLength(50)
  })

  it('refuses --all with --limit, and a --before run that does not exist', async () => {
    expect((await runCommand(Runs, ['--all', '--limit', '5', '--json', '--store', store])).json.error.code).toBe('INVALID_ARGUMENT')
    expect((await runCommand(Runs, ['--before', 'r9999', '--json', '--store', store])).json.error.code).toBe('RUN_NOT_FOUND')
  })
})
