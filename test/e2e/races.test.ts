// Races between an operation and the trainer: a run that completes while being paused ends
// `completed` (it cannot be resumed to train further), while a trainer that ignores the pause
// request and exits 0 only because the pause signalled it is `paused`.
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {useSandboxes} from '../helpers/sandbox.js'

const sandbox = useSandboxes()

const RECIPES = `recipes:
  finisher:
    # finishes (exit 0, no paused event) at the moment it is asked to pause: the race, made deterministic
    command: "while ! grep -q '\\"pause\\"' control.json; do sleep 0.05; done"
  stubborn:
    # ignores control.json; on SIGTERM it exits 0
    command: "trap 'exit 0' TERM; while :; do sleep 0.1; done"
`

describe('pause races', () => {
  it('a run that completes while being paused ends completed, not paused', async () => {
    const sb = sandbox()
    writeFileSync(join(sb.dir, 'autolab.yaml'), RECIPES)
    const run = await sb.ok(['launch', '--recipe', 'finisher'])
    const paused = await sb.ok(['pause', run.run_id, '--timeout', '30'])
    expect(paused.status).toBe('completed')
    expect(await sb.show(run.run_id)).toMatchObject({status: 'completed', exit_code: 0})
    expect((await sb.ok(['log', '--run', run.run_id, '--kind', 'pause_escalated'])).events).toEqual([])
  })

  it('a trainer that exits 0 only because the pause signalled it is paused', async () => {
    const sb = sandbox()
    writeFileSync(join(sb.dir, 'autolab.yaml'), RECIPES)
    const run = await sb.ok(['launch', '--recipe', 'stubborn'])
    const paused = await sb.ok(['pause', run.run_id, '--timeout', '1'])
    expect(paused).toMatchObject({status: 'paused', stopped_by: 'sigterm'})
    expect(await sb.show(run.run_id)).toMatchObject({status: 'paused', exit_code: 0})
    expect((await sb.ok(['log', '--run', run.run_id, '--kind', 'pause_escalated'])).events).toHaveLength(1)
  })
})
