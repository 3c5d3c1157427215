// Waits that see the state, not only events, and a budget an agent can plan with (issue 11, items
// 4 and 5): a wait for something that is already so returns at once and says so; the status bar
// carries the burn rate and the time left at that rate and to the deadline.
import {describe, expect, it} from 'vitest'
import {waitFor} from '../helpers/cli.js'
import {useSandboxes} from '../helpers/sandbox.js'

const sandbox = useSandboxes()

describe('waits that see the state', () => {
  it('exit, checkpoint and eval already so when the wait begins wake at once, with the event that recorded them', async () => {
    const sb = sandbox()
    const run = await sb.launch({max_steps: 3, step_time_ms: 0})
    // Another command syncs the exit first: no event after the wait's cursor will say it again.
    await waitFor(async () => ((await sb.show(run.run_id)).status === 'completed' ? true : undefined), {message: 'completed'})
    const started = performance.now()
    const exit = await sb.ok(['wait', '--for', 'exit', '--run', run.run_id, '--timeout', '60'])
    expect(performance.now() - started).toBeLessThan(10_000)
    expect(exit).toMatchObject({woken_by: 'exit', already: [{run_id: run.run_id, status: 'completed'}]})
    expect(exit.events).toEqual([expect.objectContaining({kind: 'run_exited', run_id: run.run_id})])

    const checkpoint = await sb.ok(['wait', '--for', 'checkpoint', '--run', run.run_id, '--step', '3', '--timeout', '60'])
    expect(checkpoint).toMatchObject({woken_by: 'checkpoint', already: [{run_id: run.run_id, step: 3}]})
    // Not yet so (no checkpoint at step 1000): the timer, not a false wake.
    const notYet = await sb.ok(['wait', '--for', 'checkpoint', '--run', run.run_id, '--step', '1000', '--timeout', '1'])
    expect(notYet.woken_by).toBe('timer')
    expect(notYet.already).toBeUndefined()

    const ev = await sb.ok(['eval', run.run_id, '--suite', 'heldout'])
    await waitFor(async () => (['completed', 'failed'].includes((await sb.ok(['eval', 'show', ev.eval_id])).status) ? true : undefined), {message: 'the eval ended'})
    const evalWait = await sb.ok(['wait', '--for', 'eval', '--eval', ev.eval_id, '--timeout', '60'])
    expect(evalWait).toMatchObject({woken_by: 'eval', already: [{eval_id: ev.eval_id, status: 'completed'}]})
    expect(evalWait.events[0].result).toMatchObject({eval_id: ev.eval_id, status: 'completed'})
    const wrongKind = await sb.json(['wait', '--for', 'exit', '--eval', ev.eval_id, '--timeout', '1'])
    expect(wrongKind.json.error.code).toBe('INVALID_ARGUMENT')
  })
})

describe('a budget to plan with', () => {
  it('the status bar gives the burn rate, the time left at that rate and to the deadline', async () => {
    const sb = sandbox()
    const deadline = new Date(Date.now() + 3_600_000).toISOString()
    await sb.ok(['campaign', 'create', 'plan', '--budget-gpu-hours', '1', '--deadline', deadline])
    const idle = (await sb.json(['status'])).json.status.budget
    expect(idle).toMatchObject({burn_rate: 0, budget_seconds_left_at_rate: null})
    expect(idle.deadline_seconds_left).toBeGreaterThan(3500)
    const runs = [await sb.launch({max_steps: 100000, step_time_ms: 50}), await sb.launch({max_steps: 100000, step_time_ms: 50, seed: 2})]
    const busy = (await sb.json(['status'])).json.status.budget
    expect(busy.burn_rate).toBe(2)
    expect(busy.budget_seconds_left_at_rate).toBeCloseTo(busy.left_gpu_seconds / 2, -1)
    expect(busy.deadline_seconds_left).toBeLessThanOrEqual(3600)
    const human = await sb.run(['status'])
    expect(human.stdout).toMatch(/budget .* GPU left \(.* at 2 GPUs\)/)
    expect(human.stdout).toContain('deadline in')
    for (const run of runs) await sb.ok(['kill', run.run_id, '--grace', '0'])
  })

  it('warns when the live runs would spend the budget before reaching their max_steps, at their recent pace', async () => {
    const sb = sandbox()
    await sb.ok(['campaign', 'create', 'tight', '--budget-gpu-hours', '0.01']) // 36 GPU-seconds
    const run = await sb.launch({max_steps: 100000, step_time_ms: 20})
    await sb.waitForSteps(run.run_id, 10)
    const bar = await waitFor(async () => {
      const status = (await sb.json(['status'])).json.status
      return status.budget.projected_need_gpu_seconds !== null ? status : undefined
    }, {message: 'a projection'})
    expect(bar.budget.projected_need_gpu_seconds).toBeGreaterThan(bar.budget.left_gpu_seconds)
    expect(bar.warnings.join('\n')).toContain('the budget runs out first')
    await sb.ok(['kill', run.run_id, '--grace', '0'])
    // Nothing live: nothing projected, no warning.
    const after = (await sb.json(['status'])).json.status
    expect(after.budget.projected_need_gpu_seconds).toBeNull()
    expect(after.warnings.join('\n')).not.toContain('runs out first')
  })
})
