// export: one JSON document with everything a campaign is — enough to replay it — written in
// pieces so that memory stays bounded however large the store (rows are iterated, not loaded).
import {type CampaignView, campaignView} from './campaigns.js'
import {canonicalJson} from './config-merge.js'
import type {Ctx} from './context.js'
import {eventView} from './events.js'
import {evalView, exampleView} from './evals/queries.js'
import {toJson} from './output/envelope.js'
import {runView} from './runs/queries.js'
import {buildTree} from './runs/tree.js'
import type {EvalExampleRow, EvalRow, EventRow, RunRow} from './store/schema.js'
import {recordMetrics} from './telemetry/values.js'

export type Write = (chunk: string) => void

/** Resolve the campaign first, so that a bad argument fails before anything is written. */
export function prepareExport(ctx: Ctx, campaign?: string): CampaignView {
  return campaignView(ctx.store, campaign, ctx.now())
}

export function writeExport(ctx: Ctx, campaign: CampaignView, write: Write): void {
  const {store} = ctx
  const id = campaign.campaign_id
  const runIds = `SELECT run_id FROM runs WHERE campaign_id = ?`
  write(`{"format":"autolab-export/1","exported_at":${JSON.stringify(ctx.now().toISOString())},"campaign":${toJson(campaign)}`)
  write(`,"tree":${toJson(buildTree(store, {campaign: id, metric: 'reward'}))}`)
  section(write, 'runs', store.prepare('SELECT runs.*, recipe_specs.body AS recipe_spec FROM runs JOIN recipe_specs USING (spec_id) WHERE campaign_id = ? ORDER BY seq').iterate(id) as Iterable<RunRow>, (run) => {
    const versions = store.all(store.db.selectFrom('run_configs').select(['version', 'config_id', 'effective_step', 'control_version', 'created_at']).where('run_id', '=', run.run_id).orderBy('version'))
    // The trainer's environment may hold secrets (pass_env: [WANDB_API_KEY]): its names only.
    const {env, ...recipeSpec} = JSON.parse(run.recipe_spec) as {env?: Record<string, string>}
    return toJson({...runView(run), recipe_spec: {...recipeSpec, env_names: env ? Object.keys(env).sort() : null}, config_versions: versions, gpu_seconds: run.gpu_seconds})
  })
  section(write, 'configs', store.prepare(`SELECT DISTINCT c.config_id, c.body FROM configs c JOIN run_configs rc ON rc.config_id = c.config_id WHERE rc.run_id IN (${runIds}) ORDER BY c.config_id`).iterate(id) as Iterable<{config_id: string; body: string}>,
    (c) => `{"config_id":${JSON.stringify(c.config_id)},"config":${c.body}}`)
  section(write, 'events', store.prepare(`SELECT * FROM events WHERE campaign_id = ? OR run_id IN (${runIds}) ORDER BY event_id`).iterate(id, id) as Iterable<EventRow>, (e) => toJson(eventView(e)))
  section(write, 'checkpoints', store.prepare(`SELECT run_id, step, path, bytes, created_at FROM checkpoints WHERE run_id IN (${runIds}) ORDER BY run_id, step`).iterate(id) as Iterable<object>, (c) => toJson(c))
  section(write, 'observations', store.prepare(`SELECT run_id, step, time, metrics FROM observations WHERE run_id IN (${runIds}) ORDER BY run_id, step`).iterate(id) as Iterable<{run_id: string; step: number; time: number; metrics: string}>,
    (o) => `{"run_id":${JSON.stringify(o.run_id)},"step":${o.step},"time":${o.time},"metrics":${o.metrics}}`)
  section(write, 'metrics', store.prepare(`SELECT run_id, step, time, record FROM metric_steps WHERE run_id IN (${runIds}) ORDER BY run_id, step`).iterate(id) as Iterable<{run_id: string; step: number; time: number; record: string}>,
    (m) => `{"run_id":${JSON.stringify(m.run_id)},"step":${m.step},"time":${m.time},"metrics":${canonicalJson(recordMetrics(m.record))}}`)
  section(write, 'samples', store.prepare(`SELECT run_id, step, prompt, completion, reward, fields FROM samples WHERE run_id IN (${runIds}) ORDER BY run_id, id`).iterate(id) as Iterable<{fields: string | null}>,
    (s) => toJson({...s, fields: s.fields === null ? {} : JSON.parse(s.fields)}))
  section(write, 'evals', store.prepare(`SELECT * FROM evals WHERE run_id IN (${runIds}) ORDER BY seq`).iterate(id) as Iterable<EvalRow>, (row) => toJson(evalView(row)))
  section(write, 'eval_examples', store.prepare(`SELECT x.* FROM eval_examples x JOIN evals e ON e.eval_id = x.eval_id WHERE e.run_id IN (${runIds}) ORDER BY e.seq, x.idx`).iterate(id) as Iterable<EvalExampleRow>,
    (x) => toJson({eval_id: x.eval_id, ...exampleView(x)}))
  write('}')
}

function section<T>(write: Write, name: string, rows: Iterable<T>, render: (row: T) => string): void {
  write(`,${JSON.stringify(name)}:[`)
  let first = true
  let buffer = ''
  for (const row of rows) {
    buffer += (first ? '' : ',') + render(row)
    first = false
    // Write in ~64 KiB pieces: few syscalls, bounded memory.
    if (buffer.length > 65_536) {
      write(buffer)
      buffer = ''
    }
  }
  write(`${buffer}]`)
}
