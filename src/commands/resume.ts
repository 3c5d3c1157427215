import {AutolabCommand, mutationFlags, type Parsed} from '../base-command.js'
import {integerFlag, runArg} from '../command-args.js'
import type {Ctx} from '../lib/context.js'
import {type ResumeResult, resumeRun} from '../lib/runs/pause.js'
import {MAX_GPUS} from '../lib/runs/placement.js'

export default class Resume extends AutolabCommand<ResumeResult> {
  static summary = 'Resume a paused run from its latest checkpoint, in the same run directory.'
  static description = 'A paused run holds no GPUs: it gets them again on its own host (NO_CAPACITY when that host has too few free).'
  static examples = ['<%= config.bin %> resume r3 --reason "GPU free again"', '<%= config.bin %> resume r3 --json', '<%= config.bin %> resume r3 --gpus 2 --json']
  static args = {run: runArg({required: true})}
  static flags = {
    gpus: integerFlag({description: 'GPUs it needs from now on (kept for later resumes). [default: its count so far]', min: 0, max: MAX_GPUS}),
    ...mutationFlags,
  }

  async execute(ctx: Ctx, {args, flags}: Parsed<typeof Resume>): Promise<ResumeResult> {
    return resumeRun(ctx, {run: args.run, gpus: flags.gpus, reason: flags.reason, idempotencyKey: flags['idempotency-key']})
  }

  render(r: ResumeResult): string {
    return `${r.replayed ? 'already resumed' : 'resumed'} ${r.run_id} from step ${r.resumed_from_step ?? 0} · host ${r.host}${r.gpus.length ? ` · GPU ${r.gpus.join(',')}` : ''} · pid ${r.pid}`
  }
}
