import * as Flags from '@oclif/core/flags'
import {AutolabCommand, type Parsed} from '../base-command.js'
import {integerFlag, listFlag} from '../command-args.js'
import type {Ctx} from '../lib/context.js'
import {type EvalView, listEvals} from '../lib/evals/queries.js'
import {EVAL_STATUSES} from '../lib/evals/state.js'
import {colourStatus, table} from '../lib/output/render.js'

export interface EvalsResult {
  evals: EvalView[]
}

export default class Evals extends AutolabCommand<EvalsResult> {
  static summary = 'List evals, oldest first: suite, checkpoint step, status, score.'
  static examples = ['<%= config.bin %> evals', '<%= config.bin %> evals --run r3 --suite heldout --status completed --json']
  static flags = {
    run: Flags.string({description: 'Only evals of this run.'}),
    suite: Flags.string({description: 'Only evals of this suite.'}),
    status: listFlag({description: 'Only evals in these statuses.', options: EVAL_STATUSES}),
    limit: integerFlag({description: 'Only the newest N evals.', min: 1}),
  }

  async execute(ctx: Ctx, {flags}: Parsed<typeof Evals>): Promise<EvalsResult> {
    return {evals: listEvals(ctx.store, {run: flags.run, suite: flags.suite, statuses: flags.status, limit: flags.limit})}
  }

  render(r: EvalsResult): string {
    return table(r.evals, [
      {header: 'EVAL', value: (x) => x.eval_id},
      {header: 'RUN', value: (x) => `${x.run_id}@${x.checkpoint_step}`},
      {header: 'SUITE', value: (x) => x.suite},
      {header: 'STATUS', value: (x) => colourStatus(x.status)},
      {header: 'SCORE', value: (x) => x.score, align: 'right'},
      {header: 'N', value: (x) => x.n, align: 'right'},
      {header: 'EXIT', value: (x) => x.exit_code, align: 'right'},
      {header: 'CREATED', value: (x) => x.created_at.replace('T', ' ').slice(0, 19)},
    ])
  }
}
