// kysely table types. Column names are the JSON keys agents see (snake_case), so the store,
// the output contract and the trainer contract speak the same words.
import type {Generated, Insertable, Selectable} from 'kysely'

export interface CampaignsTable {
  campaign_id: string
  name: string
  goal: string | null
  criterion: string | null
  budget_gpu_seconds: number | null
  deadline: string | null
  /** active | finalized */
  status: string
  winner_run_id: string | null
  summary: string | null
  created_at: string
}

export interface HostsTable {
  host_id: string
  /** local | ssh | slurm */
  kind: string
  address: string | null
  user: string | null
  port: number | null
  /** Work root on the host; run directories live in <root>/runs/<run id>. */
  root: string
  /** JSON array of GPU ids declared on the host. */
  gpus: string
  created_at: string
  /** SSH hosts: the host key fingerprint pinned by `host check --accept-new` (SHA256:…), or null. */
  host_key: Generated<string | null>
  /** When this host's live runs were last synced (ISO time), or null. */
  synced_at: Generated<string | null>
}

export interface RunsTable {
  seq: Generated<number>
  run_id: string
  name: string | null
  campaign_id: string
  parent_run_id: string | null
  fork_step: number | null
  host_id: string
  recipe: string
  /** The recipe as launched (recipe_specs.body): resume and modify use it, whatever the project file says now. */
  spec_id: number
  /** JSON array of the GPU ids given to the run. */
  gpus: string
  config_id: string
  /** See src/lib/runs/state-machine.ts for the states and their transitions. */
  status: string
  pid: number | null
  exit_code: number | null
  /** Why a run failed or was lost; for failed runs, the tail of stderr. */
  error: string | null
  /** Latest step seen in metrics.jsonl. */
  step: number | null
  run_dir: string
  observation_cadence: number
  sample_cadence: number
  /** JSON of the run's control.json as last written (the store is the source of its version). */
  control: string
  /** Observations summarise the last trend_window points of each metric. */
  trend_window: number
  /** A live run with no new step for this long is stalled (an anomaly). */
  stall_seconds: number
  created_at: string
  started_at: string | null
  ended_at: string | null
  synced_at: string | null
  /** GPU-seconds of earlier running stretches; the current one counts from started_at. */
  gpu_seconds: Generated<number>
  /** 'pinned' (--host given, or the only host): the run stays on its host; 'auto': a queued run may start on any host with room. */
  placement: Generated<string>
}

/**
 * Recipes as launched, one row per distinct spec: JSON of {command, gpus, hot_params, schema,
 * env, metrics, evals, guards, …}. Kept apart from runs so that runs rows stay small.
 */
export interface RecipeSpecsTable {
  spec_id: Generated<number>
  body: string
}

/** A run's latest value of each metric (kept by ingest): the step that last logged it, and the value as JSON. */
export interface LatestMetricsTable {
  run_id: string
  key: string
  step: number
  /** JSON: a number, or "NaN", "Infinity", "-Infinity". */
  value: string
}

export interface ConfigsTable {
  /** sha256 of the canonical JSON body. */
  config_id: string
  body: string
  created_at: string
}

export interface RunConfigsTable {
  run_id: string
  version: number
  config_id: string
  /** The step the version took effect at (acknowledged by the trainer); null until then. */
  effective_step: number | null
  /** The control.json version that carried this change to the trainer (hot-modify). */
  control_version: number | null
  created_at: string
}

export interface MetricStepsTable {
  run_id: string
  step: number
  /** The trainer's timestamp of the step (unix seconds). */
  time: number
  /** The trainer's line as written: {"step","time","metrics":{name: value}}; non-finite values as "NaN", "Infinity", "-Infinity". */
  record: string
}

export interface ObservationsTable {
  run_id: string
  step: number
  time: number
  /** JSON: {metric: {value, mean, std, slope, window}} */
  metrics: string
}

export interface SamplesTable {
  id: Generated<number>
  run_id: string
  step: number
  prompt: string
  completion: string
  reward: number | null
  /** The sample's other fields as a JSON object, or null. */
  fields: string | null
}

export interface CheckpointsTable {
  run_id: string
  step: number
  path: string
  bytes: number
  created_at: string
}

export interface EventsTable {
  /** The cursor: strictly increasing, never reused. */
  event_id: Generated<number>
  time: string
  campaign_id: string | null
  run_id: string | null
  kind: string
  actor: string
  reason: string | null
  /** JSON */
  args: string | null
  /** JSON */
  result: string | null
}

export interface OperationsTable {
  op_id: string
  kind: string
  idempotency_key: string | null
  /** sha256 of the canonical arguments, to tell a retry from a conflicting reuse of a key. */
  args_hash: string
  /** started | committed | rolled_back */
  state: string
  /** JSON array of completed step names, in order. */
  steps_done: string
  run_id: string | null
  /** JSON result returned to the first caller, replayed for retries. */
  result: string | null
  /** JSON: what rollback needs to undo the operation (e.g. the previous control.json). */
  undo: string | null
  error: string | null
  pid: number
  created_at: string
  updated_at: string
}

export interface IngestOffsetsTable {
  run_id: string
  file: string
  offset: number
}

export interface SettingsTable {
  key: string
  value: string
  updated_at: string
}

/** Facts about the store itself: `store_id` (random, set when the store is created). */
export interface StoreMetaTable {
  key: string
  value: string
}

export interface EvalsTable {
  seq: number
  eval_id: string
  run_id: string
  campaign_id: string
  suite: string
  checkpoint_step: number
  checkpoint_path: string
  host_id: string
  /** JSON array of the GPU ids the eval holds while live. */
  gpus: string
  /** queued | starting | running | completed | failed | killed (see evals/state.ts) */
  status: string
  pid: number | null
  exit_code: number | null
  error: string | null
  n: number
  /** JSON object: the --set values, given to the command as {settings}. */
  settings: string
  /** The eval's directory on the run's host: <run dir>/evals/<eval id>. */
  dir: string
  score: number | null
  /** JSON object of numbers, or null. */
  metrics: string | null
  /** JSON object, or null. */
  breakdown: string | null
  reason: string | null
  created_at: string
  started_at: string | null
  ended_at: string | null
  synced_at: string | null
}

export interface EvalExamplesTable {
  eval_id: string
  idx: number
  prompt: string | null
  output: string | null
  expected: string | null
  /** 1, 0, or null (the line said nothing). */
  correct: number | null
  /** The line's other fields as a JSON object, or null. */
  fields: string | null
}

export interface Database {
  evals: EvalsTable
  eval_examples: EvalExamplesTable
  campaigns: CampaignsTable
  hosts: HostsTable
  runs: RunsTable
  recipe_specs: RecipeSpecsTable
  configs: ConfigsTable
  run_configs: RunConfigsTable
  metric_steps: MetricStepsTable
  latest_metrics: LatestMetricsTable
  observations: ObservationsTable
  samples: SamplesTable
  checkpoints: CheckpointsTable
  events: EventsTable
  operations: OperationsTable
  ingest_offsets: IngestOffsetsTable
  settings: SettingsTable
  store_meta: StoreMetaTable
}

export type CampaignRow = Selectable<CampaignsTable>
export type HostRow = Selectable<HostsTable>
/** A run with its recipe spec's JSON (runRows joins it in). */
export type RunRow = Selectable<RunsTable> & {recipe_spec: string}
export type NewRun = Insertable<RunsTable>
export type EventRow = Selectable<EventsTable>
export type OperationRow = Selectable<OperationsTable>
export type CheckpointRow = Selectable<CheckpointsTable>
export type EvalRow = Selectable<EvalsTable>
export type EvalExampleRow = Selectable<EvalExamplesTable>
