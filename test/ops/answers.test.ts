// Answers an agent can act on in one call, judged by the metrics the recipe declares: trend's
// verdict, compare's per-run summary, history's bounded page, show's goals, tree's default
// metric, status's primary metric and launch's hint — on real toy-trainer runs, in-process.
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import Compare from '../../src/commands/compare.js'
import History from '../../src/commands/history.js'
import Kill from '../../src/commands/kill.js'
import Launch from '../../src/commands/launch.js'
import Log from '../../src/commands/log.js'
import Show from '../../src/commands/show.js'
import Status from '../../src/commands/status.js'
import Tree from '../../src/commands/tree.js'
import Trend from '../../src/commands/trend.js'
import {runCommand, waitFor} from '../commands/run-command.js'
import {useScratchStore} from './cli.js'

const FAST = {step_time_ms: 0, save_every: 0}

describe('answers an agent can act on in one call', () => {
  const scratch = useScratchStore('autolab-answers-')
  const run = async (command: Parameters<typeof runCommand>[0], ...args: string[]) => {
    const out = await runCommand(command, [...args, '--store', scratch.store])
    expect(out.json.ok, `${args.join(' ')}: ${out.stdout}`).toBe(true)
    return out.json.data
  }
  const launch = async (config: Record<string, unknown>, ...extra: string[]) =>
    run(Launch, '--recipe', 'toy', ...Object.entries(config).flatMap(([k, v]) => ['--set', `${k}=${JSON.stringify(v)}`]), ...extra)
  const completed = (runId: string) => waitFor(async () => (await run(Show, runId)).run.status === 'completed', `${runId} completes`)

  it('trend: a good learning rate is improving on reward, a tiny one a plateau; the window in steps and observations; goal null for entropy', async () => {
    const good = await launch({...FAST, learning_rate: 0.05, max_steps: 150})
    const tiny = await launch({...FAST, learning_rate: 1e-5, max_steps: 150})
    await completed(good.run_id)
    await completed(tiny.run_id)

    const climbing = await run(Trend, good.run_id, '--metric', 'reward')
    expect(climbing).toMatchObject({goal: 'max', verdict: 'improving', computed_over: 'observations', window: 20})
    expect(climbing.window_steps).toBe(climbing.computed_over_steps[1] - climbing.computed_over_steps[0])
    expect(climbing.window_steps).toBeGreaterThanOrEqual(100)
    expect(climbing.change).toBeCloseTo(climbing.slope * climbing.window_steps, 9)
    expect(climbing.change).toBeGreaterThan(2 * climbing.noise)

    const flat = await run(Trend, tiny.run_id, '--metric', 'reward')
    expect(flat).toMatchObject({goal: 'max', verdict: 'plateau'})
    // Over raw points too.
    expect(await run(Trend, tiny.run_id, '--metric', 'reward', '--steps', '1:150')).toMatchObject({verdict: 'plateau', window: null, window_steps: 149, n: 150})
    expect(await run(Trend, good.run_id, '--metric', 'loss')).toMatchObject({goal: 'min'})

    // entropy falls as the policy sharpens: a change, neither good nor bad (no goal).
    expect(await run(Trend, good.run_id, '--metric', 'entropy')).toMatchObject({goal: null, verdict: 'changing'})
    expect(await run(Trend, good.run_id, '--metric', 'learning_rate')).toMatchObject({goal: null, verdict: 'plateau'})
  })

  it('compare: a summary per run — last, best by the goal, mean, slope and verdict over the window', async () => {
    const good = await launch({...FAST, learning_rate: 0.05, max_steps: 150})
    const tiny = await launch({...FAST, learning_rate: 1e-5, max_steps: 150})
    await completed(good.run_id)
    await completed(tiny.run_id)
    const compared = await run(Compare, good.run_id, tiny.run_id, '--metric', 'reward')
    const [a, b] = compared.runs.map((r: any) => r.summary)
    expect(a).toMatchObject({goal: 'max', verdict: 'improving', window: 20, last_step: 150})
    expect(b).toMatchObject({goal: 'max', verdict: 'plateau', window: 20, last_step: 150})
    const values = (id: string) => compared.points.filter((p: any) => p[id] !== undefined).map((p: any) => p[id] as number)
    for (const [summary, id] of [[a, good.run_id], [b, tiny.run_id]] as const) {
      expect(summary.last).toBe(values(id).at(-1))
      expect(summary.best).toBe(Math.max(...values(id)))
      expect(compared.points.find((p: any) => p.step === summary.best_step)[id]).toBe(summary.best)
      expect(typeof summary.mean).toBe('number')
      expect(typeof summary.slope).toBe('number')
      expect(summary.window_steps).toBe(summary.computed_over_steps[1] - summary.computed_over_steps[0])
    }
    expect(a.mean).toBeGreaterThan(b.mean)

    // The window is the latest observations within the compared steps; no best without a goal.
    const early = await run(Compare, good.run_id, tiny.run_id, '--metric', 'entropy', '--to', '60', '--window', '4')
    expect(early.runs[0].summary).toMatchObject({goal: null, best: null, best_step: null, last_step: 60, n: 4, computed_over_steps: [30, 60]})
  })

  it('history: without a range, the newest 1,000 points, truncated, with the flags of the page before', async () => {
    const long = await launch({...FAST, max_steps: 1200})
    await completed(long.run_id)
    const page = await run(History, long.run_id, '--metric', 'reward')
    expect(page).toMatchObject({total: 1200, truncated: true, next: {to: 200, last: 1000}})
    expect(page.points).toHaveLength(1000)
    expect([page.points[0].step, page.points.at(-1).step]).toEqual([201, 1200])

    const before = await run(History, long.run_id, '--metric', 'reward', '--to', String(page.next.to), '--last', String(page.next.last))
    expect(before).toMatchObject({total: 200, truncated: false, next: null})
    expect([before.points[0].step, before.points.at(-1).step]).toEqual([1, 200])

    // An explicit range is not cut at 1,000; --last says what it leaves out.
    const all = await run(History, long.run_id, '--from', '1')
    expect(all).toMatchObject({total: 1200, truncated: false, next: null})
    expect(all.points).toHaveLength(1200)
    expect(await run(History, long.run_id, '--metric', 'loss', '--last', '5', '--from', '100')).toMatchObject({total: 1101, truncated: true, next: {from: 100, to: 1195, last: 5}})
  })

  it('ingest: the toy\'s accuracy and reward settling at 1.0 raise no spike (accuracy 0.98 → 1.0 used to wake wait)', async () => {
    const settled = await launch({...FAST, learning_rate: 0.05, max_steps: 1200})
    await completed(settled.run_id)
    const anomalies = (await run(Log, '--kind', 'anomaly', '--run', settled.run_id)).events.map((e: any) => e.args)
    expect(anomalies.filter((a: any) => a.metric === 'accuracy' || a.metric === 'reward')).toEqual([])
  })

  it('show: goal and best from the recipe\'s declared metrics; none for entropy and learning_rate', async () => {
    const r = await launch({...FAST, max_steps: 30})
    await completed(r.run_id)
    const {stats} = (await run(Show, r.run_id)).run
    expect(stats.reward).toMatchObject({goal: 'max', higher_is_better: true, best: expect.any(Number), best_step: expect.any(Number)})
    expect(stats.loss).toMatchObject({goal: 'min', higher_is_better: false, best: expect.any(Number)})
    expect(stats.reward.best).toBeGreaterThanOrEqual(stats.reward.last)
    expect(stats.loss.best).toBeLessThanOrEqual(stats.loss.last)
    for (const metric of ['entropy', 'kl', 'learning_rate']) {
      expect(stats[metric], metric).toMatchObject({goal: null, higher_is_better: null, best: null, best_step: null, last: expect.any(Number)})
    }
  })

  /** A project whose toy recipe declares accuracy as its primary metric. */
  const accuracyProject = () => {
    const project = join(scratch.dir, 'accuracy.yaml')
    writeFileSync(project, [
      'recipes:', '  toy:', '    command: "{node} {examples}/toy-rl/train.js"', '    config: {max_steps: 20, step_time_ms: 0, save_every: 0}',
      '    metrics:', '      accuracy: {goal: max}', '      reward: {goal: max}', '    primary_metric: accuracy', '',
    ].join('\n'))
    return project
  }

  it('tree: the primary metric the runs declare by default, reward when they disagree (and says which)', async () => {
    const first = await run(Launch, '--recipe', 'toy', '--project', accuracyProject())
    await completed(first.run_id)
    const tree = await run(Tree)
    expect(tree).toMatchObject({metric: 'accuracy', metric_source: 'primary_metric', primary_metrics: ['accuracy']})
    expect(tree.roots[0].metric).toEqual(expect.any(Number))
    expect(await run(Tree, '--metric', 'loss')).toMatchObject({metric: 'loss', metric_source: 'asked'})

    // A run of the built-in toy recipe (primary metric reward): the runs disagree.
    const second = await launch({...FAST, max_steps: 20})
    await completed(second.run_id)
    expect(await run(Tree)).toMatchObject({metric: 'reward', metric_source: 'default', primary_metrics: ['accuracy', 'reward']})
  })

  it('launch: says the primary metric, and its hint follows it', async () => {
    const launched = await run(Launch, '--recipe', 'toy', '--project', accuracyProject())
    expect(launched.primary_metric).toBe('accuracy')
    const hint = Launch.prototype.render.call(undefined, launched)
    expect(hint).toContain(`autolab history ${launched.run_id} --metric accuracy`)
    expect(hint).not.toContain('reward')
    expect((await launch({...FAST, max_steps: 5})).primary_metric).toBe('reward')
  })

  it('status: each active run with the latest value of its primary metric', async () => {
    const live = await launch({step_time_ms: 20, max_steps: 100_000, save_every: 0})
    const status = await waitFor(async () => {
      const s = await run(Status)
      return typeof s.active_runs[0]?.primary_value === 'number' ? s : undefined
    }, 'a primary metric value in status')
    expect(status.active_runs).toHaveLength(1)
    expect(status.active_runs[0]).toMatchObject({run_id: live.run_id, primary_metric: 'reward', primary_value: expect.any(Number), primary_step: expect.any(Number)})
    const {points} = await run(History, live.run_id, '--metric', 'reward', '--to', String(status.active_runs[0].primary_step))
    expect(points.at(-1)).toEqual({step: status.active_runs[0].primary_step, reward: status.active_runs[0].primary_value})
    await run(Kill, live.run_id, '--grace', '0')
  })
})
