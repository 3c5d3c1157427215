import * as Args from '@oclif/core/args'
import {AutolabCommand, mutationFlags, type Parsed} from '../../base-command.js'
import type {Ctx} from '../../lib/context.js'
import {type EvalKillResult, killEval} from '../../lib/evals/kill.js'
import {colourStatus} from '../../lib/output/render.js'

export default class EvalKill extends AutolabCommand<EvalKillResult> {
  static summary = 'Stop an eval: SIGTERM to its process group, then SIGKILL; idempotent.'
  static examples = ['<%= config.bin %> eval kill e4 --reason "wrong suite" --json']
  static args = {eval: Args.string({description: 'Eval id (e.g. e4).', required: true})}
  static flags = {reason: mutationFlags.reason}

  async execute(ctx: Ctx, {args, flags}: Parsed<typeof EvalKill>): Promise<EvalKillResult> {
    return killEval(ctx, {evalId: args.eval, reason: flags.reason})
  }

  render(r: EvalKillResult): string {
    if (!r.changed) return `${r.eval_id} had already ended (${colourStatus(r.status)}); nothing to do`
    return `${r.eval_id}: ${r.previous_status} → ${colourStatus(r.status)} (${r.stopped_by})`
  }
}
