import * as Flags from '@oclif/core/flags'
import {AutolabCommand, mutationFlags, type Parsed} from '../base-command.js'
import {integerFlag, runArg} from '../command-args.js'
import type {Ctx} from '../lib/context.js'
import {DEFAULT_EVAL_N, type EvalStartResult, MAX_EVAL_N, startEval} from '../lib/evals/launch.js'
import {colourStatus} from '../lib/output/render.js'

export default class Eval extends AutolabCommand<EvalStartResult> {
  static summary = 'Score a checkpoint of a run with one of its recipe\'s eval suites, in the background.'
  static description = 'Checks first (the suite exists in the run\'s recipe — SUITE_NOT_FOUND lists them; the checkpoint exists — NO_CHECKPOINT lists the steps; GPUs free on the run\'s host — NO_CAPACITY), then starts the suite\'s command on the run\'s host in <run dir>/evals/<eval id>/ and returns at once. The eval ends `completed` (exit 0 and a valid result.json) or `failed`; either way an `eval` event wakes `wait --for eval`; `eval show ID` has the score, metrics, breakdown and examples. The run itself is unaffected.'
  static examples = [
    '<%= config.bin %> eval r3 --suite heldout --json',
    '<%= config.bin %> eval r3 --suite heldout --step 400 --n 500 --set temperature=0 --reason "is the reward real?" --json',
    '<%= config.bin %> eval r3 --suite gpu-heldout --preempt --json',
  ]
  static args = {run: runArg({required: true})}
  static flags = {
    suite: Flags.string({description: 'The eval suite (`evals:` of the run\'s recipe).', required: true}),
    step: integerFlag({description: 'The checkpoint step to score. [default: the run\'s latest checkpoint]', min: 0}),
    n: integerFlag({description: 'How many examples to score ({n}).', default: DEFAULT_EVAL_N, min: 1, max: MAX_EVAL_N}),
    set: Flags.string({description: 'A setting for the eval, key=value (repeatable): written as a JSON object to the {settings} file.', multiple: true}),
    queue: Flags.boolean({description: 'When the run\'s host has too few free GPUs for the suite, queue the eval (status queued; `tick` starts it) instead of NO_CAPACITY.'}),
    preempt: Flags.boolean({description: 'When the run\'s host has too few free GPUs for the suite and the run holds some, pause the run first (resume it later with `autolab resume`).'}),
    ...mutationFlags,
  }

  async execute(ctx: Ctx, {args, flags}: Parsed<typeof Eval>): Promise<EvalStartResult> {
    return startEval(ctx, {run: args.run, suite: flags.suite, step: flags.step, n: flags.n, sets: flags.set ?? [], reason: flags.reason, idempotencyKey: flags['idempotency-key'], preempt: flags.preempt, queue: flags.queue})
  }

  render(r: EvalStartResult): string {
    if (r.status === 'queued') return `${r.eval_id}: ${r.suite} on ${r.run_id}@${r.checkpoint_step} queued: no free GPU on ${r.host}; \`autolab tick\` starts it when one frees up`
    return `${r.eval_id}: ${r.suite} on ${r.run_id}@${r.checkpoint_step} ${colourStatus(r.status)} (pid ${r.pid}, host ${r.host}); \`autolab wait --for eval\` wakes when it ends`
  }
}
