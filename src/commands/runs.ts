import * as Flags from '@oclif/core/flags'
import {AutolabCommand, type Parsed} from '../base-command.js'
import {integerFlag, statusFlag} from '../command-args.js'
import type {Ctx} from '../lib/context.js'
import type {JsonText} from '../lib/output/envelope.js'
import {colourStatus, table} from '../lib/output/render.js'
import {countRuns, listRuns, listRunsJson, pageBefore} from '../lib/runs/list.js'
import {resolveRun, type RunView} from '../lib/runs/queries.js'

/** A page of `runs`: this many when no --limit or --all is given (gh lists 30). */
export const RUNS_PAGE = 100

export interface RunsResult {
  /** Oldest first. With --json, the same list as JSON text made by SQLite (listRunsJson): ten thousand runs print in milliseconds. */
  runs: RunView[] | JsonText
  /** Runs matching the filters, on every page. */
  total: number
  /** Older runs match too: `next` has the flags of the page before. */
  truncated: boolean
  next: {before: string; limit: number} | null
}

export default class Runs extends AutolabCommand<RunsResult> {
  static summary = 'List runs, oldest first: the newest 100 unless --limit or --all.'
  static description = `A page is the newest runs that match, oldest first; total counts them all, truncated says older ones match too, and next holds the flags of the page before (--before RUN --limit N). --all lists every run (ten thousand print in well under a second).`
  static examples = ['<%= config.bin %> runs', '<%= config.bin %> runs --status running --status paused --json', '<%= config.bin %> runs --limit 20', '<%= config.bin %> runs --before r901 --limit 100 --json', '<%= config.bin %> runs --all --json']
  static flags = {
    status: statusFlag,
    recipe: Flags.string({description: 'Only runs of this recipe.'}),
    campaign: Flags.string({description: 'Only runs of this campaign.'}),
    limit: integerFlag({description: `Only the newest N runs. [default: ${RUNS_PAGE}]`, min: 1, exclusive: ['all']}),
    before: Flags.string({description: 'Only runs created before this one (id or name): the page before, as `next` gives it.'}),
    all: Flags.boolean({description: 'Every run that matches, not a page.', exclusive: ['limit']}),
  }

  async execute(ctx: Ctx, {flags}: Parsed<typeof Runs>): Promise<RunsResult> {
    const limit = flags.all ? undefined : flags.limit ?? RUNS_PAGE
    const beforeSeq = flags.before === undefined ? undefined : resolveRun(ctx.store, flags.before).seq
    const filters = {statuses: flags.status, recipe: flags.recipe, campaign: flags.campaign}
    const options = {...filters, limit, beforeSeq}
    const runs = flags.json ? listRunsJson(ctx.store, options) : listRuns(ctx.store, options)
    const cursor = pageBefore(ctx.store, options)
    return {runs, total: countRuns(ctx.store, filters), truncated: cursor !== null, next: cursor && {before: cursor.before, limit: limit!}}
  }

  render(r: RunsResult): string {
    const more = r.next ? `\n${r.total} runs match; older ones: --before ${r.next.before} (or --all)` : ''
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
    ]) + more
  }
}
