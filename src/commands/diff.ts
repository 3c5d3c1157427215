import chalk from 'chalk'
import {AutolabCommand, type Parsed} from '../base-command.js'
import {runArg} from '../command-args.js'
import type {Ctx} from '../lib/context.js'
import {type ConfigDiff, diffRuns} from '../lib/configs.js'
import {table} from '../lib/output/render.js'

export default class Diff extends AutolabCommand<ConfigDiff> {
  static summary = 'Config differences between two runs, key by key (dotted keys).'
  static examples = ['<%= config.bin %> diff r3 r7', '<%= config.bin %> diff r3 r7 --json']
  static args = {a: runArg({required: true}), b: runArg({required: true})}

  async execute(ctx: Ctx, {args}: Parsed<typeof Diff>): Promise<ConfigDiff> {
    return diffRuns(ctx.store, args.a, args.b)
  }

  render(r: ConfigDiff): string {
    if (r.same) return `${r.a.run_id} and ${r.b.run_id} have the same config (${r.a.config_id.slice(0, 12)})`
    return table(r.differences, [
      {header: 'KEY', value: (d) => d.key},
      {header: r.a.run_id.toUpperCase(), value: (d) => (d.missing === 'a' ? chalk.dim('(absent)') : JSON.stringify(d.a))},
      {header: r.b.run_id.toUpperCase(), value: (d) => (d.missing === 'b' ? chalk.dim('(absent)') : JSON.stringify(d.b))},
    ])
  }
}
