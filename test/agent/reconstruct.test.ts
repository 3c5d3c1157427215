// A new agent session picks a campaign up from the store alone, in three calls: `status` (what is
// running, which campaign, its budget), `tree` (the runs and their forks) and `log --decisions`
// (every action taken with its reason, the notes and the messages — not the hundreds of
// checkpoint and exit events around them). An agent script plays the campaign through the built
// CLI first: launch, modify, fork, note, message, kill, finalize, each with its reason.
import {describe, expect, it} from 'vitest'
import {cli, useScratchStore} from '../ops/cli.js'

describe('a fresh session reconstructs a campaign from status, tree and log --decisions', () => {
  const scratch = useScratchStore('autolab-recon-')

  /** One call of a fresh process: one JSON document, ok; returns data. */
  const act = (...args: string[]) => {
    const out = cli([...args, '--store', scratch.store], {AUTOLAB_ACTOR: 'agent-1'})
    expect(out.json, `${args.join(' ')}: ${out.stderr}`).not.toBeNull()
    expect(out.json.ok, `${args.join(' ')}: ${JSON.stringify(out.json.error)}`).toBe(true)
    return out.json
  }

  it('launch, modify, fork, note, message, kill, finalize: every decision and its reason, in order, and nothing else', () => {
    const why = {
      campaign_create: 'find a learning rate that learns mod 7',
      launch: 'baseline at a cautious learning rate',
      modify: 'nudge the rate up in flight before giving up on it',
      fork: 'plateau since step 10: branch with a 5000x rate',
      kill: 'the fork is the better bet',
      campaign_finalize: 'criterion met by the fork',
    }
    act('campaign', 'create', 'recon', '--goal', 'reward above 0.9', '--reason', why.campaign_create)
    const base = act('launch', '--recipe', 'toy', '--name', 'base', '--set', 'learning_rate=0.00001', '--set', 'step_time_ms=10', '--set', 'max_steps=100000', '--set', 'save_every=10', '--reason', why.launch).data
    expect(act('wait', '--for', 'step', '--run', base.run_id, '--step', '20', '--timeout', '60').data.woken_by).toBe('step')
    act('modify', base.run_id, '--set', 'learning_rate=0.0001', '--reason', why.modify)
    const child = act('fork', base.run_id, '--step', '10', '--name', 'fast', '--set', 'learning_rate=0.05', '--set', 'max_steps=60', '--set', 'step_time_ms=0', '--reason', why.fork).data
    act('note', '--run', child.run_id, 'forked at 10, where the baseline had already flattened')
    expect(cli(['message', 'keep the fork if it climbs', '--store', scratch.store], {AUTOLAB_ACTOR: 'alice'}).json.ok).toBe(true)
    act('kill', base.run_id, '--grace', '1', '--reason', why.kill)
    let cursor = 0
    for (let exited = false; !exited;) {
      const woke = act('wait', '--for', 'exit', '--run', child.run_id, '--since', String(cursor), '--timeout', '60').data
      expect(woke.woken_by).toBe('exit')
      exited = woke.events.some((e: {run_id: string}) => e.run_id === child.run_id)
      cursor = woke.cursor
    }
    act('campaign', 'finalize', '--winner', child.run_id, '--summary', 'lr 0.05 climbs; 1e-5 does not', '--reason', why.campaign_finalize)

    // `log --kind fork,modify` is `log --kind fork --kind modify`, and holds both.
    const commas = act('log', '--kind', 'fork,modify').data.events
    expect(commas.map((e: {kind: string}) => e.kind)).toEqual(['modify', 'fork'])
    expect(act('log', '--kind', 'fork', '--kind', 'modify').data.events).toEqual(commas)

    // ---- a new session: three calls, nothing else known ----
    const status = act('status')
    const tree = act('tree').data
    const decisions = act('log', '--decisions').data.events as {kind: string; actor: string; run_id: string | null; reason: string | null; args: any}[]

    expect(status.status).toMatchObject({campaign: 'recon', campaign_status: 'finalized', runs: {running: 0}})
    expect(status.data.active_runs).toEqual([])
    expect(tree).toMatchObject({
      campaign: 'recon',
      roots: [{run_id: base.run_id, name: 'base', status: 'killed', children: [{run_id: child.run_id, name: 'fast', fork_step: 10, status: 'completed', children: []}]}],
    })
    // Every decision, in order, with who took it and why; the note and the message with their text.
    expect(decisions.map((e) => [e.kind, e.actor, e.run_id])).toEqual([
      ['campaign_create', 'agent-1', null],
      ['launch', 'agent-1', base.run_id],
      ['modify', 'agent-1', base.run_id],
      ['fork', 'agent-1', child.run_id],
      ['note', 'agent-1', child.run_id],
      ['message', 'alice', null],
      ['kill', 'agent-1', base.run_id],
      ['campaign_finalize', 'agent-1', child.run_id],
    ])
    for (const [kind, reason] of Object.entries(why)) expect(decisions.find((e) => e.kind === kind)?.reason, kind).toBe(reason)
    expect(decisions.find((e) => e.kind === 'note')!.args.text).toContain('already flattened')
    expect(decisions.find((e) => e.kind === 'message')!.args.text).toBe('keep the fork if it climbs')
    expect(decisions.find((e) => e.kind === 'fork')!.args).toMatchObject({parent_run_id: base.run_id, step: 10, sets: ['learning_rate=0.05', 'max_steps=60', 'step_time_ms=0']})
    expect(decisions.find((e) => e.kind === 'campaign_finalize')!.args).toMatchObject({winner_run_id: child.run_id, summary: 'lr 0.05 climbs; 1e-5 does not'})
    // The log holds much more (checkpoints, exits, acknowledgements): --decisions leaves it out.
    const all = act('log', '--limit', '1000').data.events as {kind: string}[]
    expect(all.length).toBeGreaterThan(decisions.length)
    expect(all.map((e) => e.kind)).toEqual(expect.arrayContaining(['checkpoint', 'run_exited']))
  })
})
