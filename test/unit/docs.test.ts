// The docs are part of the contract: every command and every error code is documented.
import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {COMMANDS} from '../../src/cli.js'
import {ERROR_CODES} from '../../src/lib/output/errors.js'

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')

describe('README', () => {
  it('documents every error code with its exit class', () => {
    for (const [code, spec] of Object.entries(ERROR_CODES)) expect(readme, code).toContain(`| \`${code}\` | ${spec.exit} |`)
  })

  it('documents every command, and every command has a summary and examples', () => {
    for (const [id, command] of Object.entries(COMMANDS)) {
      expect(readme, id).toMatch(new RegExp(`\`${id.replaceAll(':', ' ')}[ \`]`))
      expect(command.summary, id).toBeTruthy()
      expect(command.examples?.length, id).toBeGreaterThan(0)
    }
  })

  it('has the two-line quick start that CI also runs', () => {
    expect(readme).toContain('npm ci && ./bin/run.js demo\nnpm test')
    expect(readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8')).toContain('npm test')
  })
})
