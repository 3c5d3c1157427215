// The Python SDK (python/): its unittest suite under every Python here (Debian's /usr/bin/python3
// may have torch, for the real-optimizer test), and a Python trainer launched by the built CLI.
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {execa} from 'execa'
import {describe, expect, it} from 'vitest'
import {REPO_ROOT, waitFor} from '../helpers/cli.js'
import {useSandboxes} from '../helpers/sandbox.js'

const PYTHON_DIR = join(REPO_ROOT, 'python')

async function pythonWorks(bin: string): Promise<boolean> {
  const r = await execa(bin, ['-c', 'import sys; assert sys.version_info >= (3, 9)'], {reject: false})
  return r.exitCode === 0
}

const candidates = ['python3', ...(existsSync('/usr/bin/python3') ? ['/usr/bin/python3'] : [])]
const pythons = (await Promise.all(candidates.map(async (bin) => ((await pythonWorks(bin)) ? bin : null)))).filter((b): b is string => b !== null)
if (pythons.length === 0) console.warn('python-sdk tests skipped: no python3 >= 3.9 on PATH')

describe.skipIf(pythons.length === 0)('the Python SDK', () => {
  for (const bin of [...new Set(pythons)]) {
    it(`passes its unittest suite under ${bin}`, async () => {
      const r = await execa(bin, ['-m', 'unittest', 'discover', '-s', 'python/tests', '-v'], {cwd: REPO_ROOT, reject: false, all: true, env: {PYTHONDONTWRITEBYTECODE: '1'}})
      expect(r.exitCode, `${bin} -m unittest:\n${r.all}`).toBe(0)
      const skipped = /skipped '([^']*)'/.exec(String(r.all))
      if (skipped) console.warn(`${bin}: ${skipped[1]}`)
    })
  }
})

const sandbox = useSandboxes()

const PROJECT = (trainer: string) => `hosts:
  local:
    gpus: []
recipes:
  py:
    gpus: 0
    command: "python3 ${trainer}"
    env:
      PYTHONPATH: "${PYTHON_DIR}"
      PYTHONDONTWRITEBYTECODE: "1"
    hot_params:
      learning_rate: {min: 0, max: 10}
    config:
      learning_rate: 0.1
      max_steps: 100000
      step_time_s: 0.02
`

function jsonLines(file: string): any[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []
}

describe.skipIf(pythons.length === 0)('a Python trainer launched by autolab', () => {
  it('logs metrics, acknowledges a modify, saves a checkpoint a fork resumes from with the fork\'s learning rate', async () => {
    const sb = sandbox()
    writeFileSync(join(sb.dir, 'autolab.yaml'), PROJECT(join(REPO_ROOT, 'test', 'python', 'trainer.py')))
    const run = await sb.ok(['launch', '--recipe', 'py'])
    const dir = sb.runDir(run.run_id)
    await sb.waitForSteps(run.run_id, 3)
    expect(jsonLines(join(dir, 'metrics.jsonl'))[0]).toMatchObject({step: 1, metrics: {loss: 1, learning_rate: 0.1}})

    const modified = await sb.ok(['modify', run.run_id, '--set', 'learning_rate=0.5', '--wait', '--timeout', '30', '--reason', 'python sdk'])
    expect(modified.status).toBe('acknowledged')
    const ack = jsonLines(join(dir, 'events.jsonl')).find((e) => e.type === 'control_ack')
    expect(ack).toMatchObject({applied: {learning_rate: 0.5}})
    await waitFor(() => jsonLines(join(dir, 'metrics.jsonl')).some((m) => m.step === ack.step), {message: `metrics of step ${ack.step}`})
    expect(jsonLines(join(dir, 'metrics.jsonl')).find((m) => m.step === ack.step).metrics.learning_rate).toBe(0.5)

    // A fork of the running run asks for a fresh checkpoint (save_now) and resumes from it.
    const child = await sb.ok(['fork', run.run_id, '--set', 'learning_rate=0.25', '--reason', 'python fork'])
    expect(child.status).toBe('running')
    const forkStep: number = child.fork_step
    expect(jsonLines(join(dir, 'events.jsonl'))).toContainEqual({type: 'checkpoint', step: forkStep, path: `checkpoints/step-${forkStep}`})
    const childMetrics = join(sb.runDir(child.run_id), 'metrics.jsonl')
    const first = await waitFor(() => jsonLines(childMetrics)[0], {timeoutMs: 20_000, message: 'the fork\'s first metrics line'})
    // Resumed after the checkpoint's step, at the fork's rate (its config changed: the config wins).
    expect(first.step).toBe(forkStep + 1)
    expect(first.metrics.learning_rate).toBe(0.25)
    expect(readFileSync(join(sb.runDir(child.run_id), 'stdout.log'), 'utf8')).toContain(`at step ${forkStep}`)
  })
})
