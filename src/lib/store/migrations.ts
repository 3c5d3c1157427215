// Numbered migrations, frozen in time: they use Kysely<any> and never import app types, so a
// later change of the schema types cannot rewrite history. SQLite runs them without a
// transaction; openStore wraps the whole batch in BEGIN IMMEDIATE so that two processes
// opening a fresh store at once do not both migrate.
import {type Kysely, type Migration, sql} from 'kysely'

export const MIGRATIONS: Record<string, Migration> = {
  '0001_core': {
    async up(db: Kysely<any>) {
      await db.schema.createTable('campaigns')
        .addColumn('campaign_id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('goal', 'text')
        .addColumn('criterion', 'text')
        .addColumn('budget_gpu_seconds', 'real')
        .addColumn('deadline', 'text')
        .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
        .addColumn('winner_run_id', 'text')
        .addColumn('summary', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute()
      await db.schema.createTable('hosts')
        .addColumn('host_id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('address', 'text')
        .addColumn('user', 'text')
        .addColumn('port', 'integer')
        .addColumn('root', 'text', (c) => c.notNull())
        .addColumn('gpus', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute()
      await db.schema.createTable('configs')
        .addColumn('config_id', 'text', (c) => c.primaryKey())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute()
      await db.schema.createTable('runs')
        .addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('run_id', 'text', (c) => c.notNull().unique())
        .addColumn('name', 'text')
        .addColumn('campaign_id', 'text', (c) => c.notNull().references('campaigns.campaign_id'))
        .addColumn('parent_run_id', 'text', (c) => c.references('runs.run_id'))
        .addColumn('fork_step', 'integer')
        .addColumn('host_id', 'text', (c) => c.notNull().references('hosts.host_id'))
        .addColumn('recipe', 'text', (c) => c.notNull())
        .addColumn('recipe_spec', 'text', (c) => c.notNull())
        .addColumn('gpus', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('config_id', 'text', (c) => c.notNull().references('configs.config_id'))
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('pid', 'integer')
        .addColumn('exit_code', 'integer')
        .addColumn('error', 'text')
        .addColumn('step', 'integer')
        .addColumn('run_dir', 'text', (c) => c.notNull())
        .addColumn('observation_cadence', 'integer', (c) => c.notNull())
        .addColumn('sample_cadence', 'integer', (c) => c.notNull())
        .addColumn('control', 'text', (c) => c.notNull())
        .addColumn('trend_window', 'integer', (c) => c.notNull())
        .addColumn('stall_seconds', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text')
        .addColumn('ended_at', 'text')
        .addColumn('synced_at', 'text')
        .execute()
      await db.schema.createIndex('runs_status').on('runs').columns(['status']).execute()
      await db.schema.createIndex('runs_name').on('runs').columns(['name']).execute()
      await db.schema.createIndex('runs_parent').on('runs').columns(['parent_run_id']).execute()
      await db.schema.createTable('run_configs')
        .addColumn('run_id', 'text', (c) => c.notNull().references('runs.run_id'))
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('config_id', 'text', (c) => c.notNull().references('configs.config_id'))
        .addColumn('effective_step', 'integer')
        .addColumn('control_version', 'integer')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('run_configs_pk', ['run_id', 'version'])
        .execute()
    },
  },
  '0002_telemetry': {
    async up(db: Kysely<any>) {
      // One row per (run, step): the trainer's metrics line as written ({step, time, metrics}),
      // ten times fewer rows than one per value and no re-serialising, which is what makes
      // ingest fast. A step logged again (after a resume) or in two lines is merged with
      // json_patch: the later value of a key wins, other keys are kept.
      await sql`CREATE TABLE metric_steps (
        run_id TEXT NOT NULL, step INTEGER NOT NULL, time REAL NOT NULL, record TEXT NOT NULL,
        PRIMARY KEY (run_id, step)) WITHOUT ROWID`.execute(db)
      await sql`CREATE TABLE observations (
        run_id TEXT NOT NULL, step INTEGER NOT NULL, time REAL NOT NULL, metrics TEXT NOT NULL,
        PRIMARY KEY (run_id, step)) WITHOUT ROWID`.execute(db)
      await db.schema.createTable('samples')
        .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('step', 'integer', (c) => c.notNull())
        .addColumn('prompt', 'text', (c) => c.notNull())
        .addColumn('completion', 'text', (c) => c.notNull())
        .addColumn('reward', 'real')
        .execute()
      await db.schema.createIndex('samples_run_step').on('samples').columns(['run_id', 'step']).execute()
      await db.schema.createTable('checkpoints')
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('step', 'integer', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('bytes', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('checkpoints_pk', ['run_id', 'step'])
        .execute()
      await db.schema.createTable('ingest_offsets')
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('file', 'text', (c) => c.notNull())
        .addColumn('offset', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('ingest_offsets_pk', ['run_id', 'file'])
        .execute()
    },
  },
  '0003_events_operations': {
    async up(db: Kysely<any>) {
      await db.schema.createTable('events')
        .addColumn('event_id', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('time', 'text', (c) => c.notNull())
        .addColumn('campaign_id', 'text')
        .addColumn('run_id', 'text')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('args', 'text')
        .addColumn('result', 'text')
        .execute()
      await db.schema.createIndex('events_run').on('events').columns(['run_id', 'event_id']).execute()
      await db.schema.createTable('operations')
        .addColumn('op_id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('idempotency_key', 'text', (c) => c.unique())
        .addColumn('args_hash', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('steps_done', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('run_id', 'text')
        .addColumn('result', 'text')
        .addColumn('undo', 'text')
        .addColumn('error', 'text')
        .addColumn('pid', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute()
      await db.schema.createIndex('operations_state').on('operations').columns(['state']).execute()
    },
  },
  '0004_campaign_accounting': {
    async up(db: Kysely<any>) {
      // GPU-seconds a run has spent in earlier stretches of running (a resumed run has several);
      // the current stretch is counted from started_at.
      await db.schema.alterTable('runs').addColumn('gpu_seconds', 'real', (c) => c.notNull().defaultTo(0)).execute()
      // Small named values shared by all processes: the current campaign, the tick lease.
      await db.schema.createTable('settings')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute()
    },
  },
  '0005_store_meta': {
    async up(db: Kysely<any>) {
      // The store's identity: a random id given once, when the store is created (or, for a store
      // older than this migration, when it is migrated). Run directories record it, so a run dir
      // can be told apart from one of another (or a lost) store; trainers carry it as AUTOLAB_STORE_ID.
      await db.schema.createTable('store_meta')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute()
      await db.insertInto('store_meta').values({key: 'store_id', value: globalThis.crypto.randomUUID()}).execute()
    },
  },
  '0006_sample_fields': {
    async up(db: Kysely<any>) {
      // Samples of any shape: the fields besides step/prompt/completion/reward (input,
      // prediction, label, …), as a JSON object, or NULL when there are none.
      await db.schema.alterTable('samples').addColumn('fields', 'text').execute()
    },
  },
  '0007_remote_hosts': {
    async up(db: Kysely<any>) {
      // SSH hosts: the host key fingerprint pinned by `host check --accept-new` (SHA256:…), and
      // when the host's runs were last synced (the status bar's staleness per host).
      await db.schema.alterTable('hosts').addColumn('host_key', 'text').execute()
      await db.schema.alterTable('hosts').addColumn('synced_at', 'text').execute()
      // How a run was placed: 'pinned' (--host, or a single host) keeps its host; 'auto' may be
      // re-placed on any host with room when it is started from the queue.
      await db.schema.alterTable('runs').addColumn('placement', 'text', (c) => c.notNull().defaultTo('pinned')).execute()
    },
  },
  '0008_evals': {
    async up(db: Kysely<any>) {
      // Eval jobs: one process scoring one checkpoint of a run with one suite of its recipe, in
      // <run dir>/evals/<eval id>/ on the run's host. status: starting | running | completed |
      // failed | killed. settings, gpus, metrics and breakdown are JSON.
      await db.schema.createTable('evals')
        .addColumn('seq', 'integer', (c) => c.notNull().unique())
        .addColumn('eval_id', 'text', (c) => c.primaryKey())
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('campaign_id', 'text', (c) => c.notNull())
        .addColumn('suite', 'text', (c) => c.notNull())
        .addColumn('checkpoint_step', 'integer', (c) => c.notNull())
        .addColumn('checkpoint_path', 'text', (c) => c.notNull())
        .addColumn('host_id', 'text', (c) => c.notNull())
        .addColumn('gpus', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('pid', 'integer')
        .addColumn('exit_code', 'integer')
        .addColumn('error', 'text')
        .addColumn('n', 'integer', (c) => c.notNull())
        .addColumn('settings', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('dir', 'text', (c) => c.notNull())
        .addColumn('score', 'real')
        .addColumn('metrics', 'text')
        .addColumn('breakdown', 'text')
        .addColumn('reason', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text')
        .addColumn('ended_at', 'text')
        .addColumn('synced_at', 'text')
        .execute()
      await db.schema.createIndex('evals_run').on('evals').columns(['run_id', 'seq']).execute()
      await db.schema.createIndex('evals_status').on('evals').columns(['status']).execute()
      await db.schema.createIndex('evals_campaign').on('evals').columns(['campaign_id', 'seq']).execute()
      // The examples an eval wrote (examples.jsonl), in file order; fields: the other keys, JSON.
      await db.schema.createTable('eval_examples')
        .addColumn('eval_id', 'text', (c) => c.notNull())
        .addColumn('idx', 'integer', (c) => c.notNull())
        .addColumn('prompt', 'text')
        .addColumn('output', 'text')
        .addColumn('expected', 'text')
        .addColumn('correct', 'integer')
        .addColumn('fields', 'text')
        .addPrimaryKeyConstraint('eval_examples_pk', ['eval_id', 'idx'])
        .execute()
      await db.schema.createIndex('eval_examples_correct').on('eval_examples').columns(['eval_id', 'correct', 'idx']).execute()
    },
  },
  '0009_recipe_specs': {
    async up(db: Kysely<any>) {
      // A run's recipe spec (~3 KB of JSON: command, schema, env, metrics, evals) moves out of its
      // row into a table of distinct specs: most runs share one, and a runs row of ~3 KB held one
      // row per page, so every scan of runs (list, tree, budget) read the specs too. DROP COLUMN
      // rewrites the table without it.
      await sql`CREATE TABLE recipe_specs (spec_id INTEGER PRIMARY KEY, body TEXT NOT NULL UNIQUE)`.execute(db)
      await sql`INSERT OR IGNORE INTO recipe_specs (body) SELECT recipe_spec FROM runs ORDER BY seq`.execute(db)
      await sql`ALTER TABLE runs ADD COLUMN spec_id INTEGER REFERENCES recipe_specs (spec_id)`.execute(db)
      await sql`UPDATE runs SET spec_id = (SELECT spec_id FROM recipe_specs WHERE body = runs.recipe_spec)`.execute(db)
      await sql`ALTER TABLE runs DROP COLUMN recipe_spec`.execute(db)
      // The budget (spent GPU-seconds, burn rate) of a campaign, read by every command's status
      // bar, from the index alone.
      await sql`CREATE INDEX runs_campaign_budget ON runs (campaign_id, status, started_at, gpu_seconds, gpus)`.execute(db)
    },
  },
  '0010_read_indexes': {
    async up(db: Kysely<any>) {
      // A campaign's events, newest first (log --campaign, watch, the report): without it, a
      // campaign other than the newest scans back through every later campaign's events.
      await sql`CREATE INDEX events_campaign ON events (campaign_id, event_id)`.execute(db)
      // The distinct recipe specs of a campaign's runs (tree's primary metric), from the index alone.
      await sql`CREATE INDEX runs_campaign_spec ON runs (campaign_id, spec_id)`.execute(db)
    },
  },
  '0011_latest_metrics': {
    async up(db: Kysely<any>) {
      // Each run's latest value of each metric: the step that last logged it and the value as
      // JSON (a number, or "NaN"/"Infinity"/"-Infinity"). Kept by ingest, one upsert per metric
      // per batch, so a tree of ten thousand runs reads one row per run instead of searching
      // each run's steps. Filled here from the steps already stored (the row of the highest step
      // of each key, SQLite's bare column beside max()).
      await sql`CREATE TABLE latest_metrics (run_id TEXT NOT NULL, key TEXT NOT NULL, step INTEGER NOT NULL, value TEXT NOT NULL,
        PRIMARY KEY (run_id, key)) WITHOUT ROWID`.execute(db)
      await sql`INSERT INTO latest_metrics (run_id, key, step, value)
        SELECT m.run_id, j.key, max(m.step), json_quote(j.value) FROM metric_steps m, json_each(m.record, '$.metrics') j GROUP BY m.run_id, j.key`.execute(db)
    },
  },
}
