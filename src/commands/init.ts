import * as Flags from '@oclif/core/flags'
import type * as Interfaces from '@oclif/core/interfaces'
import {statSync} from 'node:fs'
import {resolve} from 'node:path'
import {AutolabCommand, type baseFlags, type Parsed} from '../base-command.js'
import {type Ctx, defaultStorePath} from '../lib/context.js'
import {exampleProjectYaml} from '../lib/project.js'
import {checkOutputPath, writeFileAtomically} from '../lib/safe-path.js'

export interface InitResult {
  store: string
  project_file: string
  project_written: boolean
  campaign: string
  hosts: string[]
}

export default class Init extends AutolabCommand<InitResult> {
  static summary = 'Create the store and an example autolab.yaml with the toy recipe.'
  static description = 'The store is also created on first use by any command; init makes it explicit and writes a project file to start from. An existing autolab.yaml is kept unless --force. The project file (--project) must be a regular file or a new name in an existing directory; directories, symbolic links, FIFOs, devices, the store\'s own files and - (stdout) are refused.'
  static examples = ['<%= config.bin %> init', '<%= config.bin %> init --store /data/campaign.db --json']
  static flags = {force: Flags.boolean({description: 'Overwrite an existing project file.'})}
  static syncFirst = false

  /** Decided before the store is opened, so that a refused project path creates nothing. */
  private project?: {file: string; write: boolean}

  protected async openContext(flags: Interfaces.InferredFlags<typeof baseFlags>): Promise<Ctx> {
    const force = (flags as {force?: boolean}).force === true
    const requested = flags.project ?? process.env.AUTOLAB_PROJECT ?? 'autolab.yaml'
    if (!force && requested !== '-' && isRegularFile(requested)) {
      this.project = {file: resolve(requested), write: false}
    } else {
      const target = checkOutputPath(requested, {flag: flags.project === undefined && process.env.AUTOLAB_PROJECT ? 'AUTOLAB_PROJECT' : '--project', storePath: defaultStorePath(flags.store), allowStdout: false})
      if (target.kind === 'file') this.project = {file: target.path, write: true}
    }
    return super.openContext(flags)
  }

  async execute(ctx: Ctx, _parsed: Parsed<typeof Init>): Promise<InitResult> {
    const {file, write} = this.project!
    if (write) await writeFileAtomically(file, (out) => out(exampleProjectYaml()))
    const hosts = ctx.store.all(ctx.store.db.selectFrom('hosts').select('host_id')).map((h) => h.host_id)
    const campaign = ctx.store.first(ctx.store.db.selectFrom('campaigns').select('name').orderBy('created_at').limit(1))?.name ?? 'default'
    return {store: ctx.store.path, project_file: file, project_written: write, campaign, hosts}
  }

  render(r: InitResult): string {
    return [
      `store:   ${r.store}`,
      `project: ${r.project_file}${r.project_written ? ' (written)' : ' (kept; --force to overwrite)'}`,
      `next:    autolab launch --recipe toy --reason "baseline"`,
    ].join('\n')
  }
}

/** An existing regular file (through a symlink too): kept as it is when not forced. */
function isRegularFile(path: string): boolean {
  try {
    return statSync(path).isFile()
  } catch {
    return false
  }
}
