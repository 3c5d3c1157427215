import {AutolabCommand, type Parsed} from '../base-command.js'
import {listFlag} from '../command-args.js'
import type {Ctx} from '../lib/context.js'
import {resolveRun} from '../lib/runs/queries.js'
import {type SyncSummary, syncRuns} from '../lib/runs/sync.js'

export default class Sync extends AutolabCommand<SyncSummary> {
  static summary = 'Ingest new telemetry and exits of live runs on every host.'
  static description = 'Local runs are synced at the start of every command anyway; sync is for remote hosts, cron, and to force one now. Reads only the bytes not yet ingested: one SSH exec per host, whatever the number of runs. A host that cannot be reached is reported in `hosts` (and a warning); the others are still synced.'
  static examples = ['<%= config.bin %> sync', '<%= config.bin %> sync --run r3 --json']
  static flags = {run: listFlag({description: 'Only these runs (ids or names).'})}

  async execute(ctx: Ctx, {flags}: Parsed<typeof Sync>): Promise<SyncSummary> {
    const runIds = flags.run?.map((ref) => resolveRun(ctx.store, ref).run_id)
    return syncRuns(ctx, {runIds, tolerateHostFaults: true})
  }

  render(r: SyncSummary): string {
    const exits = r.exited.map((e) => `\n  ${e.run_id} → ${e.status}${e.exit_code === null ? '' : ` (exit ${e.exit_code})`}`).join('')
    const down = r.hosts.filter((h) => !h.synced).map((h) => `\n  host ${h.host}: not synced (${h.error?.code}): ${h.error?.message}`).join('')
    return `synced ${r.runs} live run(s), ${r.points} new point(s)${exits}${down}`
  }
}
