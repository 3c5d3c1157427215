// `runs --json` prints the list as JSON text made by SQLite (listRunsJson); it must be exactly
// the list runView builds for code (listRuns), whatever the rows hold.
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {JsonText, toJson} from '../../src/lib/output/envelope.js'
import {listRuns, listRunsJson} from '../../src/lib/runs/list.js'
import {recipeSpecId} from '../../src/lib/runs/queries.js'
import {type Store, openStore} from '../../src/lib/store/open.js'

describe('runs as JSON text', () => {
  let dir: string
  let store: Store
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'autolab-list-json-'))
    store = await openStore(join(dir, 'autolab.db'))
    store.write(() => {
      store.sqlite.prepare("INSERT INTO configs VALUES ('c', '{}', 'now')").run()
      store.sqlite.prepare("INSERT INTO campaigns (campaign_id, name, created_at) VALUES ('other', 'other', 'now')").run()
      const spec = recipeSpecId(store, '{"command":"true"}')
      const insert = store.sqlite.prepare(`INSERT INTO runs (seq, run_id, name, campaign_id, parent_run_id, fork_step, host_id, recipe, spec_id, gpus, config_id, status, pid, exit_code, error, step,
        run_dir, observation_cadence, sample_cadence, control, trend_window, stall_seconds, created_at, started_at, ended_at, synced_at)
        VALUES (?, ?, ?, ?, ?, ?, 'local', ?, ?, ?, 'c', ?, ?, ?, ?, ?, ?, 10, 50, '{}', 20, 60, ?, ?, NULL, NULL)`)
      insert.run(1, 'r1', null, 'default', null, null, 'toy', spec, '[]', 'completed', 11, 0, null, 300, '/runs/r1', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:01.000Z')
      insert.run(2, 'r2', 'a "quoted" name, ünïcode ✓ and \\ back', 'default', 'r1', 100, 'toy', spec, '["0","1"]', 'failed', null, 137, 'line one\nline two\ttab \u0001 control', 150, '/runs/r2 with space', 'now', null)
      insert.run(3, 'r3', 'other-campaign', 'other', null, null, 'grpo', spec, '["3"]', 'running', 4242, null, null, null, '/runs/r3', 'now', 'now')
    })
  })
  afterEach(() => {
    store.close()
    rmSync(dir, {recursive: true, force: true})
  })

  it('is the list runView builds, for every filter and limit', () => {
    const cases = [{}, {limit: 2}, {limit: 1}, {statuses: ['failed', 'running']}, {recipe: 'grpo'}, {campaign: 'default'}, {campaign: 'none'}]
    for (const options of cases) {
      const text = listRunsJson(store, options).text
      expect(JSON.parse(text), JSON.stringify(options)).toEqual(listRuns(store, options))
    }
    expect(listRuns(store)).toHaveLength(3)
    expect(listRunsJson(store, {campaign: 'none'}).text).toBe('[]')
  })

  it('is put in place by toJson, and a string that looks like its placeholder stays a string', () => {
    const lookalike = '\u0000json-text:0\u0000'
    const printed = toJson({runs: listRunsJson(store), other: [new JsonText('{"x":1}')], bad: Number.NaN, lookalike})
    expect(JSON.parse(printed)).toEqual({runs: listRuns(store), other: [{x: 1}], bad: 'NaN', lookalike})
  })
})
