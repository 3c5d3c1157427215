import {describe, expect, it} from 'vitest'
import {DEFAULT_PASS_ENV, exampleProjectYaml, getRecipe, parseProject} from '../../src/lib/project.js'
import {expandEnvValue} from '../../src/lib/recipe-env.js'

const parseError = (text: string) => {
  try {
    parseProject(text, '/p/autolab.yaml')
  } catch (error) {
    return error as {code: string; message: string; details: {field: string}}
  }
  throw new Error('expected an error')
}

describe('project file', () => {
  it('the example project parses and declares the toy recipe with hot params', () => {
    const project = parseProject(exampleProjectYaml(), null)
    const toy = getRecipe(project, 'toy')
    expect(Object.keys(toy.hotParams).sort()).toEqual(['beta', 'learning_rate', 'temperature'])
    expect(toy.config).toMatchObject({learning_rate: expect.any(Number), beta: expect.any(Number), temperature: expect.any(Number), group_size: expect.any(Number), seed: expect.any(Number), max_steps: expect.any(Number), save_every: expect.any(Number), step_time_ms: expect.any(Number), task: expect.any(Object)})
    expect(project.hosts.local).toEqual({name: 'local', kind: 'local', gpus: []})
  })

  it.each([
    ['recipes: {toy: {gpus: 1}}', 'recipes.toy.command'],
    ['recipes: {toy: {command: "x {bogus}"}}', 'recipes.toy.command'],
    ['recipes: {toy: {command: x, gpus: -1}}', 'recipes.toy.gpus'],
    ['recipes: {toy: {command: x, hot_params: {lr: {min: 2, max: 1}}}}', 'recipes.toy.hot_params.lr'],
    ['recipes: {toy: {command: x, hot_params: {lr: {min: "a"}}}}', 'recipes.toy.hot_params.lr.min'],
    ['recipes: {toy: {command: x, config: [1]}}', 'recipes.toy.config'],
    ['recipes: {"../x": {command: x}}', 'recipes.../x'],
    ['recipes: [1]', 'recipes'],
    ['hosts: {gpu1: {kind: ssh}}\nrecipes: {}', 'hosts.gpu1.ssh'],
    ['hosts: {gpu1: {kind: slurm}}\nrecipes: {}', 'hosts.gpu1.kind'],
    ['hosts: {gpu1: {ssh: "a b", root: /r}}\nrecipes: {}', 'hosts.gpu1.ssh'],
    ['hosts: {gpu1: {ssh: gpu1, root: relative/path}}\nrecipes: {}', 'hosts.gpu1.root'],
    ['hosts: {gpu1: {ssh: gpu1, root: /a/../b}}\nrecipes: {}', 'hosts.gpu1.root'],
    ['hosts: {gpu1: {ssh: gpu1, root: /r, gpus: [0, 0]}}\nrecipes: {}', 'hosts.gpu1.gpus'],
    ['hosts: {gpu1: {ssh: gpu1, root: /r, gpu: [0]}}\nrecipes: {}', 'hosts.gpu1.gpu'],
    ['hosts: {other: {kind: local}}\nrecipes: {}', 'hosts.other'],
    ['hosts: {local: {gpus: [{}]}}\nrecipes: {}', 'hosts.local.gpus'],
    ['recipes: {toy: {command: x, schema: [1]}}', 'recipes.toy.schema'],
    ['recipes: {toy: {command: x, schema: {lr: {type: float}}}}', 'recipes.toy.schema.lr.type'],
    ['recipes: {toy: {command: x, schema: {lr: {type: number, min: 2, max: 1}}}}', 'recipes.toy.schema.lr'],
    ['recipes: {toy: {command: x, schema: {lr: {type: number}}, config: {lr: fast}}}', 'recipes.toy.config.lr'],
    ['recipes: {toy: {command: x, schema: {lr: {type: number}}, config: {lr: 1, seed: 0}}}', 'recipes.toy.config.seed'],
    ['recipes: {toy: {command: x, schema: {lr: {type: number}}, hot_params: {beta: {min: 0}}}}', 'recipes.toy.hot_params.beta'],
    ['recipes: {toy: {command: x, schema: {mode: {type: string}}, hot_params: {mode: {min: 0}}}}', 'recipes.toy.hot_params.mode'],
    ['recipes: {toy: {command: x, hot_params: {lr: {max: 1}}, config: {lr: 5}}}', 'recipes.toy.config.lr'],
    ['recipes: {toy: {command: x, metrics: [reward]}}', 'recipes.toy.metrics'],
    ['recipes: {toy: {command: x, metrics: {reward: {goal: up}}}}', 'recipes.toy.metrics.reward.goal'],
    ['recipes: {toy: {command: x, metrics: {reward: {goal: max, better: up}}}}', 'recipes.toy.metrics.reward.better'],
    ['recipes: {toy: {command: x, metrics: {reward: max}}}', 'recipes.toy.metrics.reward'],
    ['recipes: {toy: {command: x, metrics: {reward: {goal: max}}, primary_metric: loss}}', 'recipes.toy.primary_metric'],
    ['recipes: {toy: {command: x, metrics: {entropy: {goal: null}}, primary_metric: entropy}}', 'recipes.toy.primary_metric'],
    ['recipes: {toy: {command: x, env: [A]}}', 'recipes.toy.env'],
    ['recipes: {toy: {command: x, env: {1A: x}}}', 'recipes.toy.env.1A'],
    ['recipes: {toy: {command: x, env: {AUTOLAB_RUN_ID: x}}}', 'recipes.toy.env.AUTOLAB_RUN_ID'],
    ['recipes: {toy: {command: x, env: {CUDA_VISIBLE_DEVICES: "0"}}}', 'recipes.toy.env.CUDA_VISIBLE_DEVICES'],
    ['recipes: {toy: {command: x, env: {A: {b: 1}}}}', 'recipes.toy.env.A'],
    ['recipes: {toy: {command: x, env: {A: "${1x}"}}}', 'recipes.toy.env.A'],
    ['recipes: {toy: {command: x, env: {A: "${HOME"}}}', 'recipes.toy.env.A'],
    ['recipes: {toy: {command: x, pass_env: PATH}}', 'recipes.toy.pass_env'],
    ['recipes: {toy: {command: x, guards: {kl: {max: high}}}}', 'recipes.toy.guards.kl.max'],
    ['recipes: {toy: {command: x, guards: {kl: {}}}}', 'recipes.toy.guards.kl'],
    ['recipes: {toy: {command: x, guards: {kl: {min: 2, max: 1}}}}', 'recipes.toy.guards.kl'],
    ['recipes: {toy: {command: x, guards: {kl: {above: 1}}}}', 'recipes.toy.guards.kl.above'],
    ['recipes: {toy: {command: x, guards: [kl]}}', 'recipes.toy.guards'],
    ['recipes: {toy: {command: x, pass_env: [PATH, AUTOLAB_STORE]}}', 'recipes.toy.pass_env[1]'],
    ['recipes: {toy: {command: x, pass_env: [PATH, "A-B"]}}', 'recipes.toy.pass_env[1]'],
  ])('%s → INVALID_CONFIG naming %s', (text, field) => {
    const error = parseError(text)
    expect(error.code).toBe('INVALID_CONFIG')
    expect(error.details.field).toBe(field)
    expect(error.message).toContain(field)
  })

  it.each([
    [String.raw`echo "{project_dir}" >> note.txt; exit 0`, '{project_dir}'],
    [String.raw`cat '{run_dir}/x'`, '{run_dir}'],
    [String.raw`train "--out={run_dir}" --config {config}`, '{run_dir}'],
    [String.raw`train --config '{config}'`, '{config}'],
  ])('a quoted placeholder in %j is INVALID_CONFIG naming the recipe and %s', (command, placeholder) => {
    const error = parseError(`recipes:\n  quoted:\n    command: ${JSON.stringify(command)}\n`)
    expect(error.code).toBe('INVALID_CONFIG')
    expect(error.details.field).toBe('recipes.quoted.command')
    expect(error.message).toContain('recipes.quoted.command')
    expect(error.message).toContain(placeholder)
    expect(error.message).toContain('autolab quotes it for you; remove the quotes')
  })

  it('unquoted placeholders and escaped quotes (\\" outside quotes is not a quote) are accepted', () => {
    const project = parseProject(`recipes:\n  ok:\n    command: ${JSON.stringify(String.raw`echo \"{project_dir}\" > {run_dir}/note.txt; {node} {examples}/x.js --out={run_dir}/o`)}\n`, '/p/autolab.yaml')
    expect(project.recipes.ok.command).toContain('{run_dir}')
  })

  it('reports invalid YAML as INVALID_CONFIG', () => {
    expect(parseError('recipes: {toy: [').code).toBe('INVALID_CONFIG')
  })

  it('an unknown recipe is RECIPE_NOT_FOUND listing the available ones', () => {
    const project = parseProject(exampleProjectYaml(), null)
    expect(() => getRecipe(project, 'grpo')).toThrow(expect.objectContaining({code: 'RECIPE_NOT_FOUND', details: {recipe: 'grpo', available: ['toy']}}))
  })

  it('metrics, primary_metric, env and pass_env are parsed; pass_env has a default', () => {
    const project = parseProject([
      'recipes:',
      '  a:',
      '    command: x',
      '    metrics: {reward: {goal: max, description: mean reward}, loss: {goal: min}, entropy: null}',
      '    primary_metric: reward',
      '    env: {OMP_NUM_THREADS: 4, DATA: "${HOME}/data", PRICE: "$5", ON: true}',
      '    pass_env: [PATH, WANDB_API_KEY, PATH]',
      '  b:',
      '    command: x',
    ].join('\n'), '/p/autolab.yaml')
    expect(project.recipes.a).toMatchObject({
      metrics: {reward: {goal: 'max', description: 'mean reward'}, loss: {goal: 'min'}, entropy: {goal: null}},
      primaryMetric: 'reward',
      env: {OMP_NUM_THREADS: '4', DATA: '${HOME}/data', PRICE: '$5', ON: 'true'},
      passEnv: ['PATH', 'WANDB_API_KEY'],
    })
    expect(project.recipes.b).toMatchObject({metrics: {}, primaryMetric: null, env: {}, passEnv: [...DEFAULT_PASS_ENV], schema: null, schemaSource: 'none'})
  })

  it('a recipe without schema: infers one from its default config, hot params included', () => {
    const recipe = parseProject('recipes: {a: {command: x, config: {lr: 0.1, task: {n: 3}}, hot_params: {beta: {min: 0}}}}', '/p/autolab.yaml').recipes.a
    expect(recipe.schemaSource).toBe('inferred')
    expect(recipe.schema).toEqual({lr: {type: 'number'}, 'task.n': {type: 'number'}, beta: {type: 'number'}})
  })

  it('${VAR} in env values expands from an environment, unset ones listed', () => {
    expect(expandEnvValue('${HOME}/data:${NOPE}:$PLAIN', {HOME: '/h'})).toEqual({value: '/h/data::$PLAIN', missing: ['NOPE']})
  })
})
