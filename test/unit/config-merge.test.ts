import {errorOf} from '../commands/run-command.js'
import {describe, expect, it} from 'vitest'
import {applySets, canonicalJson, CONFIG_VALUE_LIMITS, checkConfigValue, deepMerge, flatten, parseSet, parseSetValue, sha256} from '../../src/lib/config-merge.js'

describe('config merge', () => {
  it('deep-merges: an override never replaces a whole block', () => {
    const base = {optimizer: {lr: 1e-3, betas: [0.9, 0.99]}, task: {modulus: 7, kind: 'add'}}
    const merged = deepMerge(base, {optimizer: {lr: 2e-6}})
    expect(merged).toEqual({optimizer: {lr: 2e-6, betas: [0.9, 0.99]}, task: {modulus: 7, kind: 'add'}})
    expect(base.optimizer.lr).toBe(1e-3) // pure
  })

  it('replaces arrays and scalars, and a scalar by an object', () => {
    expect(deepMerge({a: [1, 2], b: 1}, {a: [3], b: {c: 1}})).toEqual({a: [3], b: {c: 1}})
  })

  it('parses --set values as JSON when they parse, else as strings', () => {
    expect(parseSetValue('2e-6')).toBe(2e-6)
    expect(parseSetValue('true')).toBe(true)
    expect(parseSetValue('null')).toBe(null)
    expect(parseSetValue('[1,2]')).toEqual([1, 2])
    expect(parseSetValue('{"step":5,"code":3}')).toEqual({step: 5, code: 3})
    expect(parseSetValue('adamw')).toBe('adamw')
    expect(parseSetValue('')).toBe('')
  })

  it('turns dotted keys into nested patches', () => {
    expect(parseSet('optimizer.lr=2e-6').patch).toEqual({optimizer: {lr: 2e-6}})
    expect(applySets({optimizer: {lr: 1, wd: 0}}, ['optimizer.lr=2', 'name=x=y'])).toEqual({optimizer: {lr: 2, wd: 0}, name: 'x=y'})
  })

  it.each(['noequals', '=3', 'a..b=1', '.a=1', 'a b=1', '1abc=2'])('rejects the malformed --set %s with INVALID_ARGUMENT', (bad) => {
    expect(() => parseSet(bad)).toThrow(expect.objectContaining({code: 'INVALID_ARGUMENT'}))
  })

  it('addresses content: key order does not change the hash, values do', () => {
    expect(canonicalJson({b: 1, a: {d: 2, c: 3}})).toBe('{"a":{"c":3,"d":2},"b":1}')
    expect(sha256(canonicalJson({a: 1, b: 2}))).toBe(sha256(canonicalJson({b: 2, a: 1})))
    expect(sha256(canonicalJson({a: 1}))).not.toBe(sha256(canonicalJson({a: 2})))
  })

  it('flattens to dotted keys', () => {
    expect(flatten({a: {b: 1, c: {d: [1]}}, e: 'x'})).toEqual({'a.b': 1, 'a.c.d': [1], e: 'x'})
  })

  describe('--set bounds (values from outside)', () => {
    const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`

    it('5,000 nested brackets are INVALID_VALUE naming the key, not a stack overflow', () => {
      const error = errorOf(() => applySets({}, [`x=${nested(5000)}`]))
      expect(error).toMatchObject({code: 'INVALID_VALUE', details: {max_depth: CONFIG_VALUE_LIMITS.maxDepth}})
      expect(error.message).toContain('--set x')
      expect(error.message).toContain('nested too deeply')
    })

    it('nesting is counted from the top of the config: dotted key parts are levels too', () => {
      const max = CONFIG_VALUE_LIMITS.maxDepth
      expect(parseSet(`x=${nested(max - 1)}`).patch.x).toBeInstanceOf(Array)
      expect(errorOf(() => parseSet(`x=${nested(max + 1)}`)).code).toBe('INVALID_VALUE')
      expect(errorOf(() => parseSet(`${'a.'.repeat(max - 1)}a=${nested(2)}`)).code).toBe('INVALID_VALUE')
      expect(errorOf(() => parseSet(`${'a.'.repeat(max)}a=1`)).code).toBe('INVALID_VALUE')
      expect(parseSet(`${'a.'.repeat(max - 2)}a=1`).value).toBe(1)
    })

    it('an assignment over the size bound is INVALID_VALUE before it is parsed', () => {
      const error = errorOf(() => parseSet(`x="${'y'.repeat(CONFIG_VALUE_LIMITS.maxBytes)}"`))
      expect(error).toMatchObject({code: 'INVALID_VALUE', details: {max_bytes: CONFIG_VALUE_LIMITS.maxBytes}})
      expect(error.message.length).toBeLessThan(300)
    })

    it('1e400 is not stored as null: a non-finite number is INVALID_VALUE', () => {
      expect(errorOf(() => parseSet('lr=1e400'))).toMatchObject({code: 'INVALID_VALUE', message: expect.stringContaining('--set lr')})
      expect(errorOf(() => parseSet('x={"a":[1,-1e400]}')).message).toContain('a[1]')
    })

    it.each(['__proto__.x=1', 'constructor.prototype.x=1', 'a.prototype=1', 'a.constructor=1', '__proto__=1'])('%s is INVALID_ARGUMENT naming the key', (assignment) => {
      const error = errorOf(() => applySets({}, [assignment]))
      expect(error.code).toBe('INVALID_ARGUMENT')
      expect(error.message).toContain(assignment.split('=')[0])
      expect(({} as Record<string, unknown>).x).toBeUndefined()
    })

    it('__proto__, constructor and prototype inside a JSON value are INVALID_ARGUMENT with their path', () => {
      const error = errorOf(() => applySets({}, ['opt={"a":{"__proto__":{"polluted":1}}}']))
      expect(error).toMatchObject({code: 'INVALID_ARGUMENT', details: {key: 'a.__proto__'}})
      expect(errorOf(() => parseSet('x=[{"constructor":{"prototype":1}}]')).details).toMatchObject({key: '[0].constructor'})
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    })

    it('ordinary values pass: keys that merely contain the words, strings that spell them', () => {
      expect(applySets({}, ['my_constructor=1', 'proto=__proto__', 'x={"prototypes":[1]}'])).toEqual({my_constructor: 1, proto: '__proto__', x: {prototypes: [1]}})
      expect(() => checkConfigValue({a: [{b: 'constructor'}]}, 'test')).not.toThrow()
    })
  })
})

describe('getDotted', () => {
  it('reads a dotted key through nested objects, own properties only', async () => {
    const {getDotted} = await import('../../src/lib/config-merge.js')
    const config = {task: {modulus: 7, kind: 'add'}, lr: 0.1}
    expect(getDotted(config, 'task.modulus')).toBe(7)
    expect(getDotted(config, 'lr')).toBe(0.1)
    expect(getDotted(config, 'task.missing')).toBeUndefined()
    expect(getDotted(config, 'lr.deeper')).toBeUndefined()
    expect(getDotted(config, 'task.constructor')).toBeUndefined()
  })
})
