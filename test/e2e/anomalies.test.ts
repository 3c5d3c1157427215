// Anomalies that mean something (issue 11): a whole toy campaign that goes well — a plateau, a
// modify that lifts it, a fork, convergence — raises no anomaly at all, while a run that blows up
// wakes `wait --for anomaly:hard` with the metric that went NaN.
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {parse, stringify} from 'yaml'
import {exampleProjectYaml} from '../../src/lib/project.js'
import {waitFor} from '../helpers/cli.js'
import {useSandboxes} from '../helpers/sandbox.js'

const sandbox = useSandboxes()

describe('anomalies', () => {
  it('plateau → modify → fork → convergence raises no anomaly event', async () => {
    const sb = sandbox()
    const run = await sb.launch({learning_rate: 0.00001, max_steps: 700, save_every: 50, step_time_ms: 2, seed: 4})
    await sb.waitForSteps(run.run_id, 120, 30_000)
    const modified = await sb.ok(['modify', run.run_id, '--set', 'learning_rate=0.05', '--wait', '--timeout', '30', '--reason', 'plateau'])
    expect(modified.status).toBe('acknowledged')
    const child = await sb.ok(['fork', run.run_id, '--step', '100', '--set', 'learning_rate=0.05', '--reason', 'branch from the plateau'])
    for (const id of [run.run_id, child.run_id]) {
      await waitFor(async () => ((await sb.show(id)).status === 'completed' ? true : undefined), {timeoutMs: 60_000, message: `${id} completed`})
    }
    // The fork at step 100 with the good rate converged (600 steps at 0.05: deterministic, whatever
    // the machine's load; the parent's own climb depends on when its modify landed)...
    expect((await sb.ok(['trend', child.run_id, '--metric', 'reward'])).latest).toBeGreaterThan(0.6)
    // ...and nothing woke the agent for it.
    expect((await sb.ok(['log', '--kind', 'anomaly'])).events).toEqual([])
  })

  it('a run at lr 1e5 (the recipe\'s bound; from ~100 it diverges) wakes wait --for anomaly:hard with severity hard and the metric that went NaN', async () => {
    const sb = sandbox()
    const run = await sb.launch({learning_rate: 100000, max_steps: 100000, step_time_ms: 20})
    const woke = await sb.ok(['wait', '--for', 'anomaly:hard', '--run', run.run_id, '--since', '0', '--timeout', '60'])
    expect(woke.woken_by).toBe('anomaly:hard')
    expect(woke.events[0].args).toMatchObject({type: 'nan', severity: 'hard', rule: 'not_finite'})
    expect(typeof woke.events[0].args.metric).toBe('string')
  })

  it('a KL guard crossed raises one soft anomaly, for the whole excursion', async () => {
    const sb = sandbox()
    const project = parse(exampleProjectYaml())
    project.recipes.toy.guards = {kl: {max: 0.5}}
    writeFileSync(join(sb.dir, 'autolab.yaml'), stringify(project))
    const run = await sb.launch({learning_rate: 0.05, max_steps: 300, step_time_ms: 0})
    await waitFor(async () => ((await sb.show(run.run_id)).status === 'completed' ? true : undefined), {timeoutMs: 60_000, message: 'completed'})
    const anomalies = (await sb.ok(['log', '--kind', 'anomaly'])).events
    expect(anomalies).toHaveLength(1)
    expect(anomalies[0].args).toMatchObject({type: 'guard', severity: 'soft', metric: 'kl', rule: 'guard', threshold: {max: 0.5}})
    expect(anomalies[0].args.value).toBeGreaterThan(0.5)
  })
})
