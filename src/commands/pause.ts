import {AutolabCommand, mutationFlags, type Parsed} from '../base-command.js'
import {MAX_WAIT_SECONDS, integerFlag, runArg} from '../command-args.js'
import type {Ctx} from '../lib/context.js'
import {colourStatus} from '../lib/output/render.js'
import {type PauseResult, pauseRun} from '../lib/runs/pause.js'

export default class Pause extends AutolabCommand<PauseResult> {
  static summary = 'Pause a run: it checkpoints and exits; resume continues from there.'
  static description = 'Asks the trainer through control.json to save a checkpoint and exit 0. A trainer that ignores the contract is stopped with SIGTERM after --timeout and resumes from its latest checkpoint. Pausing a paused run changes nothing.'
  static examples = ['<%= config.bin %> pause r3 --reason "free the GPU for r7"', '<%= config.bin %> pause r3 --json']
  static args = {run: runArg({required: true})}
  static flags = {
    timeout: integerFlag({description: 'Seconds to wait for the trainer to checkpoint and exit before signalling it.', default: 60, min: 0, max: MAX_WAIT_SECONDS}),
    ...mutationFlags,
  }

  async execute(ctx: Ctx, {args, flags}: Parsed<typeof Pause>): Promise<PauseResult> {
    return pauseRun(ctx, {run: args.run, timeoutSeconds: flags.timeout, reason: flags.reason, idempotencyKey: flags['idempotency-key']})
  }

  render(r: PauseResult): string {
    if (!r.changed) return `${r.run_id} is already ${colourStatus(r.status)} (resumes from step ${r.checkpoint_step ?? 0})`
    return `${r.run_id}: ${r.previous_status} → ${colourStatus(r.status)}; resumes from step ${r.checkpoint_step ?? 0} (${r.stopped_by})`
  }
}
