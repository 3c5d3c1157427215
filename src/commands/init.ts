import * as Flags from '@oclif/core/flags'
import {existsSync, writeFileSync} from 'node:fs'
import {resolve} from 'node:path'
import {AutolabCommand, type Parsed} from '../base-command.js'
import type {Ctx} from '../lib/context.js'
import {exampleProjectYaml} from '../lib/project.js'

export interface InitResult {
  store: string
  project_file: string
  project_written: boolean
  campaign: string
  hosts: string[]
}

export default class Init extends AutolabCommand<InitResult> {
  static summary = 'Create the store and an example autolab.yaml with the toy recipe.'
  static description = 'The store is also created on first use by any command; init makes it explicit and writes a project file to start from. An existing autolab.yaml is kept unless --force.'
  static examples = ['<%= config.bin %> init', '<%= config.bin %> init --store /data/campaign.db --json']
  static flags = {force: Flags.boolean({description: 'Overwrite an existing project file.'})}
  static syncFirst = false

  async execute(ctx: Ctx, {flags}: Parsed<typeof Init>): Promise<InitResult> {
    const projectFile = resolve(flags.project ?? process.env.AUTOLAB_PROJECT ?? 'autolab.yaml')
    const write = flags.force || !existsSync(projectFile)
    if (write) writeFileSync(projectFile, exampleProjectYaml())
    const hosts = ctx.store.all(ctx.store.db.selectFrom('hosts').select('host_id')).map((h) => h.host_id)
    const campaign = ctx.store.first(ctx.store.db.selectFrom('campaigns').select('name').orderBy('created_at').limit(1))?.name ?? 'default'
    return {store: ctx.store.path, project_file: projectFile, project_written: write, campaign, hosts}
  }

  render(r: InitResult): string {
    return [
      `store:   ${r.store}`,
      `project: ${r.project_file}${r.project_written ? ' (written)' : ' (kept; --force to overwrite)'}`,
      `next:    autolab launch --recipe toy --reason "baseline"`,
    ].join('\n')
  }
}
