// oclif's command_not_found hook: an unknown command gets the same envelope and exit class as
// any other invalid input, instead of oclif's own message.
import {errorEnvelope, toJson} from './lib/output/envelope.js'
import {AutolabError} from './lib/output/errors.js'
import {emptyStatusBar} from './lib/status.js'

export async function commandNotFound(options: {id: string; argv?: string[]; config: {commandIDs: string[]}}): Promise<void> {
  const known = options.config.commandIDs
  const near = known.filter((c) => editDistance(c, options.id) <= 2)
  const error = new AutolabError('UNKNOWN_COMMAND', `No command "${options.id}".${near.length ? ` Did you mean ${near.join(' or ')}?` : ''}`, {
    details: {command: options.id, commands: known},
  })
  if (options.argv?.includes('--json') || process.argv.includes('--json')) process.stdout.write(`${toJson(errorEnvelope(error, emptyStatusBar()))}\n`)
  else process.stderr.write(`Error [${error.code}]: ${error.message}\n  → ${error.suggestedAction}\n`)
  process.exitCode = error.exitCode
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({length: b.length + 1}, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    previous = current
  }
  return previous[b.length]
}
