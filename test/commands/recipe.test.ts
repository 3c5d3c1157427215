// recipe show / recipe list in-process, on a project file of its own: a declared, an inferred and
// a missing schema, and launch held to each.
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import Launch from '../../src/commands/launch.js'
import RecipeList from '../../src/commands/recipe/list.js'
import RecipeShow from '../../src/commands/recipe/show.js'
import Runs from '../../src/commands/runs.js'
import Show from '../../src/commands/show.js'
import {createStore, removeDir, runCommand, tempDir, waitFor} from './run-command.js'

const PROJECT = `recipes:
  declared:
    command: "exit 0"
    schema:
      lr: {type: number, min: 0, description: step size}
      mode: {type: string, enum: [fast, slow]}
    hot_params:
      lr: {max: 1}
    config: {lr: 0.1}
    metrics: {score: {goal: max}, loss: {goal: min, description: training loss}}
    primary_metric: score
    env: {OMP_NUM_THREADS: "1", DATA: "\${HOME}/data"}
    pass_env: [PATH]
  inferred:
    command: "exit 0"
    config: {lr: 0.1, model: {layers: 2, name: tiny}}
  bare:
    command: "exit 0"
`

describe('recipe show and list', () => {
  let dir: string
  let store: string
  let project: string
  beforeEach(async () => {
    dir = tempDir()
    store = await createStore(dir)
    project = join(dir, 'autolab.yaml')
    writeFileSync(project, PROJECT)
  })
  afterEach(() => removeDir(dir))
  const run = (command: Parameters<typeof runCommand>[0], ...args: string[]) => runCommand(command, [...args, '--store', store, '--project', project])

  it('shows a declared schema with its hot params, metrics and environment', async () => {
    const out = await run(RecipeShow, 'declared')
    expect(out.json.data).toEqual({
      name: 'declared', project_file: project, command: 'exit 0', gpus: 0, schema_source: 'declared',
      schema: {lr: {type: 'number', min: 0, description: 'step size'}, mode: {type: 'string', enum: ['fast', 'slow']}},
      defaults: {lr: 0.1}, hot_params: {lr: {max: 1}},
      metrics: {score: {goal: 'max'}, loss: {goal: 'min', description: 'training loss'}}, primary_metric: 'score',
      env: {OMP_NUM_THREADS: '1', DATA: '${HOME}/data'}, pass_env: ['PATH'],
      observation_cadence: 10, sample_cadence: 50, trend_window: 20, stall_seconds: 300, evals: {},
    })
  })

  it('an inferred schema comes from the default config; a recipe with neither has none', async () => {
    expect((await run(RecipeShow, 'inferred')).json.data).toMatchObject({
      schema_source: 'inferred', schema: {lr: {type: 'number'}, 'model.layers': {type: 'number'}, 'model.name': {type: 'string'}},
    })
    expect((await run(RecipeShow, 'bare')).json.data).toMatchObject({schema_source: 'none', schema: null, defaults: {}})
    expect((await run(RecipeList)).json.data.recipes.map((r: {name: string; schema_source: string; keys: number}) => [r.name, r.schema_source, r.keys]))
      .toEqual([['declared', 'declared', 2], ['inferred', 'inferred', 3], ['bare', 'none', 0]])
  })

  it('launch holds each recipe to its schema: declared, inferred, none', async () => {
    const launch = (recipe: string, ...sets: string[]) => run(Launch, '--recipe', recipe, ...sets.flatMap((s) => ['--set', s]))
    expect((await launch('declared', 'mode=medium')).json.error).toMatchObject({code: 'INVALID_VALUE', details: {key: 'mode', expected: 'one of "fast", "slow"'}})
    expect((await launch('declared', 'lr=2')).json.error).toMatchObject({code: 'INVALID_VALUE', details: {key: 'lr', expected: 'a number in [0, 1]'}})
    expect((await launch('inferred', 'model.layer=3')).json.error).toMatchObject({code: 'UNKNOWN_CONFIG_KEY', details: {nearest: ['model.layers']}})
    expect((await launch('inferred', 'model.layers=deep')).json.error).toMatchObject({code: 'INVALID_VALUE', details: {key: 'model.layers', expected: 'a number'}})
    expect((await run(Runs)).json.data.runs).toEqual([])
    // No schema, no default config: nothing to check keys against.
    const bare = await launch('bare', 'anything=1')
    expect(bare.json.ok, bare.stdout).toBe(true)
    // Its wrapper writes into the directory until it ends: let it end before the directory goes.
    await waitFor(async () => (await run(Show, bare.json.data.run_id)).json.data.run.status === 'completed', 'the bare run to complete')
  })
})
