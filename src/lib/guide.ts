// The agent playbook. The command list is generated from the commands' own metadata (summary,
// examples, flags) by the guide command, and the error table from errors.ts, so it never drifts.
import {EVENT_KIND_NAMES, EVENT_KINDS} from './events.js'
import {ERROR_CODES} from './output/errors.js'
import {WAKE_KINDS} from './wait.js'

export interface GuideCommand {
  command: string
  summary: string
  description: string | null
  usage: string[]
  /** options: the valid values of a flag that has a fixed set. */
  flags: {name: string; description: string; required: boolean; multiple: boolean; options?: string[]}[]
}

export interface Guide {
  about: string
  loop: string[]
  rules: string[]
  output_contract: {success: string; failure: string; status_bar: string[]; exit_codes: Record<string, string>}
  wake_kinds: string[]
  /** Every kind of event in the log (`log --kind`); `decision`: shown by `log --decisions`. */
  event_kinds: {kind: string; decision: boolean; description: string}[]
  commands: GuideCommand[]
  error_codes: {code: string; exit: number; retryable: boolean; meaning: string; what_to_do: string}[]
}

export const LOOP = [
  'init  (once per project: creates the store in ./.autolab; every other command finds it from here or below, like git finds .git — else STORE_NOT_FOUND)',
  'campaign create NAME --goal … --criterion … --budget-gpu-hours H  (once; or campaign use NAME to pick one up)',
  'status / tree / log --decisions  (a new session starts here: what runs, what was decided and why; then log --since CURSOR)',
  'recipe show R  (the config keys you may --set, with types, ranges and defaults; hot params; metrics and which way is better)',
  'launch --recipe R --set k=v --reason "why"  → data.run_id',
  'wait --for anomaly,exit,message,step --run R --since CURSOR --timeout 600  → data.woken_by, data.events, data.cursor',
  'trend R --metric M --window N → data.verdict (improving | worsening | plateau | noisy; changing for a metric without a goal) / compare A B --metric M → a summary per run / samples R / history R --last N  (reads: cheap, do them often)',
  'act: modify R --set k=v --wait (hot, in flight) | fork R --step N --set k=v (new branch) | pause R / resume R | kill R',
  'note --run R "what you concluded"  (your reasoning, for the next session)',
  'campaign finalize --winner R --summary "…"  (when the criterion is met or the budget is spent); report --out report.html  (the campaign as one page for a human: curves, tree, decisions, winner)',
]

export const RULES = [
  'Always pass --json and read exactly one JSON document from stdout; check ok, then data or error.code.',
  'Run autolab in the project directory (or below it): the store is the nearest .autolab/autolab.db; without one every command but init is STORE_NOT_FOUND.',
  'An error is an answer: a filter value that does not exist (log --kind, runs --status, wait --for) is INVALID_ARGUMENT listing the valid ones, an unknown metric METRIC_NOT_FOUND listing the run\'s, a name matching several runs AMBIGUOUS_RUN listing them — never an empty result.',
  'Reads (runs, show, history, trend, samples, compare, plot, tree, log, status) are milliseconds and change nothing: use them freely.',
  'Always pass --reason on mutations: it is what the next session (and a human) reads in the log.',
  'On a retryable error (exit 5, error.retryable true) retry the same command with the same --idempotency-key: it never acts twice.',
  'Keep the cursor from wait/log and pass it as --since: nothing that happens between two calls is missed.',
  'Hot-modify only what the recipe declares hot (PARAM_NOT_MODIFIABLE otherwise): fork with --set for anything else.',
  'launch and fork check the config against the recipe\'s schema before anything starts: UNKNOWN_CONFIG_KEY names the nearest keys (a typo?), INVALID_VALUE the type or range wanted; --allow-new-keys only when the trainer really takes a key the recipe does not declare.',
  'Forking is cheap (hard links) and atomic: prefer a fork over restarting from scratch.',
  'Metric values are numbers or the strings "NaN", "Infinity", "-Infinity"; a non-finite value is also an anomaly event.',
  'Which way is better is what the recipe declares (recipe show R: metrics.<m>.goal max | min | null, primary_metric): verdicts and best values follow it; a metric without a goal has no best.',
  'When the budget is spent, launch/fork/resume fail with BUDGET_EXHAUSTED; kill, pause, note and finalize still work.',
]

export function buildGuide(commands: GuideCommand[]): Guide {
  return {
    about: 'autolab: a control plane for ML training runs. Every command is one atomic operation; state lives in one SQLite store that outlives your session.',
    loop: LOOP,
    rules: RULES,
    output_contract: {
      success: '{"ok":true,"data":{…},"status":{…}}',
      failure: '{"ok":false,"error":{"code","message","retryable","suggested_action","details"?},"status":{…}}',
      status_bar: ['runs (running, starting, queued, paused, pausing, killing)', 'gpus {free, total}', 'campaign, campaign_status', 'budget {budget_gpu_seconds, spent_gpu_seconds, left_gpu_seconds, deadline, deadline_passed, exhausted}', 'pending_evals', 'warnings[]', 'staleness {host: seconds}'],
      exit_codes: {'0': 'ok', '1': 'internal', '2': 'invalid input', '3': 'not found', '4': 'state conflict', '5': 'transient: retry', '6': 'budget or campaign closed'},
    },
    wake_kinds: Object.keys(WAKE_KINDS),
    event_kinds: EVENT_KIND_NAMES.map((kind) => ({kind, ...EVENT_KINDS[kind]})),
    commands,
    error_codes: Object.entries(ERROR_CODES).map(([code, spec]) => ({code, exit: spec.exit, retryable: spec.retryable, meaning: spec.summary, what_to_do: spec.action})),
  }
}
