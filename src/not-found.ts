// oclif's command_not_found hook: an unknown command gets the same envelope and exit class as
// any other invalid input, instead of oclif's own message.
import {errorEnvelope, toJson} from './lib/output/envelope.js'
import {AutolabError} from './lib/output/errors.js'
import {statusBarBeforeOpen} from './lib/status.js'
import {storeFlagOf} from './lib/store/locate.js'

/**
 * The argv the CLI was given (set by cli.ts's execute; process.argv by default). oclif hands the
 * hook argv minus as many words as the unknown id has parts, counting colons inside the words
 * too, so `--json` may be missing from it.
 */
let given: readonly string[] = process.argv

export function noteArgv(argv: readonly string[]): void {
  given = argv
}

export async function commandNotFound(options: {id: string; argv?: string[]; config: {commandIDs: string[]}}): Promise<void> {
  const json = Boolean(options.argv?.includes('--json') || given.includes('--json'))
  reportUnknownCommand(options.id, options.config.commandIDs, json)
}

/**
 * The UNKNOWN_COMMAND answer, for oclif's hook and for what oclif would answer with help text
 * under --json (no command, or a topic alone: see incompleteCommand in argv.ts).
 */
export function reportUnknownCommand(id: string, known: readonly string[], json: boolean): void {
  const error = unknownCommandError(id, known)
  if (json) process.stdout.write(`${toJson(errorEnvelope(error, statusBarBeforeOpen(storeFlagOf(given))))}\n`)
  else process.stderr.write(`Error [${error.code}]: ${error.message}\n  → ${error.suggestedAction}\n`)
  process.exitCode = error.exitCode
}

function unknownCommandError(id: string, known: readonly string[]): AutolabError {
  const details = {command: id, commands: known}
  // oclif takes the first word as the command id, even when it is a flag.
  if (id === '' || id.startsWith('-')) {
    return new AutolabError('UNKNOWN_COMMAND', `No command given${id ? ` before ${id}` : ''}: autolab <command> [args] [flags].`, {details})
  }
  const inTopic = known.filter((c) => c.startsWith(`${id}:`))
  if (inTopic.length > 0) {
    const names = inTopic.map((c) => c.replaceAll(':', ' '))
    return new AutolabError('UNKNOWN_COMMAND', `"${id}" is a topic; give one of its commands: ${names.join(', ')}.`, {
      details: {...details, commands: inTopic},
      suggestedAction: `Run \`autolab ${id} --help\` for its commands.`,
    })
  }
  const near = known.filter((c) => editDistance(c, id) <= 2)
  return new AutolabError('UNKNOWN_COMMAND', `No command "${id.replaceAll(':', ' ')}".${near.length ? ` Did you mean ${near.map((c) => c.replaceAll(':', ' ')).join(' or ')}?` : ''}`, {details})
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
