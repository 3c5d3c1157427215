import {spawn} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {MIGRATIONS} from '../../src/lib/store/migrations.js'
import {openStore} from '../../src/lib/store/open.js'

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
    expect(store.first(store.db.selectFrom('hosts').select(['host_id', 'kind', 'root']))).toEqual({host_id: 'local', kind: 'local', root: join(dir, 'nested')})
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
