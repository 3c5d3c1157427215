import {describe, expect, it} from 'vitest'
import {exampleProjectYaml, getRecipe, parseProject} from '../../src/lib/project.js'

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
    ['hosts: {gpu1: {kind: ssh}}\nrecipes: {}', 'hosts.gpu1.kind'],
    ['hosts: {local: {gpus: [{}]}}\nrecipes: {}', 'hosts.local.gpus'],
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
})
