// The acceptance of "say no before acting", through the real binary: a typo or a wrong value in
// --set fails with exit 2 and one error envelope before any process starts, and `recipe show`
// tells an agent the keys it may set.
import {existsSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {expectError, expectOk, nonSnakeKeys} from '../helpers/cli.js'
import {processesWithEnvironMarker} from '../helpers/processes.js'
import {useSandboxes} from '../helpers/sandbox.js'

const sandbox = useSandboxes()

describe('launch refuses a bad config before anything starts', () => {
  it.each([
    ['learnign_rate=0.1', 'UNKNOWN_CONFIG_KEY', /learnign_rate.*`learning_rate`/],
    ['learning_rate=abc', 'INVALID_VALUE', /learning_rate.*number.*"abc"/],
  ])('launch --set %s: %s, exit 2, no process, no run, no directory', async (assignment, code, message) => {
    const sb = sandbox()
    const error = expectError(await sb.json(['launch', '--recipe', 'toy', '--set', assignment, '--set', 'step_time_ms=0']), code, 2)
    expect(error.message).toMatch(message)
    expect(error.details.key).toBe(assignment.split('=')[0])
    expect(processesWithEnvironMarker(sb.dir)).toEqual([])
    expect(await sb.runs()).toEqual([])
    expect(existsSync(join(sb.dir, 'runs')) ? readdirSync(join(sb.dir, 'runs')) : []).toEqual([])
  })
})

describe('recipe show', () => {
  it('--json: the schema, defaults, hot params, metrics and environment of the toy recipe', async () => {
    const sb = sandbox()
    const r = await sb.json(['recipe', 'show', 'toy'])
    const data = expectOk(r)
    // autolab's own keys are snake_case; the maps keyed by config keys and metric names hold the recipe's words.
    const userMaps = ['schema', 'defaults', 'hot_params', 'metrics', 'env', 'evals']
    expect(nonSnakeKeys({...r.json, data: Object.fromEntries(Object.entries(data).filter(([k]) => !userMaps.includes(k)))})).toEqual([])
    expect(Object.keys(data.schema)).toContain('task.modulus')
    expect(Object.keys(data).sort()).toEqual([
      'command', 'defaults', 'env', 'evals', 'gpus', 'hot_params', 'metrics', 'name', 'observation_cadence', 'pass_env', 'primary_metric', 'project_file',
      'sample_cadence', 'schema', 'schema_source', 'stall_seconds', 'trend_window',
    ])
    expect(data).toMatchObject({
      name: 'toy', project_file: null, schema_source: 'declared',
      schema: {learning_rate: {type: 'number', min: 0}, 'task.modulus': {type: 'integer', min: 2, max: 64}, exit_code_at: {type: 'object', nullable: true}},
      defaults: {learning_rate: 0.05, task: {kind: 'modular_addition', modulus: 7}, exit_code_at: null},
      hot_params: {learning_rate: {min: 0, max: 100000}, beta: {min: 0, max: 100}, temperature: {min: 0.01, max: 100}},
      metrics: {reward: {goal: 'max'}, loss: {goal: 'min'}},
      primary_metric: 'reward', env: {}, pass_env: expect.arrayContaining(['PATH', 'HOME']),
    })
  })

  it('an unknown recipe is RECIPE_NOT_FOUND (exit 3); without --json the keys are a table', async () => {
    const sb = sandbox()
    expectError(await sb.json(['recipe', 'show', 'nope']), 'RECIPE_NOT_FOUND', 3)
    const human = await sb.run(['recipe', 'show', 'toy'])
    expect(human.exitCode).toBe(0)
    expect(human.stdout).toMatch(/task\.modulus\s+an integer in \[2, 64\]\s+7/)
    expect(expectOk(await sb.json(['recipe', 'list'])).recipes).toEqual([
      {name: 'toy', command: expect.any(String), gpus: 0, schema_source: 'declared', keys: 16, hot_params: ['learning_rate', 'beta', 'temperature'], primary_metric: 'reward'},
    ])
  })
})
