// Writing control.json: the store holds the authoritative copy (so versions only increase, even
// with concurrent writers); the file on the host is replaced atomically after the store commits.
import type {Ctx} from '../context.js'
import type {RunRow} from '../store/schema.js'
import {type ControlFile, parseControl} from './run-files.js'
import {runRows} from './queries.js'

export async function updateControl(ctx: Ctx, runId: string, change: (control: ControlFile) => Partial<ControlFile>): Promise<ControlFile> {
  const {store} = ctx
  const {control, run} = store.write(() => {
    const row = store.first(runRows(store).where('run_id', '=', runId)) as RunRow
    const previous = parseControl(row.control)
    const next: ControlFile = {...previous, ...change(previous), version: previous.version + 1}
    store.run(store.db.updateTable('runs').set({control: JSON.stringify(next)}).where('run_id', '=', runId))
    return {control: next, run: row}
  })
  await ctx.executor(run.host_id).writeFileAtomic(run.run_dir, 'control.json', `${JSON.stringify(control)}\n`)
  return control
}
