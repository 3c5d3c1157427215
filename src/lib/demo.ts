// `autolab demo`: two toy runs, a deliberately low learning rate and a good one, trained side
// by side; the reward curves tell the story. Nothing is left running: an interrupted demo kills
// its runs.
import type {Ctx} from './context.js'
import {launchRun} from './runs/launch.js'
import {getRun} from './runs/queries.js'
import {stopProcess} from './runs/process-control.js'
import {isTerminal} from './runs/state-machine.js'
import {syncRuns} from './runs/sync.js'
import {metricPoints, metricSeries} from './telemetry/history.js'
import {trendStats} from './telemetry/trends.js'

export interface DemoOptions {
  steps: number
  stepTimeMs: number
  lowLearningRate: number
  goodLearningRate: number
  onProgress?: (runs: DemoRunProgress[]) => void
  /** Set by the caller (SIGINT) to stop early. */
  signal?: AbortSignal
}

export interface DemoRunProgress {
  run_id: string
  name: string
  status: string
  step: number | null
  max_steps: number
  reward: number | null
}

export interface DemoRun extends DemoRunProgress {
  learning_rate: number
  /** Mean reward over the last 20 steps. */
  final_reward: number | null
  reward_curve: {step: number; value: number}[]
}

export interface DemoResult {
  store: string
  runs: DemoRun[]
  summary: string
}

const POLL_MS = 250

export async function runDemo(ctx: Ctx, options: DemoOptions): Promise<DemoResult> {
  const plan = [
    {name: 'low-lr', learningRate: options.lowLearningRate},
    {name: 'good-lr', learningRate: options.goodLearningRate},
  ]
  const launched = []
  for (const p of plan) {
    const result = await launchRun(ctx, {
      recipe: 'toy', name: p.name, reason: `demo: learning rate ${p.learningRate}`,
      sets: [`learning_rate=${p.learningRate}`, `max_steps=${options.steps}`, `step_time_ms=${options.stepTimeMs}`],
    })
    launched.push({...p, runId: result.run_id})
  }
  try {
    // Bounded: a healthy demo ends in steps × step time; allow generous slack for a slow machine.
    const deadline = Date.now() + options.steps * (options.stepTimeMs + 20) * 3 + 30_000
    for (;;) {
      await syncRuns(ctx)
      const progress = launched.map((l) => progressOf(ctx, l.runId, l.name, options.steps))
      options.onProgress?.(progress)
      if (progress.every((p) => isTerminal(p.status))) break
      if (options.signal?.aborted || Date.now() > deadline) break
      await new Promise((r) => setTimeout(r, POLL_MS))
    }
  } finally {
    for (const l of launched) {
      if (!isTerminal(getRun(ctx.store, l.runId).status)) await stopProcess(ctx, l.runId, 2)
    }
    await syncRuns(ctx)
  }
  const runs: DemoRun[] = launched.map((l) => {
    const curve = metricPoints(ctx.store, l.runId, 'reward')
    const last = trendStats(curve.slice(-20))
    return {...progressOf(ctx, l.runId, l.name, options.steps), learning_rate: l.learningRate, final_reward: last.mean, reward_curve: curve}
  })
  const [low, good] = runs
  const fmt = (v: number | null) => (v === null ? 'n/a' : v.toFixed(3))
  const summary = `learning rate ${low.learning_rate}: reward ${fmt(low.final_reward)} after ${low.step ?? 0} steps (plateau); ` +
    `learning rate ${good.learning_rate}: reward ${fmt(good.final_reward)} after ${good.step ?? 0} steps.`
  return {store: ctx.store.path, runs, summary}
}

function progressOf(ctx: Ctx, runId: string, name: string, maxSteps: number): DemoRunProgress {
  const run = getRun(ctx.store, runId)
  const latest = metricSeries(ctx.store, runId, ['reward'], {last: 1}).get('reward')!.at(-1)
  return {run_id: runId, name, status: run.status, step: run.step, max_steps: maxSteps, reward: latest?.value ?? null}
}
