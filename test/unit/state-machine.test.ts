import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {saveConfig} from '../../src/lib/runs/start.js'
import {recipeSpecId} from '../../src/lib/runs/queries.js'
import {LIVE_STATES, RUN_STATES, TERMINAL_STATES, canTransition, transition} from '../../src/lib/runs/state-machine.js'
import {type Store, openStore} from '../../src/lib/store/open.js'

describe('run state machine', () => {
  it('terminal states have no way out, and every target is a known state', () => {
    for (const state of TERMINAL_STATES) expect(RUN_STATES[state]).toEqual([])
    for (const targets of Object.values(RUN_STATES)) for (const t of targets) expect(Object.keys(RUN_STATES)).toContain(t)
    for (const state of LIVE_STATES) expect(TERMINAL_STATES).not.toContain(state)
  })

  it('allows the lifecycle of DESIGN.md and forbids shortcuts', () => {
    expect(canTransition('starting', 'running')).toBe(true)
    expect(canTransition('running', 'pausing')).toBe(true)
    expect(canTransition('pausing', 'paused')).toBe(true)
    expect(canTransition('paused', 'starting')).toBe(true)
    expect(canTransition('running', 'killing')).toBe(true)
    expect(canTransition('killing', 'killed')).toBe(true)
    expect(canTransition('completed', 'running')).toBe(false)
    expect(canTransition('killed', 'starting')).toBe(false)
    expect(canTransition('running', 'paused')).toBe(false)
    expect(canTransition('starting', 'completed')).toBe(false)
    expect(canTransition('bogus', 'running')).toBe(false)
  })

  describe('transition() on a real store', () => {
    let dir: string
    let store: Store
    beforeEach(async () => {
      dir = mkdtempSync(join(tmpdir(), 'autolab-sm-'))
      store = await openStore(join(dir, 'autolab.db'))
      const now = new Date()
      store.write(() => {
        const configId = saveConfig(store, {a: 1}, now)
        store.run(store.db.insertInto('runs').values({
          seq: 1, run_id: 'r1', name: null, campaign_id: 'default', parent_run_id: null, fork_step: null, host_id: 'local', recipe: 'toy', spec_id: recipeSpecId(store, '{}'),
          gpus: '[]', config_id: configId, status: 'starting', pid: null, exit_code: null, error: null, step: null, run_dir: join(dir, 'runs/r1'),
          observation_cadence: 10, sample_cadence: 50, trend_window: 20, stall_seconds: 60, control: '{}', created_at: now.toISOString(),
          started_at: null, ended_at: null, synced_at: null,
        }))
      })
    })
    afterEach(() => {
      store.close()
      rmSync(dir, {recursive: true, force: true})
    })

    const status = () => store.first(store.db.selectFrom('runs').select('status').where('run_id', '=', 'r1'))?.status

    it('moves the row and applies the patch', () => {
      store.write(() => transition(store, 'r1', 'starting', 'running', {pid: 42}))
      expect(status()).toBe('running')
      expect(store.first(store.db.selectFrom('runs').select('pid').where('run_id', '=', 'r1'))?.pid).toBe(42)
    })

    it('refuses a transition the table forbids, leaving the row alone', () => {
      expect(() => store.write(() => transition(store, 'r1', 'starting', 'completed'))).toThrow(expect.objectContaining({code: 'INVALID_TRANSITION'}))
      expect(status()).toBe('starting')
    })

    it('refuses to act on a stale read (the row is no longer in `from`)', () => {
      store.write(() => transition(store, 'r1', 'starting', 'running'))
      expect(() => store.write(() => transition(store, 'r1', 'starting', 'failed'))).toThrow(expect.objectContaining({code: 'CONFLICT'}))
      expect(status()).toBe('running')
    })
  })
})
