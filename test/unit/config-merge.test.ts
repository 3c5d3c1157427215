import {describe, expect, it} from 'vitest'
import {applySets, canonicalJson, deepMerge, flatten, parseSet, parseSetValue, sha256} from '../../src/lib/config-merge.js'

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
})
