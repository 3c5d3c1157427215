// No accidental duplicates, no guessed identities: run names are unique within a campaign; a
// launch or fork identical to a live run succeeds but says so; a finalized campaign's run can be
// forked into an open campaign.
import {existsSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {expectError, expectOk} from '../helpers/cli.js'
import {useSandboxes} from '../helpers/sandbox.js'

const sandbox = useSandboxes()

const LONG = {max_steps: 100_000, step_time_ms: 20, save_every: 5}

describe('run identities', () => {
  it('a name is unique within a campaign: NAME_TAKEN names the holder and nothing starts; another campaign may reuse it', async () => {
    const sb = sandbox()
    const first = await sb.launch(LONG, ['--name', 'baseline'])
    const error = expectError(await sb.json(['launch', '--recipe', 'toy', '--set', 'max_steps=5', '--name', 'baseline']), 'NAME_TAKEN', 4)
    expect(error.details).toMatchObject({name: 'baseline', run_id: first.run_id})
    expect(error.message).toContain(first.run_id)
    expect((await sb.runs()).map((r: any) => r.run_id)).toEqual([first.run_id])
    expect(existsSync(sb.runDir('r2'))).toBe(false)
    // A fork may not take it either.
    await sb.waitForSteps(first.run_id, 6)
    expectError(await sb.json(['fork', first.run_id, '--step', '5', '--name', 'baseline']), 'NAME_TAKEN', 4)
    expectOk(await sb.json(['campaign', 'create', 'other']))
    const second = await sb.launch({max_steps: 3}, ['--name', 'baseline'])
    expect(second.campaign_id).not.toBe(first.campaign_id)
  })

  it('a launch or fork identical to a live run succeeds but says so, with that run\'s id', async () => {
    const sb = sandbox()
    const first = await sb.launch(LONG)
    expect(first.duplicate_of).toBeNull()
    const again = await sb.json(['launch', '--recipe', 'toy', ...Object.entries(LONG).flatMap(([k, v]) => ['--set', `${k}=${v}`])])
    const data = expectOk(again)
    expect(data.duplicate_of).toBe(first.run_id)
    expect(again.json.status.warnings.join('\n')).toContain(`${data.run_id} duplicates ${first.run_id}`)
    // Another config is not a duplicate.
    expect((await sb.launch({...LONG, learning_rate: 0.07})).duplicate_of).toBeNull()

    await sb.waitForSteps(first.run_id, 6)
    const fork1 = await sb.ok(['fork', first.run_id, '--step', '5'])
    expect(fork1.duplicate_of).toBeNull()
    const fork2 = await sb.json(['fork', first.run_id, '--step', '5'])
    expect(expectOk(fork2).duplicate_of).toBe(fork1.run_id)
    expect(fork2.json.status.warnings.join('\n')).toContain(`duplicates ${fork1.run_id}`)
    // With an idempotency key a retry is a replay, not a duplicate.
    const keyed = await sb.ok(['fork', first.run_id, '--step', '5', '--set', 'beta=0.03', '--idempotency-key', 'k1'])
    const retried = await sb.json(['fork', first.run_id, '--step', '5', '--set', 'beta=0.03', '--idempotency-key', 'k1'])
    expect(expectOk(retried)).toMatchObject({run_id: keyed.run_id, replayed: true, duplicate_of: null})
    expect(retried.json.status.warnings.join('\n')).not.toContain('duplicates')
  })

  it('a finalized campaign\'s run is forked into an open campaign with --campaign', async () => {
    const sb = sandbox()
    expectOk(await sb.json(['campaign', 'create', 'sweep']))
    const parent = await sb.launch({max_steps: 10, save_every: 5, step_time_ms: 0})
    await sb.waitForExitCode(parent.run_id)
    await sb.ok(['sync'])
    expectOk(await sb.json(['campaign', 'finalize', 'sweep', '--winner', parent.run_id, '--summary', 'done']))
    const refused = expectError(await sb.json(['fork', parent.run_id, '--step', '5']), 'CAMPAIGN_FINALIZED', 6)
    expect(refused.suggested_action).toContain(`autolab fork ${parent.run_id} --campaign`)
    expectOk(await sb.json(['campaign', 'create', 'followup']))
    const child = await sb.ok(['fork', parent.run_id, '--step', '5', '--campaign', 'followup', '--reason', 'continue the winner'])
    const followup = expectOk(await sb.json(['campaign', 'show', 'followup']))
    expect(child.campaign_id).toBe(followup.campaign_id)
    expect((await sb.show(child.run_id))).toMatchObject({parent_run_id: parent.run_id, campaign_id: followup.campaign_id})
    // Each campaign's decisions on their own: log --decisions --campaign.
    const kinds = async (campaign: string) => (await sb.ok(['log', '--decisions', '--campaign', campaign])).events.map((e: any) => e.kind)
    expect(await kinds('sweep')).toEqual(['campaign_create', 'launch', 'campaign_finalize'])
    expect(await kinds('followup')).toEqual(['campaign_create', 'fork'])
    expectError(await sb.json(['log', '--campaign', 'nope']), 'CAMPAIGN_NOT_FOUND', 3)
  })
})
