// `tree` shows the newest runs of a campaign and their ancestors, so every run shown hangs from
// its root; --all shows every run, and the latest value of the metric comes from latest_metrics.
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import TreeCommand from '../../src/commands/tree.js'
import {createStore, insertBareRuns, removeDir, runCommand, tempDir} from './run-command.js'

interface Node {run_id: string; metric: unknown; children: Node[]}

describe('tree, newest first', () => {
  let dir: string
  let store: string
  beforeEach(async () => {
    dir = tempDir()
    store = await createStore(dir)
    // Every tenth run after r100 is a fork of the run 100 before it; every third has no reward logged.
    const runs = Array.from({length: 250}, (_, n) => {
      const i = n + 1
      const parent = i > 100 && i % 10 === 0 ? `r${i - 100}` : null
      return {run_id: `r${i}`, parent_run_id: parent, fork_step: parent ? 5 : null}
    })
    await insertBareRuns(store, runs, {command: 'true', metrics: {reward: {goal: 'max'}}, primary_metric: 'reward'}, (db) => {
      const latest = db.sqlite.prepare("INSERT INTO latest_metrics (run_id, key, step, value) VALUES (?, 'reward', 10, ?)")
      for (let i = 1; i <= 250; i++) if (i % 3 !== 0) latest.run(`r${i}`, i === 7 ? '"NaN"' : String(i / 1000))
    })
  })
  afterEach(() => removeDir(dir))

  const tree = async (...args: string[]) => {
    const out = await runCommand(TreeCommand, [...args, '--json', '--store', store])
    expect(out.json.ok, out.stdout).toBe(true)
    return out.json.data as {roots: Node[]; total: number; shown: number; truncated: boolean; metric: string}
  }
  const flatten = (nodes: Node[]): Node[] => nodes.flatMap((n) => [n, ...flatten(n.children)])

  it('shows the newest 100 and their ancestors, each under its parent', async () => {
    const page = await tree()
    const shown = flatten(page.roots).map((n) => n.run_id)
    const expected = [
      ...Array.from({length: 100}, (_, i) => `r${151 + i}`),
      ...[60, 70, 80, 90, 100, 110, 120, 130, 140, 150].map((i) => `r${i}`),
      ...[10, 20, 30, 40, 50].map((i) => `r${i}`),
    ]
    expect(new Set(shown)).toEqual(new Set(expected))
    expect(page).toMatchObject({total: 250, shown: 115, truncated: true, metric: 'reward'})
    // r250 hangs from r150, which hangs from r50, a root.
    const r50 = page.roots.find((r) => r.run_id === 'r50')!
    expect(r50.children.map((c) => c.run_id)).toEqual(['r150'])
    expect(r50.children[0].children.map((c) => c.run_id)).toEqual(['r250'])
  })

  it('--all shows every run with its latest value: null where the metric was never logged, non-finite as a string', async () => {
    const all = await tree('--all')
    const nodes = new Map(flatten(all.roots).map((n) => [n.run_id, n]))
    expect(all).toMatchObject({total: 250, shown: 250, truncated: false})
    expect(nodes.size).toBe(250)
    expect([nodes.get('r1')!.metric, nodes.get('r3')!.metric, nodes.get('r7')!.metric]).toEqual([0.001, null, 'NaN'])
    expect((await tree('--limit', '5')).shown).toBe(5 + 2)
  })
})
