import * as Flags from '@oclif/core/flags'
import {AutolabCommand, type Parsed} from '../base-command.js'
import {integerFlag, runArg} from '../command-args.js'
import type {Ctx} from '../lib/context.js'
import {type CadenceResult, setCadence} from '../lib/runs/modify.js'

export default class Cadence extends AutolabCommand<CadenceResult> {
  static summary = 'Set how often a run is observed (summaries for the agent) and sampled (completions captured).'
  static description = 'Values are clamped to the bounds (observe 1–100000 steps, sample 1–1000000 steps); the applied values are returned, and the ones asked for under `clamped` when they differ. Raw metric points are always kept.'
  static examples = ['<%= config.bin %> cadence r3 --observe 50 --sample 200 --json']
  static args = {run: runArg({required: true})}
  static flags = {
    observe: integerFlag({description: 'Observation every N steps.'}),
    sample: integerFlag({description: 'Capture a sample every M steps.'}),
    reason: Flags.string({description: 'Why: recorded in the decision log.'}),
  }

  async execute(ctx: Ctx, {args, flags}: Parsed<typeof Cadence>): Promise<CadenceResult> {
    return setCadence(ctx, {run: args.run, observe: flags.observe, sample: flags.sample, reason: flags.reason})
  }

  render(r: CadenceResult): string {
    const clamped = Object.keys(r.clamped).length ? ` (clamped from ${JSON.stringify(r.clamped)})` : ''
    return `${r.run_id}: observe every ${r.observation_cadence} steps, sample every ${r.sample_cadence}${clamped}`
  }
}
