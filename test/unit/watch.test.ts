// watch's data and its rendering, apart from any terminal: the snapshot of a campaign read from a
// real store (its live runs first, then the newest ended; pace and recent values; the campaign's
// evals and events; cheap with thousands of runs), the frame fitted to any screen, and the plain
// block with no ANSI.
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import chalk from 'chalk'
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest'
import {createCampaign} from '../../src/lib/campaigns.js'
import {type Ctx, openContext} from '../../src/lib/context.js'
import {recordEvent} from '../../src/lib/events.js'
import {fitLine, renderWatchBlock, renderWatchFrame, sparkline} from '../../src/lib/output/watch-view.js'
import {saveConfig} from '../../src/lib/runs/start.js'
import {type WatchSnapshot, watchSnapshot} from '../../src/lib/watch/snapshot.js'
import {recipeSpecId} from '../../src/lib/runs/queries.js'

// eslint-disable-next-line no-control-regex
const ANSI = /\u001B\[[0-9;?]*[A-Za-z]/g
const visible = (line: string) => [...line.replace(ANSI, '')].length

const RUNS = 4000
const NOW = new Date('2026-01-01T12:00:00Z')

describe('watch snapshot', () => {
  let dir: string
  let ctx: Ctx

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'autolab-watch-'))
    ctx = await openContext({store: join(dir, 'autolab.db'), create: true, log: () => {}, now: () => NOW})
    const {store} = ctx
    const specJson = JSON.stringify({metrics: {reward: {goal: 'max'}}, primary_metric: 'reward'})
    const insertRun = store.prepare(`INSERT INTO runs (run_id, name, campaign_id, parent_run_id, fork_step, host_id, recipe, spec_id, gpus, config_id, status, pid,
      exit_code, error, step, run_dir, observation_cadence, sample_cadence, trend_window, stall_seconds, control, created_at, started_at, ended_at, synced_at)
      VALUES (?, ?, ?, NULL, NULL, 'local', 'toy', ?, ?, ?, ?, NULL, NULL, NULL, ?, ?, 10, 50, 20, 60, '{}', ?, ?, ?, NULL)`)
    const insertStep = store.prepare('INSERT INTO metric_steps (run_id, step, time, record) VALUES (?, ?, ?, ?)')
    const insertEval = store.prepare(`INSERT INTO evals (seq, eval_id, run_id, campaign_id, suite, checkpoint_step, checkpoint_path, host_id, gpus, status, n, settings, dir, created_at)
      VALUES (?, ?, ?, ?, 'heldout', 10, 'checkpoints/step-10', 'local', '[]', ?, 8, '{}', 'evals/x', ?)`)
    store.write(() => {
      createCampaign(store, {name: 'sweep', actor: 'test', now: NOW})
      const spec = recipeSpecId(store, specJson)
      const configId = saveConfig(store, {a: 1}, NOW)
      const t = NOW.toISOString()
      // Thousands of ended runs, mostly of another campaign; a few in 'sweep'; then its live ones.
      for (let i = 1; i <= RUNS; i++) {
        const campaign = i % 100 === 0 ? 'sweep' : 'default'
        insertRun.run(`r${i}`, null, campaign, spec, '[]', configId, 'completed', 5, join(dir, `runs/r${i}`), t, t, t)
        recordEvent(store, {kind: 'run_exited', time: NOW, actor: 'system', runId: `r${i}`, campaignId: campaign, args: {status: 'completed', exit_code: 0, step: 5}})
      }
      insertRun.run('live1', 'first', 'sweep', spec, '["0"]', configId, 'running', 40, join(dir, 'runs/live1'), t, t, null)
      insertRun.run('live2', null, 'sweep', spec, '[]', configId, 'paused', 7, join(dir, 'runs/live2'), t, t, t)
      insertRun.run('queued1', null, 'sweep', spec, '[]', configId, 'queued', null, join(dir, 'runs/queued1'), t, null, null)
      // live1: 41 steps, 0.5 s apart (2 steps/s), reward rising 0.00 … 0.40.
      for (let s = 0; s <= 40; s++) insertStep.run('live1', s, 1000 + s / 2, JSON.stringify({step: s, time: 1000 + s / 2, metrics: {reward: s / 100, loss: 1}}))
      insertEval.run(1, 'e1', 'live1', 'sweep', 'running', t)
      insertEval.run(2, 'e2', 'r1', 'default', 'running', t)
      insertEval.run(3, 'e3', 'live1', 'sweep', 'completed', t)
      recordEvent(store, {kind: 'note', time: NOW, actor: 'agent', campaignId: 'sweep', reason: 'looking good', args: {text: 'x'}})
    })
  }, 120_000)

  afterAll(() => {
    ctx.close()
    ctx.store.close()
    rmSync(dir, {recursive: true, force: true})
  })

  it('shows the campaign\'s runs not ended first (oldest first), then the newest ended, and counts the rest', () => {
    const s = watchSnapshot(ctx, {campaign: 'sweep', maxRuns: 6, maxEvents: 5})
    expect(s.campaign).toMatchObject({campaign_id: 'sweep', name: 'sweep', status: 'active'})
    expect(s.runs.map((r) => r.run_id)).toEqual(['live1', 'live2', 'queued1', `r${RUNS}`, `r${RUNS - 100}`, `r${RUNS - 200}`])
    expect(s.runs_not_ended).toBe(3)
    expect(s.run_counts).toEqual({queued: 1, running: 1, paused: 1, completed: RUNS / 100, total: RUNS / 100 + 3})
    expect(Object.keys(s.run_counts)).toEqual(['queued', 'running', 'paused', 'completed', 'total'])
    expect(s.runs_not_shown).toBe(RUNS / 100 + 3 - 6)
  })

  it('gives each run its primary metric\'s recent values and a computing run its pace', () => {
    const s = watchSnapshot(ctx, {campaign: 'sweep', maxRuns: 3, maxEvents: 0})
    const live = s.runs[0]
    expect(live).toMatchObject({run_id: 'live1', name: 'first', status: 'running', step: 40, host: 'local', gpus: ['0'], primary_metric: 'reward', primary_value: 0.4, primary_step: 40})
    expect(live.primary_recent).toHaveLength(32)
    expect(live.primary_recent.at(-1)).toBe(0.4)
    expect(live.primary_recent[0]).toBe(0.09)
    // 19 steps in 9.5 s over its last 20 logged steps.
    expect(live.steps_per_second).toBe(2)
    // Not computing: no pace; nothing logged: no values.
    expect(s.runs[1]).toMatchObject({run_id: 'live2', steps_per_second: null, primary_recent: [], primary_value: null})
  })

  it('lists the campaign\'s pending evals and newest events, and the budget only when there is one', () => {
    const s = watchSnapshot(ctx, {campaign: 'sweep', maxRuns: 1, maxEvents: 3})
    expect(s.pending_evals).toEqual([{eval_id: 'e1', run_id: 'live1', suite: 'heldout', status: 'running', checkpoint_step: 10}])
    expect(s.recent_events).toHaveLength(3)
    expect(s.recent_events.every((e) => e.campaign_id === 'sweep')).toBe(true)
    expect(s.recent_events.at(-1)).toMatchObject({kind: 'note', reason: 'looking good'})
    expect(s.budget).toBeNull()
    expect(s.hosts.map((h) => h.host)).toEqual(['local'])
  })

  it('reads the current campaign by default and refuses an unknown one', () => {
    expect(watchSnapshot(ctx, {maxRuns: 1, maxEvents: 1}).campaign.name).toBe('default')
    expect(() => watchSnapshot(ctx, {campaign: 'nope', maxRuns: 1, maxEvents: 1})).toThrow(expect.objectContaining({code: 'CAMPAIGN_NOT_FOUND'}))
  })

  it('stays cheap with thousands of runs in the store: a handful of queries, and a few per run shown', () => {
    const queries = vi.spyOn(ctx.store, 'prepare')
    try {
      const s = watchSnapshot(ctx, {campaign: 'default', maxRuns: 40, maxEvents: 10})
      expect(s.runs).toHaveLength(40)
      expect(queries.mock.calls.length).toBeLessThanOrEqual(15 + 3 * 40)
    } finally {
      queries.mockRestore()
    }
  })
})

function snapshotOf(runs: number, events = 0, extra: Partial<WatchSnapshot> = {}): WatchSnapshot {
  const run = (i: number) => ({
    run_id: `r${i}`, name: i === 1 ? 'a-rather-long-run-name-that-goes-on' : null, status: i === 1 ? 'running' : 'completed', step: 100 + i, parent_run_id: null, fork_step: null,
    host: 'local', recipe: 'toy', campaign_id: 'default', gpus: i === 1 ? ['0', '1'] : [], pid: null, exit_code: null, error: null, config_id: 'c', run_dir: '/x',
    created_at: '', started_at: null, ended_at: null, synced_at: null, primary_metric: 'reward', primary_value: 0.5, primary_step: 100,
    primary_recent: [0.1, 0.2, 'NaN' as const, 0.4], steps_per_second: i === 1 ? 12.5 : null,
  })
  return {
    time: '2026-01-01T12:00:00.000Z', campaign: {campaign_id: 'default', name: 'default', status: 'active', goal: null, criterion: null},
    run_counts: {running: 1, completed: runs - 1, total: runs}, runs: Array.from({length: runs}, (_, i) => run(i + 1)), runs_not_ended: 1, runs_not_shown: 0,
    hosts: [{host: 'local', kind: 'local', gpus_total: 4, gpus_free: 2, gpus_used: 2, synced_at: null}], pending_evals: [],
    budget: {budget_gpu_seconds: 7200, spent_gpu_seconds: 3600, left_gpu_seconds: 3600, deadline: null, deadline_passed: false, exhausted: false, burn_rate: 2,
      budget_seconds_left_at_rate: 1800, deadline_seconds_left: null, projected_need_gpu_seconds: null},
    recent_events: Array.from({length: events}, (_, i) => ({event_id: i + 1, time: '2026-01-01T12:00:00.000Z', kind: 'checkpoint', actor: 'system', run_id: 'r1', campaign_id: 'default', reason: null, args: {step: i}, result: null})),
    warnings: ['host gpu1: 1 live run(s) not synced (HOST_UNREACHABLE): its data is as of its last sync'],
    ...extra,
  }
}

describe('watch view', () => {
  it('draws a sparkline low to high, marking non-finite values', () => {
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7])).toBe('▁▂▃▄▅▆▇█')
    expect(sparkline([3, 3, 3])).toBe('▄▄▄')
    expect(sparkline([1, 'NaN', 2])).toBe('▁!█')
    expect(sparkline(Array.from({length: 40}, (_, i) => i), 10)).toHaveLength(10)
  })

  it('cuts a line to a width without counting or breaking colour codes', () => {
    const line = `${chalk.red('abc')}def`
    expect(fitLine(line, 10)).toBe(line)
    const cut = fitLine('\u001B[31mabcdef\u001B[39m', 4)
    expect(cut.replace(ANSI, '')).toBe('abcd')
    expect(cut.endsWith('\u001B[0m')).toBe(true)
  })

  it.each([[120, 40], [80, 24], [60, 12], [40, 8], [20, 5]])('fits a frame to %i×%i, runs first, then as many events as fit', (width, height) => {
    const level = chalk.level
    chalk.level = 3
    try {
      for (const [runs, events] of [[1, 0], [3, 20], [60, 20]]) {
        const lines = renderWatchFrame(snapshotOf(runs, events), {width, height, intervalSeconds: 2})
        expect(lines.length).toBeLessThanOrEqual(height)
        for (const line of lines) expect(visible(line), line).toBeLessThanOrEqual(width)
        expect(lines[0]).toContain('autolab watch')
        const text = lines.map((l) => l.replace(ANSI, '')).join('\n')
        if (height >= 12) expect(text).toMatch(/r1 +a-rather-long-r…/)
        if (runs === 60 && height >= 8) expect(text).toMatch(/… \d+ more runs/)
        if (runs === 1 && height >= 12) expect(text).not.toContain('more run')
      }
    } finally {
      chalk.level = level
    }
  })

  it('shows the budget, the GPUs, the warnings and the events when there is room', () => {
    const text = renderWatchFrame(snapshotOf(3, 5), {width: 120, height: 40, intervalSeconds: 2}).join('\n').replace(ANSI, '')
    expect(text).toContain('budget: 60m of 2.0h GPU left · 30m at 2 GPUs')
    expect(text).toContain('GPUs used: local 2/4')
    expect(text).toContain('! host gpu1')
    expect(text).toMatch(/STEPS\/S/)
    expect(text).toContain('12.5')
    expect(text).toMatch(/▁▃!█/)
    expect(text).toContain('#5 12:00:00 checkpoint r1 step 4')
  })

  it('writes a plain block per refresh: timestamp, runs not ended, new events only, no ANSI even with colour forced', () => {
    const level = chalk.level
    chalk.level = 3
    try {
      const first = snapshotOf(3, 2)
      const block = renderWatchBlock(first, null)
      expect(block).not.toMatch(/\u001B/)
      expect(block.split('\n')[0]).toMatch(/^\[2026-01-01 12:00:00\] campaign default: 1 running · 2 completed/)
      expect(block).toContain('  r1 a-rather-long-run-name-that-goes-on running step 101 12.5 steps/s reward 0.5000 local gpus 0,1')
      expect(block).not.toContain('  r2 ')
      expect(block).toContain('#2 12:00:00 checkpoint r1 step 1')
      const next = renderWatchBlock(snapshotOf(3, 3), first)
      expect(next).toContain('#3 ')
      expect(next).not.toContain('#2 ')
    } finally {
      chalk.level = level
    }
  })
})
