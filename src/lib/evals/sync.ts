// Evals in the sync pass: syncRuns probes a host's running evals in the same executor.probe call as
// its runs (offsets {}: only liveness, exit code and stderr tail matter), then hands the evals'
// probes here. An ended eval's result.json and examples.jsonl are read (bounded) and validated,
// and the eval becomes `completed` (exit 0, valid result) or `failed`, with one `eval` event —
// which wakes `wait --for eval`. The run it scored is never touched.
import type {Ctx} from '../context.js'
import {recordEvent} from '../events.js'
import type {Executor, RunProbe} from '../hosts/executor.js'
import type {Store} from '../store/open.js'
import type {EvalRow} from '../store/schema.js'
import {EXAMPLES_FILE, MAX_EXAMPLES_BYTES, MAX_RESULT_BYTES, type ParsedExamples, parseEvalExamples, parseEvalResult, RESULT_FILE} from './results.js'
import {transitionEval} from './state.js'

/** The evals sync watches: `running` ones (a `starting` one belongs to its operation, or to recovery). */
export function evalsToProbe(store: Store, options: {runIds?: string[]; hostKinds?: string[]}): EvalRow[] {
  let query = store.db.selectFrom('evals').innerJoin('hosts', 'hosts.host_id', 'evals.host_id').selectAll('evals').where('evals.status', '=', 'running')
  if (options.runIds?.length) query = query.where('evals.run_id', 'in', options.runIds)
  if (options.hostKinds?.length) query = query.where('hosts.kind', 'in', options.hostKinds)
  return store.all(query.orderBy('evals.seq'))
}

export function evalProbeRequest(row: EvalRow): {runId: string; runDir: string; pid: number | null; offsets: Record<string, number>} {
  return {runId: row.eval_id, runDir: row.dir, pid: row.pid, offsets: {}}
}

export interface EndedEval {
  eval_id: string
  run_id: string
  suite: string
  status: string
  score: number | null
  exit_code: number | null
}

/** Finish every eval whose probe says it ended. Host faults propagate (the caller tolerates them or not). */
export async function applyEvalProbes(ctx: Ctx, executor: Executor, evals: EvalRow[], probes: RunProbe[]): Promise<EndedEval[]> {
  const ended: EndedEval[] = []
  for (const probe of probes) {
    const row = evals.find((e) => e.eval_id === probe.runId)
    if (!row || (probe.alive && probe.exitCode === null)) continue
    // Read before the transaction (I/O, maybe over SSH); one byte more than accepted tells "too large".
    const result = parseEvalResult(await executor.readFile(`${row.dir}/${RESULT_FILE}`, MAX_RESULT_BYTES + 1))
    const examples = parseEvalExamples(await executor.readFile(`${row.dir}/${EXAMPLES_FILE}`, MAX_EXAMPLES_BYTES + 1))
    const done = ctx.store.write(() => finishEval(ctx, row, probe, result, examples))
    if (done) ended.push(done)
  }
  return ended
}

function finishEval(ctx: Ctx, row: EvalRow, probe: RunProbe, result: ReturnType<typeof parseEvalResult>, examples: ParsedExamples): EndedEval | null {
  const {store} = ctx
  const now = ctx.now().toISOString()
  const code = probe.exitCode
  let error: string | null = null
  if (code === null) error = `The eval process disappeared without an exit code.${probe.stderrTail ? `\n${probe.stderrTail}` : ''}`
  else if (code !== 0) error = probe.stderrTail?.trim() ? probe.stderrTail : `exit code ${code}`
  else if (!result.ok) error = result.error
  const status = error === null ? 'completed' : 'failed'
  const scored = result.ok && error === null ? result.result : null
  // Another process's sync may have finished it first (or eval kill): then nothing more to do.
  if (!transitionEval(store, row.eval_id, 'running', status, {
    exit_code: code, error, ended_at: now, synced_at: now,
    score: scored?.score ?? null, metrics: scored ? JSON.stringify(scored.metrics) : null, breakdown: scored ? JSON.stringify(scored.breakdown) : null,
  })) return null
  const insert = store.prepare('INSERT OR IGNORE INTO eval_examples (eval_id, idx, prompt, output, expected, correct, fields) VALUES (?, ?, ?, ?, ?, ?, ?)')
  examples.examples.forEach((e, idx) => insert.run(row.eval_id, idx, e.prompt, e.output, e.expected, e.correct === null ? null : e.correct ? 1 : 0, e.fields === null ? null : JSON.stringify(e.fields)))
  if (examples.rejected > 0 || examples.dropped > 0 || examples.truncated) {
    ctx.warnings.push(`eval ${row.eval_id}: examples.jsonl: ${examples.examples.length} stored, ${examples.rejected} malformed line(s) skipped, ${examples.dropped} past the limit${examples.truncated ? ', the file was cut at its size limit' : ''}`)
  }
  const ended: EndedEval = {eval_id: row.eval_id, run_id: row.run_id, suite: row.suite, status, score: scored?.score ?? null, exit_code: code}
  recordEvent(store, {
    kind: 'eval', time: ctx.now(), actor: 'system', runId: row.run_id, campaignId: row.campaign_id,
    args: {eval_id: row.eval_id, suite: row.suite, checkpoint_step: row.checkpoint_step},
    result: {...ended, ...(error === null ? {} : {error: error.slice(-2000)}), examples: examples.examples.length, examples_rejected: examples.rejected},
  })
  return ended
}
