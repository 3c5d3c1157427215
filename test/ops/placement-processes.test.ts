// GPU placement with real processes: 16 concurrent `launch` processes on a local host of 8 GPUs
// never double-book a GPU, each trainer sees its own GPUs in CUDA_VISIBLE_DEVICES, and a queued
// run starts on tick once a kill frees a GPU.
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {waitFor} from '../commands/run-command.js'
import {cli, cliAsync, processesOf, useScratchStore} from './cli.js'

/** CUDA_VISIBLE_DEVICES of the trainer (`sleep`) of a run dir, read from /proc/<pid>/environ; undefined until it runs. */
function trainerCudaDevices(runDir: string): string | undefined {
  for (const pid of processesOf(runDir)) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep\0')) continue
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')
      return env.find((e) => e.startsWith('CUDA_VISIBLE_DEVICES='))?.slice('CUDA_VISIBLE_DEVICES='.length) ?? ''
    } catch {
      // gone
    }
  }
  return undefined
}

describe('placement with real processes', () => {
  const scratch = useScratchStore('autolab-place-proc-')

  it('16 concurrent launches on 8 GPUs: every GPU at most once among live runs, the rest NO_CAPACITY or queued; tick starts a queued run after a kill', async () => {
    const project = join(scratch.dir, 'autolab.yaml')
    writeFileSync(project, 'hosts:\n  local:\n    gpus: [0, 1, 2, 3, 4, 5, 6, 7]\nrecipes:\n  hold:\n    gpus: 1\n    command: "exec sleep 60"\n')
    const args = (...extra: string[]) => ['launch', '--recipe', 'hold', '--project', project, '--store', scratch.store, ...extra]
    // Half of them may queue: 8 start, 4 are NO_CAPACITY (exit 5), 4 are queued.
    const results = await Promise.all(Array.from({length: 16}, (_, i) => cliAsync(args('--reason', `slot ${i}`, ...(i % 2 === 1 ? ['--queue'] : [])))))
    const running = []
    let refused = 0
    let queued = 0
    for (const r of results) {
      expect(r.stderr).not.toMatch(/SQLITE_BUSY|database is locked/)
      expect(r.json, r.stderr).not.toBeNull()
      if (r.json.ok && r.json.data.status === 'running') running.push(r.json.data)
      else if (r.json.ok) {
        expect(r.json.data).toMatchObject({status: 'queued', gpus: [], placement: 'auto'})
        queued++
      } else {
        expect([r.status, r.json.error.code, r.json.error.retryable]).toEqual([5, 'NO_CAPACITY', true])
        expect(r.json.error.details).toMatchObject({needed: 1, hosts: [{host: 'local', total: 8, free: 0}]})
        expect(r.json.error.details.hosts[0].busy).toHaveLength(8)
        refused++
      }
    }
    expect(running).toHaveLength(8)
    expect(refused + queued).toBe(8)
    const gpuIds = running.flatMap((r) => r.gpus)
    expect(gpuIds.sort()).toEqual(['0', '1', '2', '3', '4', '5', '6', '7'])

    // Each trainer's environment holds exactly its allocated GPU.
    for (const run of running) {
      const seen = await waitFor(() => trainerCudaDevices(run.run_dir), `the trainer of ${run.run_id}`)
      expect(seen).toBe(run.gpus.join(','))
    }

    const status = cli(['status', '--store', scratch.store])
    expect(status.json.status.gpus).toEqual({free: 0, total: 8})
    expect(status.json.status.hosts).toEqual([{host: 'local', kind: 'local', gpus_total: 8, gpus_free: 0, gpus_used: 8, synced_at: expect.any(String)}])
    // The command synced the host's live runs just now.
    expect(Date.now() - Date.parse(status.json.status.hosts[0].synced_at)).toBeLessThan(60_000)
    expect(status.json.data.hosts[0].busy).toHaveLength(8)

    // A kill frees a GPU; tick starts the oldest queued run on it.
    const queuedRuns = cli(['runs', '--status', 'queued', '--store', scratch.store]).json.data.runs.map((r: {run_id: string}) => r.run_id)
    expect(queuedRuns).toHaveLength(queued)
    const victim = running[0]
    expect(cli(['kill', victim.run_id, '--grace', '0', '--store', scratch.store]).json.ok).toBe(true)
    // As cron runs it: no project file here, so the store's hosts are used as they are (the
    // embedded default project must not wipe local's GPU list).
    const tick = cli(['tick', '--store', scratch.store], {AUTOLAB_PROJECT: ''}).json.data
    expect(tick.errors).toEqual([])
    const oldest = [...queuedRuns].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)))[0]
    expect(tick.started).toEqual([oldest])
    const started = cli(['show', oldest, '--store', scratch.store]).json.data.run
    expect(started).toMatchObject({status: 'running', host: 'local', gpus: victim.gpus})
    expect(await waitFor(() => trainerCudaDevices(started.run_dir), `the trainer of ${oldest}`)).toBe(victim.gpus.join(','))
    const live = cli(['runs', '--store', scratch.store]).json.data.runs.filter((r: {status: string}) => ['starting', 'running', 'pausing', 'killing'].includes(r.status))
    const liveGpus = live.flatMap((r: {gpus: string[]}) => r.gpus)
    expect(new Set(liveGpus).size).toBe(liveGpus.length)
    expect(liveGpus).toHaveLength(8)
  })
})
