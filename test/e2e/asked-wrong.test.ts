// Asked wrong is not "nothing": a metric the run never logged is METRIC_NOT_FOUND listing the
// run's metrics (it was an empty curve, the same as a run with no data), and a name that matches
// several runs is AMBIGUOUS_RUN listing them (it was the newest, acted upon). A run that has logged
// nothing yet is not asked wrong: its reads answer empty, with no_data_yet: true.
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {expectError, expectOk} from '../helpers/cli.js'
import {type Sandbox, useSandboxes} from '../helpers/sandbox.js'

const sandbox = useSandboxes()
const TOY_METRICS = ['accuracy', 'entropy', 'kl', 'learning_rate', 'loss', 'reward']

/** A recipe whose trainer logs nothing (and needs no CPU): a run with no data yet, for as long as the test. */
function withSleeper(sb: Sandbox): void {
  writeFileSync(join(sb.dir, 'autolab.yaml'), 'recipes:\n  sleeper:\n    command: "exec sleep 120"\n')
}

describe('METRIC_NOT_FOUND', () => {
  it('trend, history, compare and tree --metric name an unknown metric and list the run\'s metrics', async () => {
    const sb = sandbox()
    const {run_id: id} = await sb.launch({max_steps: 20, step_time_ms: 0, save_every: 0})
    expect(await sb.waitForExitCode(id)).toBe(0)

    const trend = expectError(await sb.json(['trend', id, '--metric', 'rewards']), 'METRIC_NOT_FOUND', 3)
    expect(trend.message).toContain('rewards')
    expect(trend.details).toMatchObject({run_id: id, metric: 'rewards', metrics: TOY_METRICS})
    const history = expectError(await sb.json(['history', id, '--metric', 'reward,acc']), 'METRIC_NOT_FOUND', 3)
    expect(history.details).toMatchObject({metric: 'acc', missing: ['acc'], metrics: TOY_METRICS})
    const compare = expectError(await sb.json(['compare', id, id, '--metric', 'Reward']), 'METRIC_NOT_FOUND', 3)
    expect(compare.details.metrics).toEqual(TOY_METRICS)
    const tree = expectError(await sb.json(['tree', '--metric', 'eval_accuracy']), 'METRIC_NOT_FOUND', 3)
    expect(tree.details).toMatchObject({campaign: 'default', metrics: TOY_METRICS})

    // The metrics it has still answer, with data.
    const points = expectOk(await sb.json(['history', id, '--metric', 'reward', '--metric', 'loss']))
    expect(points).toMatchObject({metrics: ['reward', 'loss'], no_data_yet: false})
    expect(points.points).toHaveLength(20)
    expect(expectOk(await sb.json(['trend', id, '--metric', 'reward', '--steps', '1:20']))).toMatchObject({n: 20, no_data_yet: false})
    expect(expectOk(await sb.json(['compare', id, id, '--metric', 'reward'])).points).toHaveLength(20)
    expect(expectOk(await sb.json(['tree', '--metric', 'accuracy'])).roots[0].metric).toEqual(expect.any(Number))
    // tree's default metric is only a default: no error when nothing logs it.
    expect(expectOk(await sb.json(['tree'])).metric).toBe('reward')
  })

  it('a run that has logged nothing yet answers empty with no_data_yet, whatever the metric', async () => {
    const sb = sandbox()
    withSleeper(sb)
    const {run_id: id} = expectOk(await sb.json(['launch', '--recipe', 'sleeper']))
    const history = expectOk(await sb.json(['history', id, '--metric', 'reward']))
    expect(history).toEqual({run_id: id, metrics: ['reward'], points: [], no_data_yet: true, total: 0, truncated: false, next: null})
    const trend = expectOk(await sb.json(['trend', id, '--metric', 'reward']))
    expect(trend).toMatchObject({run_id: id, n: 0, slope: null, mean: null, latest: null, computed_over_steps: null, no_data_yet: true})
    const compare = expectOk(await sb.json(['compare', id, id, '--metric', 'reward']))
    expect(compare.runs.map((r: any) => r.no_data_yet)).toEqual([true, true])
    expect(compare.points).toEqual([])
    expect(expectOk(await sb.json(['tree', '--metric', 'reward'])).roots[0]).toMatchObject({run_id: id, metric: null})
  })
})

describe('AMBIGUOUS_RUN', () => {
  it('a name given to runs in two campaigns is AMBIGUOUS_RUN listing both, for reads and mutations; the ids still work', async () => {
    const sb = sandbox()
    withSleeper(sb)
    const first = expectOk(await sb.json(['launch', '--recipe', 'sleeper', '--name', 'baseline']))
    await sb.ok(['campaign', 'create', 'sweep'])
    const second = expectOk(await sb.json(['launch', '--recipe', 'sleeper', '--name', 'baseline']))
    for (const args of [['show', 'baseline'], ['history', 'baseline'], ['kill', 'baseline', '--grace', '0'], ['note', '--run', 'baseline', 'hm'], ['compare', first.run_id, 'baseline', '--metric', 'reward']]) {
      const error = expectError(await sb.json(args), 'AMBIGUOUS_RUN', 2)
      expect(error.details.run, args.join(' ')).toBe('baseline')
      expect(error.details.matches).toEqual([
        expect.objectContaining({run_id: first.run_id, name: 'baseline', campaign_id: 'default', status: 'running'}),
        expect.objectContaining({run_id: second.run_id, name: 'baseline', campaign_id: 'sweep', status: 'running'}),
      ])
      expect(error.suggested_action).toContain(`${first.run_id}, ${second.run_id}`)
    }
    // Nothing was acted upon: both still run, no note was written.
    expect((await sb.runs()).map((r: any) => r.status)).toEqual(['running', 'running'])
    expect((await sb.ok(['log', '--kind', 'note'])).events).toEqual([])
    expect((await sb.show(second.run_id)).name).toBe('baseline')
    expect((await sb.ok(['kill', first.run_id, '--grace', '0'])).status).toBe('killed')
    // Ids and names are exact: no prefix matches.
    expectError(await sb.json(['show', 'base']), 'RUN_NOT_FOUND', 3)
  })
})
