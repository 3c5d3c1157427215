// A campaign store shaped like a real one, for the read benchmarks: N runs of the toy recipe
// (its real recipe spec, with metric goals), a third of them forks of an earlier run at a step
// with a learning-rate override, each with its metric steps (4 metrics per step), observations
// at the cadence, checkpoints every 100 steps, config versions, and the events a campaign
// leaves (launch/fork decisions with reasons, checkpoints, exits, notes). All runs have ended:
// live runs need live processes, and a read's cost is the store's, not the processes'.
//
//   node bench/store.mjs PATH RUNS POINTS   (also imported by bench/run.mjs)
import {openStore} from '../dist/src/lib/store/open.js'
import {exampleProjectYaml, parseProject} from '../dist/src/lib/project.js'

const KEYS = ['loss', 'reward', 'kl', 'entropy']

/** A small deterministic PRNG: the same store for the same sizes. */
function prng(seed) {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export async function generateStore(path, runs, points, {runDirRoot = '/nonexistent/runs'} = {}) {
  const store = await openStore(path)
  const random = prng(runs * 7919 + points)
  const spec = JSON.stringify(parseProject(exampleProjectYaml(), null).recipes.toy)
  const start = Date.parse('2026-11-01T00:00:00Z')
  const iso = (ms) => new Date(ms).toISOString()
  const stepsPerRun = Math.max(1, Math.round(points / runs / KEYS.length))
  const control = JSON.stringify({version: 1, state: 'run', overrides: {}, save_at: [], save_now: 0, observation_cadence: 10, sample_cadence: 50})
  store.write(() => {
    const sql = store.sqlite
    sql.prepare("UPDATE campaigns SET goal = ?, criterion = ?, budget_gpu_seconds = ? WHERE campaign_id = 'default'").run('reach reward 0.9 on modular addition', 'reward >= 0.9 at max_steps', 1e9)
    const insertConfig = sql.prepare('INSERT OR IGNORE INTO configs (config_id, body, created_at) VALUES (?, ?, ?)')
    const specId = sql.prepare('INSERT INTO recipe_specs (body) VALUES (?)').run(spec).lastInsertRowid
    const insertRun = sql.prepare(`INSERT INTO runs (seq, run_id, name, campaign_id, parent_run_id, fork_step, host_id, recipe, spec_id, gpus, config_id, status, pid, exit_code,
      step, run_dir, observation_cadence, sample_cadence, control, trend_window, stall_seconds, created_at, started_at, ended_at, synced_at, gpu_seconds, placement)
      VALUES (?, ?, ?, 'default', ?, ?, 'local', 'toy', ?, '[]', ?, ?, ?, ?, ?, ?, 10, 50, ?, 20, 120, ?, ?, ?, ?, ?, 'auto')`)
    const insertRunConfig = sql.prepare('INSERT INTO run_configs (run_id, version, config_id, effective_step, control_version, created_at) VALUES (?, 1, ?, NULL, NULL, ?)')
    const insertStep = sql.prepare('INSERT INTO metric_steps (run_id, step, time, record) VALUES (?, ?, ?, ?)')
    const insertObservation = sql.prepare('INSERT INTO observations (run_id, step, time, metrics) VALUES (?, ?, ?, ?)')
    const insertCheckpoint = sql.prepare('INSERT INTO checkpoints (run_id, step, path, bytes, created_at) VALUES (?, ?, ?, ?, ?)')
    const insertEvent = sql.prepare('INSERT INTO events (time, campaign_id, run_id, kind, actor, reason, args, result) VALUES (?, \'default\', ?, ?, ?, ?, ?, ?)')
    const insertOffset = sql.prepare('INSERT INTO ingest_offsets (run_id, file, offset) VALUES (?, ?, ?)')
    const insertLatest = sql.prepare('INSERT INTO latest_metrics (run_id, key, step, value) VALUES (?, ?, ?, ?)')
    for (let i = 1; i <= runs; i++) {
      const runId = `r${i}`
      const t0 = start + i * 60_000
      const lr = [0.01, 0.02, 0.05, 0.1][i % 4]
      const config = {learning_rate: lr, beta: 0.01, temperature: 1, group_size: 8, batch_size: 16, seed: i % 10, max_steps: stepsPerRun, save_every: 100}
      const configId = `c${i % 4}`
      insertConfig.run(configId, JSON.stringify(config), iso(t0))
      const fork = i > 3 && random() < 1 / 3
      const parent = fork ? `r${1 + Math.floor(random() * (i - 1))}` : null
      const forkStep = fork ? 100 * Math.max(1, Math.floor((random() * stepsPerRun) / 100)) : null
      const status = random() < 0.9 ? 'completed' : random() < 0.5 ? 'killed' : 'failed'
      const exit = status === 'completed' ? 0 : status === 'failed' ? 1 : null
      const end = t0 + stepsPerRun * 50
      const runDir = `${runDirRoot}/${runId}`
      insertRun.run(i, runId, i % 10 === 0 ? `sweep-${i}` : null, parent, forkStep, specId, configId, status, 10_000 + i, exit, stepsPerRun, runDir, control, iso(t0), iso(t0 + 20), iso(end), iso(end), (end - t0) / 1000)
      insertRunConfig.run(runId, configId, iso(t0))
      insertEvent.run(iso(t0), runId, fork ? 'fork' : 'launch', 'agent', fork ? `plateau in ${parent}: try lr ${lr}` : 'baseline', JSON.stringify(fork ? {run: parent, step: forkStep, sets: [`learning_rate=${lr}`]} : {recipe: 'toy', sets: []}), JSON.stringify({run_id: runId}))
      const rate = 0.5 + random()
      let observation = null
      let metrics = null
      for (let s = 1; s <= stepsPerRun; s++) {
        const time = (t0 + s * 50) / 1000
        const progress = 1 - Math.exp((-s * lr * rate) / 50)
        metrics = {loss: 1 - progress + random() * 0.05, reward: 0.1 + 0.85 * progress + random() * 0.05, kl: progress * 0.3, entropy: 1.6 * (1 - progress) + 0.1}
        insertStep.run(runId, s, time, JSON.stringify({step: s, time, metrics}))
        if (s % 10 === 0 || s === 1) {
          observation = Object.fromEntries(KEYS.map((k) => [k, {value: metrics[k], mean: metrics[k], std: 0.01, slope: 0.001, window: 20}]))
          insertObservation.run(runId, s, time, JSON.stringify(observation))
        }
        if (s % 100 === 0) {
          insertCheckpoint.run(runId, s, `${runDir}/checkpoints/step-${s}`, 11_340, iso(time * 1000))
          insertEvent.run(iso(time * 1000), runId, 'checkpoint', 'system', null, JSON.stringify({step: s, path: `${runDir}/checkpoints/step-${s}`, bytes: 11_340}), null)
        }
      }
      for (const key of KEYS) insertLatest.run(runId, key, stepsPerRun, JSON.stringify(metrics[key]))
      insertEvent.run(iso(end), runId, 'run_exited', 'system', null, JSON.stringify({status, exit_code: exit, step: stepsPerRun}), null)
      if (i % 5 === 0) insertEvent.run(iso(end + 1), runId, 'note', 'agent', null, JSON.stringify({text: `reward at ${stepsPerRun}: looks ${random() < 0.5 ? 'good' : 'flat'}`}), null)
      insertOffset.run(runId, 'metrics.jsonl', stepsPerRun * 150)
    }
  })
  store.close()
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [path, runs, points] = process.argv.slice(2)
  const t = Date.now()
  await generateStore(path, Number(runs), Number(points))
  console.log(`${path}: ${runs} runs, ${points} points in ${((Date.now() - t) / 1000).toFixed(1)} s`)
}
