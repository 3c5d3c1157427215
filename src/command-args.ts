// Arguments and flags shared by several commands.
import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import type {OptionFlag} from '@oclif/core/interfaces'
import {AutolabError} from './lib/output/errors.js'
import {RUN_STATES} from './lib/runs/state-machine.js'

export const runArg = (options: {required: true}) => Args.string({description: 'Run id (e.g. r3) or run name, exactly; a name that matches several runs is AMBIGUOUS_RUN.', ...options})

interface ListFlagSpec {
  description: string
  /** The valid values: anything else is INVALID_ARGUMENT listing them. Omit for free values (run refs, metrics: checked where they are used). */
  options?: readonly string[]
}

/**
 * Every list-valued flag: repeats and commas alike (`--kind fork,modify` is `--kind fork --kind
 * modify`; `\,` keeps a comma inside one value). With `options`, a value outside them is
 * INVALID_ARGUMENT naming the flag and listing the valid values — a filter never silently
 * matches nothing because it was asked wrong. An empty value (`--kind ''`, `a,,b`) is refused too.
 */
export function listFlag(spec: ListFlagSpec & {default: string[]}): OptionFlag<string[]>
export function listFlag(spec: ListFlagSpec): OptionFlag<string[] | undefined>
export function listFlag(spec: ListFlagSpec & {default?: string[]}): OptionFlag<string[] | undefined> {
  const valid = spec.options
  return Flags.string({
    // The valid values are listed by oclif's help (and guide) from `options`.
    description: `${spec.description} Repeat the flag or separate values with commas.`,
    multiple: true,
    delimiter: ',',
    default: spec.default,
    options: valid ? [...valid] : undefined,
    async parse(input: string, _context: unknown, flag: {name: string}) {
      if (input === '') {
        throw new AutolabError('INVALID_ARGUMENT', `--${flag.name} has an empty value${valid ? `; give one or more of: ${valid.join(', ')}` : ''}.`, {details: {flag: flag.name, value: input, ...(valid ? {valid: [...valid]} : {})}})
      }
      if (valid && !valid.includes(input)) {
        const shown = input.length > 40 ? `${input.slice(0, 40)}… (${input.length} characters)` : input
        throw new AutolabError('INVALID_ARGUMENT', `--${flag.name} "${shown}" is not one of: ${valid.join(', ')}.`, {details: {flag: flag.name, value: shown, valid: [...valid]}})
      }
      return input
    },
  }) as unknown as OptionFlag<string[] | undefined>
}

export const statusFlag = listFlag({description: 'Only runs in these statuses.', options: Object.keys(RUN_STATES)})

/**
 * Every integer flag of every command: oclif's Flags.integer bounded to safe integers. oclif
 * parses digits with parseInt, so 2^63 became an imprecise float that SQLite refused deep in a
 * query ("datatype mismatch"); here any value outside [min, max] — by default the safe
 * integers — is an INVALID_ARGUMENT naming the flag and its range.
 */
/**
 * The longest any command waits in one call (a day): an agent loops over calls, and Node's timers
 * overflow past ~24.8 days (firing at once), so an unbounded wait would be a silent no-wait.
 */
export const MAX_WAIT_SECONDS = 86_400

export const integerFlag = ((options: Record<string, unknown> = {}) =>
  Flags.integer({...options, parse: parseBoundedInteger})) as typeof Flags.integer

async function parseBoundedInteger(input: string, _context: unknown, flag: {name: string; char?: string; min?: number; max?: number}): Promise<number> {
  const min = flag.min ?? Number.MIN_SAFE_INTEGER
  const max = flag.max ?? Number.MAX_SAFE_INTEGER
  const value = /^-?\d+$/.test(input) ? Number(input) : Number.NaN
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const shown = input.length > 40 ? `${input.slice(0, 40)}… (${input.length} characters)` : input
    const label = flag.char ? `-${flag.char} (--${flag.name})` : `--${flag.name}`
    throw new AutolabError('INVALID_ARGUMENT', `${label} must be an integer from ${min} to ${max}; got "${shown}".`, {
      details: {flag: flag.name, value: shown, min, max},
    })
  }
  return value
}
