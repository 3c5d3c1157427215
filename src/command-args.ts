// Arguments and flags shared by several commands.
import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {RUN_STATES} from './lib/runs/state-machine.js'

export const runArg = (options: {required: true}) => Args.string({description: 'Run id (e.g. r3) or run name.', ...options})

export const statusFlag = Flags.string({
  description: 'Only runs in this status (repeatable).',
  options: Object.keys(RUN_STATES),
  multiple: true,
})
