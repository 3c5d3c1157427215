import * as Args from '@oclif/core/args'
import {AutolabCommand, type Parsed} from '../base-command.js'
import type {Ctx} from '../lib/context.js'
import {type ConfigView, getConfig} from '../lib/configs.js'

export default class Config extends AutolabCommand<ConfigView> {
  static summary = 'Show a config version by its id (or a unique prefix of 6+ characters) and the runs that use it.'
  static examples = ['<%= config.bin %> config 3f9a2c', '<%= config.bin %> config 3f9a2c71e0d4 --json']
  static args = {config_id: Args.string({description: 'Config id (sha256) or a unique prefix.', required: true})}

  async execute(ctx: Ctx, {args}: Parsed<typeof Config>): Promise<ConfigView> {
    return getConfig(ctx.store, args.config_id)
  }

  render(r: ConfigView): string {
    const used = r.runs.map((u) => `${u.run_id} v${u.version}${u.effective_step === null ? ' (pending)' : ` from step ${u.effective_step}`}`).join(', ')
    return `config ${r.config_id}\n${JSON.stringify(r.config, null, 2)}\nused by: ${used || '-'}`
  }
}
