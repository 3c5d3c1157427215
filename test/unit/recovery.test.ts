// Recovery must not trust a pid blindly: pids are reused.
import {spawn} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {openContext} from '../../src/lib/context.js'
import {recoverAbandonedOperations} from '../../src/lib/runs/recovery.js'

describe('crash recovery', () => {
  const dirs: string[] = []
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, {recursive: true, force: true})
  })

  it('rolls back an operation whose pid now belongs to a process that is not autolab', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'autolab-recovery-'))
    dirs.push(dir)
    const ctx = await openContext({store: join(dir, 'autolab.db'), create: true, log: () => {}})
    const impostor = spawn('sleep', ['30'], {stdio: 'ignore'})
    try {
      const now = new Date().toISOString()
      ctx.store.write(() => {
        ctx.store.sqlite.prepare("INSERT INTO configs VALUES ('c', '{}', ?)").run(now)
        ctx.store.sqlite.prepare(`INSERT INTO recipe_specs (spec_id, body) VALUES (1, '{"command":"true","gpus":0,"hot_params":{},"project_dir":"/"}')`).run()
        ctx.store.sqlite.prepare(`INSERT INTO runs (seq, run_id, campaign_id, host_id, recipe, spec_id, gpus, config_id, status, run_dir,
          observation_cadence, sample_cadence, trend_window, stall_seconds, control, created_at)
          VALUES (1, 'r1', 'default', 'local', 'toy', 1, '[]', 'c', 'starting', ?, 10, 50, 20, 60, '{"version":1}', ?)`).run(join(dir, 'runs', 'r1'), now)
        ctx.store.sqlite.prepare(`INSERT INTO operations (op_id, kind, args_hash, state, steps_done, run_id, pid, created_at, updated_at)
          VALUES ('op1', 'launch', 'h', 'started', '["reserve"]', 'r1', ?, ?, ?)`).run(impostor.pid, now, now)
      })
      expect(await recoverAbandonedOperations(ctx)).toEqual(['op1'])
      expect(ctx.store.sqlite.prepare("SELECT status FROM runs WHERE run_id = 'r1'").get()).toEqual({status: 'failed'})
      expect(ctx.store.sqlite.prepare("SELECT state FROM operations WHERE op_id = 'op1'").get()).toEqual({state: 'rolled_back'})
      // Its own, live process (this test runner is Node) is left alone.
      ctx.store.write(() => ctx.store.sqlite.prepare(`INSERT INTO operations (op_id, kind, args_hash, state, steps_done, run_id, pid, created_at, updated_at)
          VALUES ('op2', 'kill', 'h2', 'started', '[]', 'r1', ?, ?, ?)`).run(process.ppid, now, now))
      expect(await recoverAbandonedOperations(ctx)).toEqual([])
    } finally {
      impostor.kill('SIGKILL')
      ctx.store.close()
    }
  })
})
