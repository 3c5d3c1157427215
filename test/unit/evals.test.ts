// The boundaries of evals: the recipe's `evals:` (one schema), and what an eval command writes
// (result.json, examples.jsonl): a bad input is a verdict or INVALID_CONFIG, never a throw elsewhere.
import {describe, expect, it} from 'vitest'
import {MAX_EXAMPLES, parseEvalExamples, parseEvalResult} from '../../src/lib/evals/results.js'
import {parseProject} from '../../src/lib/project.js'

const project = (evals: string) => `recipes:\n  t:\n    command: "sleep 1"\n    evals:\n${evals}`

describe('recipe evals', () => {
  it('parses suites, defaulting gpus to 0; the embedded toy recipe has heldout', () => {
    const p = parseProject(project('      quick: {command: "sh x.sh {checkpoint} {out} --n {n}", description: "d"}\n      big: {command: "run {settings}", gpus: 2}\n'), null)
    expect(p.recipes.t.evals).toEqual({quick: {command: 'sh x.sh {checkpoint} {out} --n {n}', gpus: 0, description: 'd'}, big: {command: 'run {settings}', gpus: 2}})
    expect(parseProject(project('      {}\n').replace('    evals:\n      {}\n', ''), null).recipes.t.evals).toEqual({})
  })

  it.each([
    ['      q: {command: "x {config}"}\n', /unknown placeholder \{config\}/],
    ['      q: {command: "x \'{checkpoint}\'"}\n', /inside single quotes/],
    ['      q: {command: "x", gpus: -1}\n', /evals\.q\.gpus/],
    ['      q: {command: ""}\n', /evals\.q\.command/],
    ['      q: {command: "x", extra: 1}\n', /evals\.q\.extra: unknown field/],
    ['      "bad name": {command: "x"}\n', /suite names/],
    ['      - a\n', /recipes\.t\.evals: must be a mapping/],
  ])('refuses %j', (evals, message) => {
    expect(() => parseProject(project(evals), null)).toThrow(message)
  })
})

describe('result.json', () => {
  const parse = (text: string | null) => parseEvalResult(text === null ? null : Buffer.from(text))
  it('takes score (or null), flat numeric metrics and a breakdown object; the last two default to {}', () => {
    expect(parse('{"score": 0.5, "metrics": {"acc": 0.5}, "breakdown": {"a": [1]}}')).toEqual({ok: true, result: {score: 0.5, metrics: {acc: 0.5}, breakdown: {a: [1]}}})
    expect(parse('{"score": null}')).toEqual({ok: true, result: {score: null, metrics: {}, breakdown: {}}})
  })
  it.each([
    [null, /wrote no result\.json/],
    ['{"score": ', /not valid JSON/],
    ['[1]', /one object/],
    ['{"score": "high"}', /score must be a finite number/],
    ['{"score": 1, "metrics": {"a": "x"}}', /metrics\.a must be a finite number/],
    ['{"score": 1, "metrics": {"a": {"b": 1}}}', /metrics\.a/],
    ['{"score": 1, "breakdown": 3}', /breakdown must be an object/],
  ])('refuses %j with a reason', (text, reason) => {
    const verdict = parse(text)
    expect(verdict.ok).toBe(false)
    expect(!verdict.ok && verdict.error).toMatch(reason)
  })
  it('refuses a file over 1 MiB', () => {
    expect(parseEvalResult(Buffer.alloc((1 << 20) + 1, 0x20)).ok).toBe(false)
  })
})

describe('examples.jsonl', () => {
  it('keeps valid lines, counts the malformed, bounds the count', () => {
    const text = '{"prompt":"p","output":1,"correct":false,"x":2}\nnope\n{"correct":"yes"}\n[]\n\n{"prompt":"q"}\n'
    const parsed = parseEvalExamples(Buffer.from(text))
    expect(parsed.examples).toEqual([
      {prompt: 'p', output: '1', expected: null, correct: false, fields: {x: 2}},
      {prompt: 'q', output: null, expected: null, correct: null, fields: null},
    ])
    expect(parsed.rejected).toBe(3)
    const many = parseEvalExamples(Buffer.from('{"correct":true}\n'.repeat(MAX_EXAMPLES + 5)))
    expect(many.examples).toHaveLength(MAX_EXAMPLES)
    expect(many.dropped).toBe(5)
  })
})
