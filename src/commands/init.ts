import * as Flags from '@oclif/core/flags'
import type * as Interfaces from '@oclif/core/interfaces'
import {statSync} from 'node:fs'
import {dirname, resolve} from 'node:path'
import {AutolabCommand, type baseFlags, type Parsed} from '../base-command.js'
import {type Ctx, openContext} from '../lib/context.js'
import {locateStore, newStorePath} from '../lib/store/locate.js'
import {EXAMPLE_RECIPE, EXAMPLES, type ExampleName, exampleProject} from '../lib/torch-example.js'
import {checkOutputPath, writeFileAtomically} from '../lib/safe-path.js'

export interface InitResult {
  store: string
  /** null with --no-project. */
  project_file: string | null
  project_written: boolean
  campaign: string
  hosts: string[]
  /** The example the project file holds (`--example`), and the recipe to launch first. */
  example: ExampleName
  recipe: string
}

export default class Init extends AutolabCommand<InitResult> {
  static summary = 'Create the store and an example autolab.yaml (the toy recipe; --example torch adds a PyTorch one).'
  static description = 'The only command that creates a store: at --store PATH, else $AUTOLAB_STORE, else ./.autolab/autolab.db. Every other command looks for .autolab/autolab.db in the current directory and then in each parent, and without one answers STORE_NOT_FOUND. An existing store is opened as it is (init is safe to repeat). An existing autolab.yaml is kept unless --force; --no-project writes none. The project file (--project) must be a regular file or a new name in an existing directory; directories, symbolic links, FIFOs, devices, the store\'s own files and - (stdout) are refused.'
  static examples = ['<%= config.bin %> init', '<%= config.bin %> init --store /data/campaign.db --json', '<%= config.bin %> init --no-project --json', '<%= config.bin %> init --example torch']
  static flags = {
    force: Flags.boolean({description: 'Overwrite an existing project file.', exclusive: ['no-project']}),
    'no-project': Flags.boolean({description: 'Create the store only; write no project file.', exclusive: ['force', 'project', 'example']}),
    example: Flags.string({description: 'Which example project to write: toy (the built-in toy RL recipe), or torch (also the torch-mlp recipe: a PyTorch MLP trained through the Python SDK, run with /usr/bin/python3).', options: [...EXAMPLES]}),
  }
  static syncFirst = false

  /** Decided before the store is opened, so that a refused project path creates nothing. */
  private project?: {file: string | null; write: boolean}

  protected async openContext(flags: Interfaces.InferredFlags<typeof baseFlags>): Promise<Ctx> {
    const {force, 'no-project': noProject} = flags as {force?: boolean; 'no-project'?: boolean}
    const requested = flags.project ?? process.env.AUTOLAB_PROJECT ?? 'autolab.yaml'
    const storePath = newStorePath(flags.store)
    if (noProject) {
      this.project = {file: null, write: false}
    } else if (!force && requested !== '-' && isRegularFile(requested)) {
      this.project = {file: resolve(requested), write: false}
    } else {
      const target = checkOutputPath(requested, {flag: flags.project === undefined && process.env.AUTOLAB_PROJECT ? 'AUTOLAB_PROJECT' : '--project', storePath, allowStdout: false})
      if (target.kind === 'file') this.project = {file: target.path, write: true}
    }
    // A store found from here (in a parent directory) that the new one will shadow.
    const found = flags.store === undefined && !process.env.AUTOLAB_STORE ? locateStore() : undefined
    const ctx = await openContext({store: flags.store, project: flags.project, actor: flags.actor, create: true})
    if (found?.exists && found.path !== storePath) ctx.warnings.push(`another store exists at ${found.path}: commands run in ${dirname(dirname(storePath))} and below now use ${storePath}`)
    return ctx
  }

  async execute(ctx: Ctx, parsed: Parsed<typeof Init>): Promise<InitResult> {
    const {file, write} = this.project!
    const example = (parsed.flags.example ?? 'toy') as ExampleName
    if (write && file) await writeFileAtomically(file, (out) => out(exampleProject(example)))
    if (file && !write && example !== 'toy') ctx.warnings.push(`--example ${example}: ${file} exists and was kept, so it may not have the ${EXAMPLE_RECIPE[example]} recipe; --force to overwrite it`)
    const hosts = ctx.store.all(ctx.store.db.selectFrom('hosts').select('host_id')).map((h) => h.host_id)
    const campaign = ctx.store.first(ctx.store.db.selectFrom('campaigns').select('name').orderBy('created_at').limit(1))?.name ?? 'default'
    return {store: ctx.store.path, project_file: file, project_written: write, campaign, hosts, example, recipe: EXAMPLE_RECIPE[example]}
  }

  render(r: InitResult): string {
    return [
      `store:   ${r.store}`,
      `project: ${r.project_file === null ? '(none: --no-project)' : `${r.project_file}${r.project_written ? ' (written)' : ' (kept; --force to overwrite)'}`}`,
      `next:    autolab launch --recipe ${r.recipe} --reason "baseline"`,
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
