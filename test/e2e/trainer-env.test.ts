// The trainer's environment, defined: the recipe's pass_env names and env values (with ${VAR}
// from autolab's environment) plus the contract's variables, captured at launch — so a run
// queued now and started later by tick from cron (an empty environment) gets its launch's.
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {execa} from 'execa'
import {describe, expect, it} from 'vitest'
import {BIN, expectOk, waitFor} from '../helpers/cli.js'
import {useSandboxes} from '../helpers/sandbox.js'

const sandbox = useSandboxes()

const PROJECT = `hosts:
  local:
    gpus: [0]
recipes:
  envdump:
    gpus: 1
    pass_env: [PATH, HOME, MY_VAR]
    env:
      GREETING: "hello \${MY_VAR}"
      MODE: fast
    command: "env > {run_dir}/env.txt; exec sleep 60"
`

function envOf(file: string): Record<string, string> {
  return Object.fromEntries(readFileSync(file, 'utf8').split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))
}

describe('the trainer environment', () => {
  it('is pass_env and env (expanded) plus the contract; nothing else of autolab\'s environment leaks in', async () => {
    const sb = sandbox()
    writeFileSync(join(sb.dir, 'autolab.yaml'), PROJECT)
    const run = await sb.ok(['launch', '--recipe', 'envdump'], {env: {MY_VAR: 'world', UNLISTED_SECRET: 's3cret'}})
    const file = join(sb.runDir(run.run_id), 'env.txt')
    await waitFor(() => existsSync(file) && readFileSync(file, 'utf8').includes('MODE='), {message: 'env.txt'})
    const env = envOf(file)
    expect(env).toMatchObject({MY_VAR: 'world', GREETING: 'hello world', MODE: 'fast', AUTOLAB_RUN_ID: run.run_id, CUDA_VISIBLE_DEVICES: '0'})
    expect(env.PATH).toBe(process.env.PATH)
    expect(env.UNLISTED_SECRET).toBeUndefined()
    // The export names the variables without their values.
    const exported = (await sb.ok(['export'])).runs[0].recipe_spec
    expect(exported.env).toBeUndefined()
    expect(exported.env_names).toEqual(expect.arrayContaining(['GREETING', 'MODE', 'MY_VAR', 'PATH']))
  })

  it('a queued run started by tick from an empty environment (cron) gets its launch\'s environment', async () => {
    const sb = sandbox()
    writeFileSync(join(sb.dir, 'autolab.yaml'), PROJECT)
    const first = await sb.ok(['launch', '--recipe', 'envdump'], {env: {MY_VAR: 'first'}})
    const queued = await sb.ok(['launch', '--recipe', 'envdump', '--queue'], {env: {MY_VAR: 'from-launch'}})
    expect(queued.status).toBe('queued')
    await sb.ok(['kill', first.run_id, '--grace', '0'])
    // cron: no environment at all, another working directory.
    const tick = await execa(process.execPath, [BIN, 'tick', '--json', '--store', sb.store, '--project', join(sb.dir, 'autolab.yaml')], {env: {AUTOLAB_E2E_SANDBOX: sb.dir}, extendEnv: false, cwd: '/', reject: false})
    expectOk({args: ['tick'], exitCode: tick.exitCode ?? -1, stdout: String(tick.stdout), stderr: String(tick.stderr), json: JSON.parse(String(tick.stdout)), durationMs: 0})
    const file = join(sb.runDir(queued.run_id), 'env.txt')
    await waitFor(() => existsSync(file) && readFileSync(file, 'utf8').includes('MODE='), {message: 'the queued run\'s env.txt'})
    expect(envOf(file)).toMatchObject({MY_VAR: 'from-launch', GREETING: 'hello from-launch', PATH: process.env.PATH, HOME: process.env.HOME})
  })
})
