import {describe, expect, it} from 'vitest'
import {DEFAULT_CONFIG, resolveConfig} from '../../examples/toy-rl/config.js'
import {
  type ConfigSchema, assertValidConfig, editDistance, expectedPhrase, extendSchema, inferSchema, nearestKeys, parseSchemaDeclaration,
  validateConfig, withHotParams,
} from '../../src/lib/config-schema.js'
import {exampleProjectYaml, getRecipe, parseProject} from '../../src/lib/project.js'

const bad = (field: string, why: string): never => {
  throw Object.assign(new Error(`${field}: ${why}`), {field})
}
const declare = (raw: unknown) => parseSchemaDeclaration(raw, bad)
const declError = (raw: unknown) => {
  try {
    declare(raw)
  } catch (error) {
    return error as Error & {field: string}
  }
  throw new Error('expected an error')
}
const thrown = (fn: () => void) => {
  try {
    fn()
  } catch (error) {
    return error as {code: string; message: string; details: any; suggestedAction: string}
  }
  throw new Error('expected an error')
}

const TOY: ConfigSchema = {
  learning_rate: {type: 'number', min: 0},
  group_size: {type: 'integer', min: 2, max: 4096},
  optimizer: {type: 'object'},
  'task.kind': {type: 'string', enum: ['modular_addition']},
  'task.modulus': {type: 'integer', min: 2, max: 64},
  exit_code_at: {type: 'object', nullable: true},
  'exit_code_at.step': {type: 'integer', min: 0},
  tags: {type: 'array'},
  verbose: {type: 'boolean'},
  anything: {},
}

describe('inferSchema', () => {
  it('types each leaf by its JSON type; nested objects are walked, {} is an open object, null takes anything', () => {
    expect(inferSchema({lr: 0.1, name: 'x', on: true, list: [1], free: {}, none: null, task: {modulus: 7, kind: 'm'}})).toEqual({
      lr: {type: 'number'}, name: {type: 'string'}, on: {type: 'boolean'}, list: {type: 'array'}, free: {type: 'object'}, none: {},
      'task.modulus': {type: 'number'}, 'task.kind': {type: 'string'},
    })
  })

  it('an empty default config gives no schema (nothing is checked)', () => {
    expect(inferSchema({})).toBeNull()
    expect(validateConfig({anything: 'goes'}, null)).toEqual([])
  })

  it('an inferred schema refuses a typo and a wrong type, and closes nested objects', () => {
    const schema = inferSchema(DEFAULT_CONFIG as unknown as Record<string, unknown>)!
    expect(validateConfig({...DEFAULT_CONFIG}, schema)).toEqual([])
    expect(validateConfig({learnign_rate: 0.1}, schema)[0]).toMatchObject({code: 'UNKNOWN_CONFIG_KEY', key: 'learnign_rate', nearest: ['learning_rate']})
    expect(validateConfig({learning_rate: 'abc'}, schema)[0]).toMatchObject({code: 'INVALID_VALUE', key: 'learning_rate', expected: 'a number', given: 'abc'})
    expect(validateConfig({task: {modulos: 7}}, schema)[0]).toMatchObject({code: 'UNKNOWN_CONFIG_KEY', key: 'task.modulos', nearest: ['task.modulus']})
    // exit_code_at defaults to null: any value, sub-keys included.
    expect(validateConfig({exit_code_at: {step: 5, code: 3}}, schema)).toEqual([])
  })

  it('hot params missing from the default config become keys (numbers when ranged)', () => {
    expect(withHotParams(inferSchema({a: 1}), {lr: {min: 0}, flag: {}})).toEqual({a: {type: 'number'}, lr: {type: 'number'}, flag: {}})
  })
})

describe('parseSchemaDeclaration', () => {
  it('takes every field', () => {
    expect(declare({'a.b': {type: 'integer', min: 1, max: 3, enum: [1, 2], nullable: true, description: 'd'}}))
      .toEqual({'a.b': {type: 'integer', min: 1, max: 3, enum: [1, 2], nullable: true, description: 'd'}})
  })

  it.each([
    [[1], ''],
    [{'a..b': {type: 'number'}}, 'a..b'],
    [{'__proto__.x': {type: 'number'}}, '__proto__.x'],
    [{a: 'number'}, 'a'],
    [{a: {type: 'float'}}, 'a.type'],
    [{a: {type: 'number', maximum: 3}}, 'a.maximum'],
    [{a: {type: 'number', min: 'x'}}, 'a.min'],
    [{a: {type: 'string', min: 1}}, 'a.min'],
    [{a: {type: 'number', min: 2, max: 1}}, 'a'],
    [{a: {type: 'string', enum: []}}, 'a.enum'],
    [{a: {type: 'string', enum: [1]}}, 'a.enum'],
    [{a: {type: 'number', nullable: 'yes'}}, 'a.nullable'],
    [{a: {description: 3}}, 'a.description'],
    [{a: {type: 'number'}, 'a.b': {type: 'number'}}, 'a.b'],
  ])('%j is refused naming %j', (raw, field) => {
    expect(declError(raw).field).toBe(field)
  })
})

describe('validateConfig', () => {
  it.each([
    [{learning_rate: 'abc'}, 'learning_rate', 'a number ≥ 0'],
    [{learning_rate: -1}, 'learning_rate', 'a number ≥ 0'],
    [{group_size: 2.5}, 'group_size', 'an integer in [2, 4096]'],
    [{group_size: 1}, 'group_size', 'an integer in [2, 4096]'],
    [{group_size: '8'}, 'group_size', 'an integer in [2, 4096]'],
    [{task: {kind: 'other'}}, 'task.kind', 'one of "modular_addition"'],
    [{task: 7}, 'task', 'an object'],
    [{task: null}, 'task', 'an object'],
    [{tags: 'a,b'}, 'tags', 'an array'],
    [{verbose: 1}, 'verbose', 'a boolean'],
    [{learning_rate: null}, 'learning_rate', 'a number ≥ 0'],
    [{exit_code_at: {step: -1}}, 'exit_code_at.step', 'an integer ≥ 0'],
    [{exit_code_at: 5}, 'exit_code_at', 'an object or null'],
  ])('%j is INVALID_VALUE at %s, expecting %s', (config, key, expected) => {
    const [problem, ...rest] = validateConfig(config, TOY)
    expect(rest).toEqual([])
    expect(problem).toMatchObject({code: 'INVALID_VALUE', key, expected})
    expect(problem.message).toContain(key)
    expect(problem.message).toContain(expected)
  })

  it.each([
    {learning_rate: 0, group_size: 2},
    {group_size: 4096, task: {kind: 'modular_addition', modulus: 64}},
    {exit_code_at: null},
    {exit_code_at: {step: 3}},
    {optimizer: {lr: 1, betas: [0.9, 0.99], nested: {deep: true}}}, // an object without declared sub-keys is open
    {anything: {x: [1]}},
    {anything: null},
    {tags: [], verbose: false},
  ])('%j is valid', (config) => {
    expect(validateConfig(config, TOY)).toEqual([])
  })

  it('reports every problem, unknown keys with the nearest known ones', () => {
    const problems = validateConfig({learnign_rate: 1, group_size: 'x', task: {modulos: 3}, zzzzzz: 1}, TOY)
    expect(problems.map((p) => [p.code, p.key, p.nearest])).toEqual([
      ['UNKNOWN_CONFIG_KEY', 'learnign_rate', ['learning_rate']],
      ['INVALID_VALUE', 'group_size', undefined],
      ['UNKNOWN_CONFIG_KEY', 'task.modulos', ['task.modulus']],
      ['UNKNOWN_CONFIG_KEY', 'zzzzzz', []],
    ])
  })

  it('--allow-new-keys accepts unknown keys but still checks known ones', () => {
    expect(validateConfig({warmup: 1, task: {extra: 1}}, TOY, {allowNewKeys: true})).toEqual([])
    expect(validateConfig({warmup: 1, learning_rate: 'x'}, TOY, {allowNewKeys: true}).map((p) => p.key)).toEqual(['learning_rate'])
  })

  it('hot_params ranges narrow the schema, with or without one', () => {
    const hotParams = {learning_rate: {min: 0, max: 10}, 'opt.lr': {max: 1}}
    expect(validateConfig({learning_rate: 11}, TOY, {hotParams})[0]).toMatchObject({code: 'INVALID_VALUE', expected: 'a number in [0, 10]', given: 11})
    expect(validateConfig({learning_rate: 10}, TOY, {hotParams})).toEqual([])
    expect(validateConfig({learning_rate: 5, opt: {lr: 2, other: 'x'}}, null, {hotParams})[0]).toMatchObject({key: 'opt.lr', expected: 'a number ≤ 1'})
    expect(validateConfig({opt: {lr: 'fast'}}, null, {hotParams})[0]).toMatchObject({key: 'opt.lr', given: 'fast'})
  })

  it('a long value is cut short in the problem', () => {
    const [problem] = validateConfig({learning_rate: 'x'.repeat(5000)}, TOY)
    expect(String(problem.given).length).toBeLessThan(300)
  })

  it('assertValidConfig throws the first problem with key, expected, given, nearest, and all problems', () => {
    const error = thrown(() => assertValidConfig({learnign_rate: 0.1, group_size: 1}, TOY, {recipe: 'toy'}))
    expect(error.code).toBe('UNKNOWN_CONFIG_KEY')
    expect(error.message).toMatch(/learnign_rate.*toy.*did you mean `learning_rate`/i)
    expect(error.details).toMatchObject({recipe: 'toy', key: 'learnign_rate', nearest: ['learning_rate'], given: 0.1})
    expect(error.details.problems.map((p: {key: string}) => p.key)).toEqual(['learnign_rate', 'group_size'])
    expect(error.suggestedAction).toContain('`learning_rate`')
    const value = thrown(() => assertValidConfig({learning_rate: 'abc'}, TOY, {recipe: 'toy'}))
    expect(value).toMatchObject({code: 'INVALID_VALUE', details: {key: 'learning_rate', expected: 'a number ≥ 0', given: 'abc'}})
    expect(value.details.problems).toBeUndefined()
    expect(() => assertValidConfig({learning_rate: 1}, TOY, {recipe: 'toy'})).not.toThrow()
  })
})

describe('nearest keys', () => {
  const schema: ConfigSchema = {learning_rate: {}, 'task.modulus': {}, 'optimizer.lr': {}, beta: {}, batch_size: {}, seed: {}}
  it.each([
    ['learnign_rate', 'learning_rate'], // transposition
    ['Learning_Rate', 'learning_rate'], // case
    ['learning-rate', 'learning_rate'],
    ['modulus', 'task.modulus'], // last segment
    ['tsak.modulus', 'task.modulus'],
    ['lr', 'optimizer.lr'],
    ['bta', 'beta'],
    ['batchsize', 'batch_size'],
  ])('%s → %s', (key, nearest) => {
    expect(nearestKeys(schema, key)[0]).toBe(nearest)
  })

  it('nothing near a key unlike any other; a shared prefix does not make keys near; at most three', () => {
    expect(nearestKeys(schema, 'temperature')).toEqual([])
    expect(nearestKeys({'model.layers': {}, 'model.name': {}}, 'model.layer')).toEqual(['model.layers'])
    expect(nearestKeys({'model.layers': {}, 'model.name': {}}, 'model.size')).toEqual([])
    expect(nearestKeys({a1: {}, a2: {}, a3: {}, a4: {}}, 'a')).toHaveLength(3)
  })

  it('edit distance counts an adjacent transposition as one edit and stops past the limit', () => {
    expect(editDistance('learnign', 'learning')).toBe(1)
    expect(editDistance('kitten', 'sitting')).toBe(3)
    expect(editDistance('abc', 'abc')).toBe(0)
    expect(editDistance('a', 'abcdefgh', 2)).toBe(3)
  })
})

describe('extendSchema', () => {
  it('adds the keys a config holds that the schema does not know, and keeps the rest', () => {
    const extended = extendSchema(TOY, {warmup: 5, task: {extra: 'x', modulus: 7}, optimizer: {lr: 1}})!
    expect(extended.warmup).toEqual({type: 'number'})
    expect(extended['task.extra']).toEqual({type: 'string'})
    expect(extended['optimizer.lr']).toBeUndefined() // under an open object already
    expect(extended['task.modulus']).toEqual(TOY['task.modulus'])
    expect(extendSchema(null, {a: 1})).toBeNull()
  })
})

describe('the toy recipe', () => {
  const toy = getRecipe(parseProject(exampleProjectYaml(), null), 'toy')

  it('declares its schema, and its default config fits it', () => {
    expect(toy.schemaSource).toBe('declared')
    expect(Object.keys(toy.schema!).sort()).toEqual([
      'batch_size', 'beta', 'exit_code_at', 'exit_code_at.code', 'exit_code_at.step', 'group_size', 'init_scale', 'learning_rate',
      'max_steps', 'save_every', 'seed', 'step_time_ms', 'task', 'task.kind', 'task.modulus', 'temperature',
    ])
    expect(validateConfig(toy.config, toy.schema, {hotParams: toy.hotParams})).toEqual([])
  })

  it('agrees with the trainer: each bound the recipe accepts, the trainer accepts, and just past it both refuse', () => {
    const accepts = (config: Record<string, unknown>) => validateConfig(config, toy.schema, {hotParams: toy.hotParams}).length === 0
    const trainerAccepts = (config: Record<string, unknown>) => {
      try {
        resolveConfig(config)
        return true
      } catch {
        return false
      }
    }
    // A nested key is set inside a valid block (the trainer wants both exit_code_at.step and .code).
    const blocks: Record<string, object> = {task: DEFAULT_CONFIG.task, exit_code_at: {step: 1, code: 0}}
    const setAt = (key: string, value: unknown) => {
      const [head, tail] = key.split('.')
      return tail === undefined ? {[key]: value} : {[head]: {...blocks[head], [tail]: value}}
    }
    let checked = 0
    for (const [key, spec] of Object.entries(toy.schema!)) {
      if (spec.type !== 'number' && spec.type !== 'integer') continue
      const hot = toy.hotParams[key]
      const min = Math.max(spec.min ?? -Infinity, hot?.min ?? -Infinity)
      const max = Math.min(spec.max ?? Infinity, hot?.max ?? Infinity)
      for (const inside of [min, max].filter(Number.isFinite)) {
        expect(accepts(setAt(key, inside)), `${key}=${inside} (recipe)`).toBe(true)
        expect(trainerAccepts(setAt(key, inside)), `${key}=${inside} (trainer)`).toBe(true)
        checked++
      }
      if (Number.isFinite(min)) expect(accepts(setAt(key, min - 1)), `${key}=${min - 1}`).toBe(false)
      if (Number.isFinite(max)) expect(accepts(setAt(key, max + 1)), `${key}=${max + 1}`).toBe(false)
      if (spec.type === 'integer') expect(trainerAccepts(setAt(key, (Number.isFinite(min) ? min : 0) + 0.5)), `${key} non-integer (trainer)`).toBe(false)
    }
    expect(checked).toBeGreaterThan(15)
  })

  it('declares its metrics, with reward as the primary one', () => {
    expect(toy.metrics).toMatchObject({reward: {goal: 'max'}, accuracy: {goal: 'max'}, loss: {goal: 'min'}, kl: {goal: null}, entropy: {goal: null}})
    expect(toy.primaryMetric).toBe('reward')
  })

  it('phrases what a key takes', () => {
    expect(expectedPhrase(toy.schema!['task.modulus'])).toBe('an integer in [2, 64]')
    expect(expectedPhrase(toy.schema!.exit_code_at)).toBe('an object or null')
  })
})
