// tick (queue, deadline, lease), guide, stall and spike anomalies, samples and compare.
import {spawnSync} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {waitFor} from '../commands/run-command.js'
import {cli, cliAsync, useScratchStore} from './cli.js'

describe('tick, guide, anomalies, samples, compare', () => {
  const scratch = useScratchStore('autolab-house-')
  const act = (...args: string[]) => {
    const out = cli([...args, '--store', scratch.store])
    expect(out.json?.ok, `${args.join(' ')}: ${out.stderr} ${JSON.stringify(out.json?.error)}`).toBe(true)
    return out.json.data
  }

  it('launch --queue waits for a GPU; tick starts it when one frees up', async () => {
    const project = join(scratch.dir, 'autolab.yaml')
    writeFileSync(project, 'hosts:\n  local:\n    gpus: [0]\nrecipes:\n  hold:\n    gpus: 1\n    command: "exec sleep 60"\n')
    const first = act('launch', '--recipe', 'hold', '--project', project)
    const second = act('launch', '--recipe', 'hold', '--queue', '--project', project, '--reason', 'next in line')
    expect(second).toMatchObject({status: 'queued', gpus: []})
    expect(act('tick')).toMatchObject({started: [], still_queued: [second.run_id]})
    act('kill', first.run_id, '--grace', '0')
    const ticked = act('tick')
    expect(ticked.started).toEqual([second.run_id])
    expect(act('show', second.run_id).run).toMatchObject({status: 'running', gpus: ['0']})
  })

  it('tick pauses the runs of a campaign past its deadline, and concurrent ticks take turns', async () => {
    act('campaign', 'create', 'short', '--deadline', new Date(Date.now() + 4000).toISOString())
    const run = act('launch', '--recipe', 'toy', '--set', 'step_time_ms=20', '--set', 'max_steps=100000')
    await waitFor(() => Date.now() > Date.parse(act('campaign', 'show').budget.deadline), 'the deadline')
    const ticks = await Promise.all([cliAsync(['tick', '--store', scratch.store]), cliAsync(['tick', '--store', scratch.store])])
    const done = ticks.map((t) => t.json.data)
    expect(done.flatMap((t) => t.paused_for_deadline)).toEqual([run.run_id])
    expect(act('show', run.run_id).run.status).toBe('paused')
    expect(cli(['resume', run.run_id, '--store', scratch.store]).json.error.code).toBe('BUDGET_EXHAUSTED')
  })

  it('guide lists every command with its examples and every error code', () => {
    const guide = act('guide')
    const commands = guide.commands.map((c: {command: string}) => c.command)
    for (const c of ['launch', 'fork', 'wait', 'trend', 'campaign create', 'campaign finalize', 'tick', 'export']) expect(commands).toContain(c)
    const fork = guide.commands.find((c: {command: string}) => c.command === 'fork')
    expect(fork.usage[0]).toMatch(/^autolab fork /)
    expect(fork.flags.map((f: {name: string}) => f.name)).toEqual(expect.arrayContaining(['--step', '--set', '--reason', '--idempotency-key']))
    expect(guide.error_codes.map((e: {code: string}) => e.code)).toEqual(expect.arrayContaining(['BUDGET_EXHAUSTED', 'NO_CHECKPOINT', 'OPERATION_IN_PROGRESS']))
    expect(guide.wake_kinds).toEqual(expect.arrayContaining(['anomaly', 'exit', 'checkpoint', 'eval', 'message', 'modify_ack', 'step', 'budget']))
  })

  it('a live run that stops logging raises a stall anomaly; a spike raises one too', async () => {
    const project = join(scratch.dir, 'autolab.yaml')
    // Logs an alternating metric, then a spike, then hangs; stall_seconds 1.
    writeFileSync(join(scratch.dir, 'hang.sh'), [
      't=$(date +%s)', 'i=1',
      'while [ $i -le 12 ]; do echo "{\\"step\\":$i,\\"time\\":$t,\\"metrics\\":{\\"loss\\":$((i % 2))}}" >> metrics.jsonl; i=$((i+1)); done',
      'echo "{\\"step\\":13,\\"time\\":$t,\\"metrics\\":{\\"loss\\":1000}}" >> metrics.jsonl',
      'exec sleep 60', '',
    ].join('\n'))
    // loss declares its goal (min): its jump up is against it, a soft anomaly; the stall is hard.
    writeFileSync(project, 'recipes:\n  hang:\n    stall_seconds: 1\n    command: "sh {project_dir}/hang.sh"\n    metrics:\n      loss: {goal: min}\n')
    const run = act('launch', '--recipe', 'hang', '--project', project)
    const woke = await waitFor(() => {
      const w = act('wait', '--for', 'anomaly', '--run', run.run_id, '--since', '0', '--timeout', '1')
      const types = w.events.map((e: {args: {type: string}}) => e.args.type)
      return types.includes('stall') ? types : undefined
    }, 'a stall anomaly', 20_000)
    expect(woke).toEqual(['spike', 'stall'])
    const hard = act('wait', '--for', 'anomaly:hard', '--run', run.run_id, '--since', '0', '--timeout', '1')
    expect(hard.events.map((e: {args: {type: string; severity: string}}) => [e.args.type, e.args.severity])).toEqual([['stall', 'hard']])
    // The soft one stays visible while the run lives: status lists it and warns.
    const status = act('status')
    expect(status.open_soft_anomalies.map((e: {args: {type: string; metric: string}}) => [e.args.type, e.args.metric])).toEqual([['spike', 'loss']])
  })

  it('samples and compare read what the trainer produced', async () => {
    const a = act('launch', '--recipe', 'toy', '--set', 'max_steps=100', '--set', 'step_time_ms=0', '--set', 'save_every=50')
    await waitFor(() => act('show', a.run_id).run.status === 'completed', 'completed')
    const b = act('fork', a.run_id, '--step', '50', '--set', 'learning_rate=0.2')
    await waitFor(() => act('show', b.run_id).run.status === 'completed', 'completed')
    const samples = act('samples', a.run_id, '-n', '2').samples
    expect(samples).toHaveLength(2)
    expect(samples[1]).toMatchObject({step: 100, prompt: expect.stringContaining('mod'), completion: expect.any(String)})
    const compared = act('compare', a.run_id, b.run_id, '--metric', 'reward')
    expect(compared.runs[1]).toMatchObject({run_id: b.run_id, parent_run_id: a.run_id, fork_step: 50})
    const at = (step: number) => compared.points.find((p: {step: number}) => p.step === step)
    expect(Object.keys(at(10)).sort()).toEqual(['r1', 'step'])
    expect(Object.keys(at(60)).sort()).toEqual(['r1', 'r2', 'step'])
    const withAncestors = act('history', b.run_id, '--metric', 'reward', '--with-ancestors').points
    expect(withAncestors).toHaveLength(100)
    expect(withAncestors[49]).toMatchObject({step: 50, run_id: a.run_id})
    expect(withAncestors[50]).toMatchObject({step: 51, run_id: b.run_id})
  })

  it('export streams a document that parses, without the envelope when --json is not given', async () => {
    act('launch', '--recipe', 'toy', '--set', 'max_steps=5', '--set', 'step_time_ms=0')
    const out = spawnSync(process.execPath, [fileURLToPath(new URL('../../bin/run.js', import.meta.url)), 'export', '--store', scratch.store], {encoding: 'utf8'})
    const doc = JSON.parse(out.stdout)
    expect(doc).toMatchObject({format: 'autolab-export/1', campaign: {name: 'default'}, evals: []})
    expect(doc.runs).toHaveLength(1)
  })
})
