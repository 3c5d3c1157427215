import {AutolabCommand, mutationFlags, type Parsed} from '../base-command.js'
import {runArg} from '../command-args.js'
import type {Ctx} from '../lib/context.js'
import {type ResumeResult, resumeRun} from '../lib/runs/pause.js'

export default class Resume extends AutolabCommand<ResumeResult> {
  static summary = 'Resume a paused run from its latest checkpoint, in the same run directory.'
  static examples = ['<%= config.bin %> resume r3 --reason "GPU free again"', '<%= config.bin %> resume r3 --json']
  static args = {run: runArg({required: true})}
  static flags = {...mutationFlags}

  async execute(ctx: Ctx, {args, flags}: Parsed<typeof Resume>): Promise<ResumeResult> {
    return resumeRun(ctx, {run: args.run, reason: flags.reason, idempotencyKey: flags['idempotency-key']})
  }

  render(r: ResumeResult): string {
    return `${r.replayed ? 'already resumed' : 'resumed'} ${r.run_id} from step ${r.resumed_from_step ?? 0} · pid ${r.pid}`
  }
}
