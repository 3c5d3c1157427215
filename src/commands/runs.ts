import * as Flags from '@oclif/core/flags'
import {AutolabCommand, type Parsed} from '../base-command.js'
import {integerFlag, statusFlag} from '../command-args.js'
import type {Ctx} from '../lib/context.js'
import type {JsonText} from '../lib/output/envelope.js'
import {colourStatus, table} from '../lib/output/render.js'
import {listRuns, listRunsJson} from '../lib/runs/list.js'
import type {RunView} from '../lib/runs/queries.js'

export interface RunsResult {
  /** With --json, the same list as JSON text made by SQLite (listRunsJson): ten thousand runs print in milliseconds. */
  runs: RunView[] | JsonText
}

export default class Runs extends AutolabCommand<RunsResult> {
  static summary = 'List runs, oldest first.'
  static examples = ['<%= config.bin %> runs', '<%= config.bin %> runs --status running --status paused --json', '<%= config.bin %> runs --limit 20']
  static flags = {
    status: statusFlag,
    recipe: Flags.string({description: 'Only runs of this recipe.'}),
    campaign: Flags.string({description: 'Only runs of this campaign.'}),
    limit: integerFlag({description: 'Only the newest N runs.', min: 1}),
  }

  async execute(ctx: Ctx, {flags}: Parsed<typeof Runs>): Promise<RunsResult> {
    const options = {statuses: flags.status, recipe: flags.recipe, campaign: flags.campaign, limit: flags.limit}
    return {runs: flags.json ? listRunsJson(ctx.store, options) : listRuns(ctx.store, options)}
  }

  render(r: RunsResult): string {
    return table(r.runs as RunView[], [
      {header: 'RUN', value: (x) => x.run_id},
      {header: 'NAME', value: (x) => x.name},
      {header: 'STATUS', value: (x) => colourStatus(x.status)},
      {header: 'STEP', value: (x) => x.step, align: 'right'},
      {header: 'PARENT', value: (x) => (x.parent_run_id ? `${x.parent_run_id}@${x.fork_step}` : null)},
      {header: 'RECIPE', value: (x) => x.recipe},
      {header: 'HOST', value: (x) => x.host},
      {header: 'EXIT', value: (x) => x.exit_code, align: 'right'},
      {header: 'CREATED', value: (x) => x.created_at.replace('T', ' ').slice(0, 19)},
    ])
  }
}
