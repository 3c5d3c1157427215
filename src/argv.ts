// argv before oclif sees it. oclif reads the command id from the words at the front of argv
// and stops at the first flag, so `autolab campaign --json create sweep` was the topic
// `campaign` (its help, exit 0, nothing created). Global flags belong to no command word:
// they are moved, with their values, behind the command words, wherever they were given.
import {baseFlags} from './base-command.js'

/** Global flag spellings → whether they take a value (a boolean with allowNo has a --no- form too). */
const GLOBAL_FLAGS = new Map<string, boolean>(Object.entries(baseFlags).flatMap(([name, flag]): [string, boolean][] => [
  [`--${name}`, flag.type === 'option'],
  ...('allowNo' in flag && flag.allowNo ? [[`--no-${name}`, false] as [string, boolean]] : []),
]))

/**
 * argv with every global flag (and the value of those that take one, `--store X` or
 * `--store=X`) moved after the other arguments, in their order; nothing after `--` moves.
 * A value-taking flag with nothing after it stays where it is, for oclif to report.
 */
export function hoistGlobalFlags(argv: readonly string[]): string[] {
  const rest: string[] = []
  const globals: string[] = []
  let i = 0
  for (; i < argv.length && argv[i] !== '--'; i++) {
    const arg = argv[i]
    const takesValue = GLOBAL_FLAGS.get(arg)
    if (takesValue === false) globals.push(arg)
    else if (takesValue === true && i + 1 < argv.length && argv[i + 1] !== '--') globals.push(arg, argv[++i])
    else if (takesValue === undefined && GLOBAL_FLAGS.get(arg.split('=')[0]) === true) globals.push(arg)
    else rest.push(arg)
  }
  return [...rest, ...globals, ...argv.slice(i)]
}

/**
 * With --json, what oclif would answer with help text instead of a command: no command word at
 * all (`autolab --json`), or a topic not followed by one of its commands (`autolab campaign
 * --json`; also `autolab campaign x=1 --json`, as oclif ends a command id at a word with "=").
 * Returns what was given instead of a command (the topic, the first flag, or '' for nothing) so
 * the caller can answer UNKNOWN_COMMAND; undefined when oclif can resolve or reject it itself.
 * `--help` and `--version` keep oclif's answer.
 */
export function incompleteCommand(argv: readonly string[], commandIds: readonly string[]): string | undefined {
  if (!argv.includes('--json') || argv.includes('--help') || argv[0] === '--version') return undefined
  const words = argv.slice(0, firstFlag(argv))
  // No word: name what came first instead (a command's flag given before the command), if anything.
  if (words.length === 0) return argv[0] === undefined || GLOBAL_FLAGS.has(argv[0].split('=')[0]) ? '' : argv[0]
  const topic = words[0]
  const isTopic = commandIds.some((id) => id.startsWith(`${topic}:`))
  const namesCommand = words.some((_, i) => commandIds.includes(words.slice(0, i + 1).join(':')))
  return isTopic && !namesCommand ? topic : undefined
}

function firstFlag(argv: readonly string[]): number {
  const i = argv.findIndex((a) => a.startsWith('-'))
  return i === -1 ? argv.length : i
}
