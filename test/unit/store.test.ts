import BetterSqlite3 from 'better-sqlite3'
import {spawn} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {MIGRATIONS} from '../../src/lib/store/migrations.js'
import {Kysely, Migrator, SqliteDialect} from 'kysely'
import {getRun, recipeSpecId} from '../../src/lib/runs/queries.js'
import {openStore} from '../../src/lib/store/open.js'

/** A database file with autolab's migrations up to `last` applied (a store of an older version). */
async function sqliteAtMigration(path: string, last: string): Promise<BetterSqlite3.Database> {
  const sqlite = new BetterSqlite3(path)
  const migrator = new Migrator({db: new Kysely<unknown>({dialect: new SqliteDialect({database: sqlite})}), provider: {getMigrations: async () => MIGRATIONS}})
  const {error} = await migrator.migrateTo(last)
  if (error) throw error
  return sqlite
}

describe('store', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'autolab-store-'))
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  it('creates the file with WAL, foreign keys, every migration, the default campaign and the local host', async () => {
    const store = await openStore(join(dir, 'nested', 'autolab.db'))
    expect(store.sqlite.pragma('journal_mode', {simple: true})).toBe('wal')
    expect(store.sqlite.pragma('foreign_keys', {simple: true})).toBe(1)
    expect(store.sqlite.pragma('busy_timeout', {simple: true})).toBeGreaterThanOrEqual(5000)
    const applied = store.sqlite.prepare('SELECT name FROM kysely_migration ORDER BY name').all() as {name: string}[]
    expect(applied.map((m) => m.name)).toEqual(Object.keys(MIGRATIONS).sort())
    const tables = (store.sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {name: string}[]).map((t) => t.name)
    for (const t of ['campaigns', 'hosts', 'runs', 'configs', 'run_configs', 'metric_steps', 'observations', 'samples', 'checkpoints', 'events', 'operations', 'ingest_offsets']) {
      expect(tables).toContain(t)
    }
    expect(store.first(store.db.selectFrom('campaigns').select(['name', 'status']))).toEqual({name: 'default', status: 'active'})
    // The local host's root is the store's own directory, wherever the store is: '.'.
    expect(store.first(store.db.selectFrom('hosts').select(['host_id', 'kind', 'root']))).toEqual({host_id: 'local', kind: 'local', root: '.'})
    store.close()
  })

  it('reopening applies nothing twice and keeps the data', async () => {
    const first = await openStore(join(dir, 'a.db'))
    first.write(() => first.sqlite.prepare("INSERT INTO configs VALUES ('c', '{}', 'now')").run())
    first.close()
    const again = await openStore(join(dir, 'a.db'))
    expect((again.sqlite.prepare('SELECT count(*) AS n FROM kysely_migration').get() as {n: number}).n).toBe(Object.keys(MIGRATIONS).length)
    expect((again.sqlite.prepare('SELECT count(*) AS n FROM configs').get() as {n: number}).n).toBe(1)
    expect((again.sqlite.prepare('SELECT count(*) AS n FROM campaigns').get() as {n: number}).n).toBe(1)
    again.close()
  })

  it('a write transaction rolls back entirely when it throws', async () => {
    const store = await openStore(join(dir, 'b.db'))
    expect(() => store.write(() => {
      store.sqlite.prepare("INSERT INTO configs VALUES ('c1', '{}', 'now')").run()
      throw new Error('boom')
    })).toThrow('boom')
    expect((store.sqlite.prepare('SELECT count(*) AS n FROM configs').get() as {n: number}).n).toBe(0)
    store.close()
  })

  it('has a random store_id from its creation, the same on every open; another store has another', async () => {
    const store = await openStore(join(dir, 'id.db'))
    const id = store.id
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    store.close()
    const again = await openStore(join(dir, 'id.db'))
    expect(again.id).toBe(id)
    again.close()
    const other = await openStore(join(dir, 'other.db'))
    expect(other.id).not.toBe(id)
    other.close()
  })

  it('a store from before store_id gets one when it is migrated, keeping its data', async () => {
    const path = join(dir, 'old.db')
    // A store of migrations 0001-0004.
    const old = await sqliteAtMigration(path, '0004_campaign_accounting')
    old.prepare("INSERT INTO configs VALUES ('c', '{}', 'now')").run()
    old.close()
    const migrated = await openStore(path)
    expect(migrated.id).toMatch(/^[0-9a-f-]{36}$/)
    expect((migrated.sqlite.prepare('SELECT count(*) AS n FROM configs').get() as {n: number}).n).toBe(1)
    migrated.close()
  })

  it('a store from before recipe_specs keeps every run\'s spec, shared by the runs that had the same', async () => {
    const path = join(dir, 'specs.db')
    const old = await sqliteAtMigration(path, '0008_evals')
    const specA = JSON.stringify({command: 'train --a', metrics: {reward: {goal: 'max'}}, primary_metric: 'reward'})
    const specB = JSON.stringify({command: 'train --b'})
    old.exec(`INSERT INTO campaigns (campaign_id, name, created_at) VALUES ('default', 'default', 'now');
      INSERT INTO hosts (host_id, kind, root, created_at) VALUES ('local', 'local', '.', 'now');
      INSERT INTO configs VALUES ('c', '{}', 'now')`)
    const insert = old.prepare(`INSERT INTO runs (seq, run_id, campaign_id, host_id, recipe, recipe_spec, config_id, status, run_dir, observation_cadence, sample_cadence, control, trend_window, stall_seconds, created_at)
      VALUES (?, ?, 'default', 'local', 'toy', ?, 'c', 'completed', '/x', 10, 50, '{}', 20, 60, 'now')`)
    insert.run(1, 'r1', specA)
    insert.run(2, 'r2', specB)
    insert.run(3, 'r3', specA)
    old.close()
    const store = await openStore(path)
    expect(['r1', 'r2', 'r3'].map((id) => getRun(store, id).recipe_spec)).toEqual([specA, specB, specA])
    expect((store.sqlite.prepare('SELECT count(*) AS n FROM recipe_specs').get() as {n: number}).n).toBe(2)
    expect((store.sqlite.prepare("SELECT count(*) AS n FROM pragma_table_info('runs') WHERE name = 'recipe_spec'").get() as {n: number}).n).toBe(0)
    // A new run with an existing spec shares its row.
    store.write(() => expect(recipeSpecId(store, specB)).toBe(getRun(store, 'r2').spec_id))
    store.close()
  })

  it('a store from before latest_metrics gets each run\'s latest value of each metric from its stored steps', async () => {
    const path = join(dir, 'latest.db')
    const old = await sqliteAtMigration(path, '0010_read_indexes')
    const insert = old.prepare('INSERT INTO metric_steps (run_id, step, time, record) VALUES (?, ?, 0, ?)')
    insert.run('r1', 1, JSON.stringify({step: 1, metrics: {loss: 2, reward: 0.1}}))
    insert.run('r1', 2, JSON.stringify({step: 2, metrics: {loss: 'NaN'}}))
    insert.run('r1', 3, JSON.stringify({step: 3, metrics: {loss: 1.5, eval: null}}))
    insert.run('r2', 7, JSON.stringify({step: 7, metrics: {reward: 0.7}}))
    old.close()
    const store = await openStore(path)
    const rows = store.sqlite.prepare('SELECT run_id, key, step, value FROM latest_metrics ORDER BY run_id, key').all()
    expect(rows).toEqual([
      {run_id: 'r1', key: 'eval', step: 3, value: 'null'},
      {run_id: 'r1', key: 'loss', step: 3, value: '1.5'},
      {run_id: 'r1', key: 'reward', step: 1, value: '0.1'},
      {run_id: 'r2', key: 'reward', step: 7, value: '0.7'},
    ])
    store.close()
  })

  it('every connection is opened by sqliteDatabase, which hands better-sqlite3 its addon (the CLI bundle cannot find it otherwise)', () => {
    const sources = (dir: string): string[] => readdirSync(dir, {withFileTypes: true}).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []))
    const root = new URL('../../src', import.meta.url).pathname
    const constructing = sources(root).filter((file) => /new BetterSqlite3\(/.test(readFileSync(file, 'utf8')))
    expect(constructing.map((file) => file.slice(root.length))).toEqual(['/lib/store/access.ts'])
  })

  it('a -shm/-wal left read-only by a read-only open gets the file\'s mode back once the file is writable', async () => {
    const path = join(dir, 'modes.db')
    ;(await openStore(path)).close()
    chmodSync(path, 0o444)
    // What a read-only session leaves behind: sidecars created with the read-only file's mode.
    const reader = new BetterSqlite3(path, {readonly: true})
    reader.prepare('SELECT count(*) FROM campaigns').get()
    reader.close()
    expect([statSync(`${path}-shm`).mode & 0o777, statSync(`${path}-wal`).mode & 0o777]).toEqual([0o444, 0o444])
    chmodSync(path, 0o640)
    const store = await openStore(path)
    for (const suffix of ['-shm', '-wal']) expect(statSync(`${path}${suffix}`).mode & 0o777, suffix).toBe(0o640)
    store.write(() => store.sqlite.prepare("INSERT INTO configs VALUES ('c', '{}', 'now')").run())
    store.close()
  })

  describe('a lost store: missing or empty, with run directories beside it', () => {
    const withRunDirs = async () => {
      const path = join(dir, 'autolab.db')
      const store = await openStore(path)
      store.close()
      mkdirSync(join(dir, 'runs', 'r1'), {recursive: true})
      mkdirSync(join(dir, 'runs', 'r2'))
      writeFileSync(join(dir, 'runs', 'r1', 'config.json'), '{}')
      return path
    }

    it('an emptied (truncated) store file is STORE_LOST naming the path, the run dirs and what to do; the file stays empty', async () => {
      const path = await withRunDirs()
      truncateSync(path, 0)
      const error = await openStore(path).then(() => undefined, (e) => e)
      expect(error).toMatchObject({code: 'STORE_LOST', details: {store: path, runs_dir: join(dir, 'runs'), run_dirs: 2}})
      expect(error.message).toContain(path)
      expect(error.message).toContain('2 run directories')
      expect(error.suggestedAction).toMatch(/backup/)
      expect(error.suggestedAction).toMatch(/aside/)
      expect(error.exitCode).toBe(3)
      expect(statSync(path).size).toBe(0)
    })

    it('a deleted store file is STORE_LOST and no file is created', async () => {
      const path = await withRunDirs()
      unlinkSync(path)
      await expect(openStore(path)).rejects.toMatchObject({code: 'STORE_LOST'})
      expect(readdirSync(dir).sort()).toEqual(['runs'])
    })

    it('an empty runs/ directory, or runs/ moved aside, lets a new store be created', async () => {
      const path = await withRunDirs()
      unlinkSync(path)
      rmSync(join(dir, 'runs'), {recursive: true})
      mkdirSync(join(dir, 'runs'))
      const store = await openStore(path)
      expect(existsSync(path)).toBe(true)
      store.close()
    })
  })

  it('refuses a store under /proc or /sys with STORE_ERROR (instead of spinning in mkdir)', async () => {
    await expect(openStore('/proc/nope/autolab.db')).rejects.toMatchObject({code: 'STORE_ERROR'})
    await expect(openStore('/sys/x.db')).rejects.toMatchObject({code: 'STORE_ERROR'})
  })

  it('enforces foreign keys', async () => {
    const store = await openStore(join(dir, 'c.db'))
    expect(() => store.sqlite.prepare("INSERT INTO run_configs (run_id, version, config_id, effective_step, created_at) VALUES ('nope', 1, 'nope', 0, 'now')").run()).toThrow(/FOREIGN KEY/)
    store.close()
  })

  it('is shared by many processes that open a fresh file and write at once: no SQLITE_BUSY, nothing lost', async () => {
    const path = join(dir, 'shared.db')
    const writers = 8
    const perWriter = 50
    const script = `
      const {openStore} = await import(${JSON.stringify(new URL('../../dist/src/lib/store/open.js', import.meta.url).href)})
      const store = await openStore(${JSON.stringify(path)})
      for (let i = 0; i < ${perWriter}; i++) {
        store.write(() => {
          const n = store.sqlite.prepare('SELECT count(*) AS n FROM configs').get().n
          store.sqlite.prepare('INSERT INTO configs VALUES (?, ?, ?)').run(process.argv[1] + '-' + i, String(n), 'now')
        })
      }
      store.close()`
    const codes = await Promise.all(Array.from({length: writers}, (_, w) => new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script, `w${w}`], {stdio: ['ignore', 'ignore', 'pipe']})
      let stderr = ''
      child.stderr.on('data', (d) => (stderr += d))
      child.on('exit', (code) => {
        if (code !== 0) console.error(stderr)
        resolve(code ?? -1)
      })
    })))
    expect(codes).toEqual(Array(writers).fill(0))
    const store = await openStore(path)
    const rows = store.sqlite.prepare('SELECT body FROM configs').all() as {body: string}[]
    expect(rows).toHaveLength(writers * perWriter)
    // BEGIN IMMEDIATE serialises the read-then-write: every writer saw a distinct count.
    expect(new Set(rows.map((r) => r.body)).size).toBe(writers * perWriter)
    store.close()
  })
})
