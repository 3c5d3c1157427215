import * as Flags from '@oclif/core/flags'
import type * as Interfaces from '@oclif/core/interfaces'
import chalk from 'chalk'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {AutolabCommand, type baseFlags, type Parsed} from '../base-command.js'
import {integerFlag} from '../command-args.js'
import {type Ctx, openContext} from '../lib/context.js'
import {type DemoResult, type DemoRunProgress, runDemo} from '../lib/demo.js'
import {lineChart} from '../lib/output/chart.js'
import {colourStatus} from '../lib/output/render.js'
import {exampleProjectYaml, parseProject} from '../lib/project.js'

export default class Demo extends AutolabCommand<DemoResult> {
  static summary = 'Train two toy RL runs side by side (a too-low and a good learning rate) and compare their reward curves.'
  static description = 'Uses a fresh temporary store unless --store is given (created if it does not exist: demo and init are the commands that create a store), and the built-in toy recipe. Takes about 30 seconds; Ctrl-C stops both runs.'
  static examples = ['<%= config.bin %> demo', '<%= config.bin %> demo --steps 100 --step-time-ms 10 --json']
  static flags = {
    steps: integerFlag({description: 'Training steps per run.', default: 300, min: 10}),
    'step-time-ms': integerFlag({description: 'Extra time per step, to look like a real trainer.', default: 80, min: 0}),
    'low-lr': Flags.string({description: 'The deliberately low learning rate.', default: '0.00001'}),
    'good-lr': Flags.string({description: 'The good learning rate.', default: '0.05'}),
  }
  static syncFirst = false

  protected async openContext(flags: Interfaces.InferredFlags<typeof baseFlags>): Promise<Ctx> {
    const store = flags.store ?? join(mkdtempSync(join(tmpdir(), 'autolab-demo-')), 'autolab.db')
    // demo creates its own store (a fresh temporary one, or --store PATH if it does not exist yet).
    const ctx = await openContext({store, actor: flags.actor, create: true})
    const project = parseProject(exampleProjectYaml(), null)
    return {...ctx, project: () => project}
  }

  async execute(ctx: Ctx, {flags}: Parsed<typeof Demo>): Promise<DemoResult> {
    const controller = new AbortController()
    const stop = () => controller.abort()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    try {
      ctx.log(`demo store: ${ctx.store.path}`)
      return await runDemo(ctx, {
        steps: flags.steps,
        stepTimeMs: flags['step-time-ms'],
        lowLearningRate: Number(flags['low-lr']),
        goodLearningRate: Number(flags['good-lr']),
        signal: controller.signal,
        // On a terminal only, never with --json (ctx.progress is a no-op then).
        onProgress: (runs) => ctx.progress.update(runs.map(progressText).join('   ')),
      })
    } finally {
      ctx.progress.end({keep: true})
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
    }
  }

  render(r: DemoResult): string {
    const chart = lineChart(r.runs.map((run) => ({name: `${run.name} (lr ${run.learning_rate})`, points: run.reward_curve})), {title: 'reward by step', width: 64, height: 14})
    const rows = r.runs.map((run) => `  ${chalk.bold(run.run_id)} ${run.name.padEnd(8)} ${colourStatus(run.status).padEnd(10)} step ${run.step ?? 0}  final reward ${run.final_reward?.toFixed(3) ?? 'n/a'}`)
    return [chart, '', ...rows, '', r.summary, chalk.dim(`store: ${r.store} — explore it with: autolab runs --store ${r.store}`)].join('\n')
  }
}

function progressText(p: DemoRunProgress): string {
  const width = 20
  const done = Math.round(((p.step ?? 0) / p.max_steps) * width)
  return `${p.name} [${'#'.repeat(done)}${' '.repeat(Math.max(0, width - done))}] ${p.step ?? 0}/${p.max_steps} reward ${p.reward === null ? '-' : p.reward.toFixed(2)}`
}
