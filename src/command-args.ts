// Arguments and flags shared by several commands.
import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {AutolabError} from './lib/output/errors.js'
import {RUN_STATES} from './lib/runs/state-machine.js'

export const runArg = (options: {required: true}) => Args.string({description: 'Run id (e.g. r3) or run name.', ...options})

export const statusFlag = Flags.string({
  description: 'Only runs in this status (repeatable).',
  options: Object.keys(RUN_STATES),
  multiple: true,
})

/**
 * Every integer flag of every command: oclif's Flags.integer bounded to safe integers. oclif
 * parses digits with parseInt, so 2^63 became an imprecise float that SQLite refused deep in a
 * query ("datatype mismatch"); here any value outside [min, max] — by default the safe
 * integers — is an INVALID_ARGUMENT naming the flag and its range.
 */
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
