// A script acting as an agent, using only the --json output of the built CLI: the whole loop of
// a campaign, then a fresh process reconstructing it from the store alone.
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {waitFor} from '../commands/run-command.js'
import {cli, cliAsync, type CliResult, killAllUnder, useScratchStore} from '../ops/cli.js'

describe('an agent runs a campaign through the CLI alone', () => {
  const scratch = useScratchStore('autolab-agent-')

  /** Every response must be one JSON document; returns data, failing on an error envelope. */
  const act = (...args: string[]) => {
    const out = cli([...args, '--store', scratch.store], {AUTOLAB_ACTOR: 'test-agent'})
    expect(out.json, `${args.join(' ')}: ${out.stderr}`).not.toBeNull()
    expect(out.json.ok, `${args.join(' ')}: ${JSON.stringify(out.json.error)}`).toBe(true)
    return out.json.data
  }

  it('budget → low-LR run → wait → flat trend → fork with a higher LR → kill → wait for exit → finalize; log and export tell it all', async () => {
    act('campaign', 'create', 'mod7', '--goal', 'reward above 0.9', '--criterion', 'mean reward of the last 20 steps', '--budget-gpu-hours', '1', '--reason', 'find a working lr')
    const parent = act('launch', '--recipe', 'toy', '--set', 'learning_rate=0.00001', '--set', 'step_time_ms=15', '--set', 'max_steps=100000', '--set', 'save_every=20', '--reason', 'baseline at a cautious lr')
    let cursor = act('log', '--limit', '1').cursor as number
    const woke = act('wait', '--for', 'step', '--run', parent.run_id, '--step', '120', '--timeout', '60')
    expect(woke.woken_by).toBe('step')
    const flat = act('trend', parent.run_id, '--metric', 'reward', '--window', '10')
    expect(Math.abs(flat.slope)).toBeLessThan(0.002)
    expect(flat.computed_over_steps[1]).toBeGreaterThanOrEqual(100)
    act('note', '--run', parent.run_id, `reward flat at ${flat.mean.toFixed(3)}: lr too low`)
    const child = act('fork', parent.run_id, '--set', 'learning_rate=0.05', '--set', 'max_steps=800', '--set', 'step_time_ms=0', '--reason', 'plateau: raise lr 5000x')
    expect(child.parent_run_id).toBe(parent.run_id)
    expect(act('kill', parent.run_id, '--grace', '2', '--reason', 'the child is the better bet').status).toBe('killed')
    const exit = act('wait', '--for', 'exit', '--run', child.run_id, '--since', String(cursor), '--timeout', '90')
    expect(exit.woken_by).toBe('exit')
    // The parent's exit came first; keep waiting from the cursor until the child's.
    let events = exit.events
    cursor = exit.cursor
    while (!events.some((e: {run_id: string}) => e.run_id === child.run_id)) {
      const next = act('wait', '--for', 'exit', '--run', child.run_id, '--since', String(cursor), '--timeout', '90')
      expect(next.woken_by).toBe('exit')
      events = next.events
      cursor = next.cursor
    }
    const ended = act('show', child.run_id).run
    expect(ended.status).toBe('completed')
    expect(ended.stats.reward.mean).toBeGreaterThan(flat.mean)
    const final = act('campaign', 'finalize', '--winner', child.run_id, '--summary', 'lr 0.05 climbs to ~1; 1e-5 stays at chance')
    expect(final).toMatchObject({status: 'finalized', winner_run_id: child.run_id})

    const log = act('log', '--limit', '1000').events as {kind: string; reason: string | null; actor: string}[]
    const story = log.filter((e) => e.actor === 'test-agent').map((e) => e.kind)
    expect(story).toEqual(['campaign_create', 'launch', 'note', 'fork', 'kill', 'campaign_finalize'])
    expect(log.find((e) => e.kind === 'fork')!.reason).toBe('plateau: raise lr 5000x')
    expect(log.find((e) => e.kind === 'kill')!.reason).toBe('the child is the better bet')

    const exported = cli(['export', '--store', scratch.store])
    expect(exported.status).toBe(0)
    const doc = exported.json.data
    expect(doc.campaign).toMatchObject({name: 'mod7', status: 'finalized', winner_run_id: child.run_id, goal: 'reward above 0.9'})
    expect(doc.runs.map((r: {run_id: string}) => r.run_id)).toEqual([parent.run_id, child.run_id])
    expect(doc.tree.roots[0].children[0]).toMatchObject({run_id: child.run_id})
    expect(doc.events.map((e: {kind: string}) => e.kind)).toEqual(expect.arrayContaining(['launch', 'fork', 'kill', 'run_exited', 'checkpoint', 'note', 'campaign_finalize']))
    expect(doc.configs).toHaveLength(2)
    expect(doc.metrics.length).toBeGreaterThan(400)
    expect(doc.observations.length).toBeGreaterThan(10)
    expect(doc.samples.length).toBeGreaterThan(0)
    expect(doc.checkpoints.length).toBeGreaterThan(0)

    // A fresh process, knowing nothing, reconstructs the campaign from status, tree and log.
    const status = cli(['status', '--store', scratch.store]).json
    expect(status.status).toMatchObject({campaign: 'mod7', campaign_status: 'finalized'})
    expect(status.status.budget.spent_gpu_seconds).toBeGreaterThan(0)
    const tree = act('tree')
    expect(tree).toMatchObject({campaign: 'mod7', roots: [{run_id: parent.run_id, status: 'killed', children: [{run_id: child.run_id, status: 'completed'}]}]})
    expect(act('log', '--kind', 'note').events[0].args.text).toContain('lr too low')
  })

  it('wait --since across two calls misses nothing when several events happen in between', async () => {
    const first = act('wait', '--for', 'message', '--timeout', '0')
    expect(first.woken_by).toBe('timer')
    for (const text of ['one', 'two', 'three']) act('message', text)
    act('note', 'not a message')
    const second = act('wait', '--for', 'message', '--since', String(first.cursor), '--timeout', '5')
    expect(second.events.map((e: {args: {text: string}}) => e.args.text)).toEqual(['one', 'two', 'three'])
    expect(second.events.every((e: {actor: string}) => e.actor === 'test-agent')).toBe(true)
    const third = act('wait', '--for', 'message', '--since', String(second.cursor), '--timeout', '0')
    expect(third).toMatchObject({woken_by: 'timer', events: []})
  })

  it('an absurd learning rate produces an anomaly that wakes a waiting agent within a second', async () => {
    const waiting = cliAsync(['wait', '--for', 'anomaly', '--timeout', '60', '--store', scratch.store])
    // The waiter must be waiting before the run starts: it counts only new events.
    await waitFor(() => cli(['log', '--store', scratch.store]).json !== null, 'the scratch.store')
    const started = Date.now()
    const run = act('launch', '--recipe', 'toy', '--set', 'learning_rate=10000', '--set', 'step_time_ms=20', '--set', 'max_steps=100000')
    const woke: CliResult = await waiting
    expect(woke.json.data.woken_by).toBe('anomaly')
    const anomaly = woke.json.data.events[0]
    expect(anomaly).toMatchObject({kind: 'anomaly', run_id: run.run_id, args: {type: 'nan'}})
    // The anomaly is ingested from the trainer's line; the waiter wakes within a second of that.
    const anomalyAt = Date.parse(anomaly.time)
    expect(Date.now() - anomalyAt).toBeLessThan(1000 + 500) // + process exit and pipe close
    expect(anomalyAt - started).toBeLessThan(10_000)
  })

  it('with a budget of a few GPU-seconds, launch fails with BUDGET_EXHAUSTED once spent; kill, note and finalize still work', async () => {
    act('campaign', 'create', 'tiny', '--budget-gpu-hours', String(2 / 3600))
    const run = act('launch', '--recipe', 'toy', '--set', 'step_time_ms=20', '--set', 'max_steps=100000')
    const budget = await waitFor(() => {
      const out = cli(['launch', '--recipe', 'toy', '--set', 'max_steps=1', '--store', scratch.store])
      return out.json.ok ? (killAllUnder(join(scratch.dir, 'runs', out.json.data.run_id)), undefined) : out
    }, 'the budget to run out', 20_000)
    expect(budget.status).toBe(6)
    expect(budget.json.error).toMatchObject({code: 'BUDGET_EXHAUSTED', details: {campaign: 'tiny', exhausted: true}})
    expect(budget.json.status.warnings.join(' ')).toContain('budget exhausted')
    const fork = cli(['fork', run.run_id, '--store', scratch.store])
    expect(fork.json.error.code).toBe('BUDGET_EXHAUSTED')
    expect(act('kill', run.run_id, '--grace', '1').status).toBe('killed')
    act('note', 'budget spent, stopping')
    expect(act('campaign', 'finalize', '--summary', 'out of budget').status).toBe('finalized')
    expect(cli(['launch', '--recipe', 'toy', '--store', scratch.store]).json.error.code).toBe('CAMPAIGN_FINALIZED')
    const budgetEvents = act('log', '--kind', 'budget').events
    expect(budgetEvents.map((e: {args: {level: number}}) => e.args.level)).toContain(100)
  })
})
