// Campaigns: a research effort with a goal, a success criterion, a budget (GPU-seconds and/or a
// deadline), and finally a winner and a summary. Every run belongs to one; `default` always
// exists; `campaign use` sets the one new runs join.
import {recordEvent} from './events.js'
import {AutolabError} from './output/errors.js'
import {idempotent} from './runs/journal.js'
import {resolveRun} from './runs/queries.js'
import {COMPUTING_STATES} from './runs/state-machine.js'
import {safeName} from './shell.js'
import type {Store} from './store/open.js'
import type {CampaignRow} from './store/schema.js'
import {DEFAULT_CAMPAIGN} from './store/seed.js'

const CURRENT_KEY = 'current_campaign'
/** Share of the budget at which the status bar warns and a `budget` event is recorded. */
export const BUDGET_WARNING_FRACTION = 0.9

export function getSetting(store: Store, key: string): string | undefined {
  return store.first(store.db.selectFrom('settings').select('value').where('key', '=', key))?.value
}

export function putSetting(store: Store, key: string, value: string, now: Date): void {
  store.run(store.db.insertInto('settings').values({key, value, updated_at: now.toISOString()})
    .onConflict((oc) => oc.column('key').doUpdateSet({value, updated_at: now.toISOString()})))
}

export function currentCampaignId(store: Store): string {
  return getSetting(store, CURRENT_KEY) ?? DEFAULT_CAMPAIGN
}

export function getCampaign(store: Store, name?: string): CampaignRow {
  const id = name ?? currentCampaignId(store)
  const row = store.first(store.db.selectFrom('campaigns').selectAll().where('campaign_id', '=', id))
  if (!row) throw new AutolabError('CAMPAIGN_NOT_FOUND', `No campaign "${id}".`, {details: {campaign: id}, suggestedAction: 'List campaigns with `autolab campaign list --json`.'})
  return row
}

/** GPU-seconds spent by a campaign's runs: banked stretches plus the live ones up to `now`. */
export function spentGpuSeconds(store: Store, campaignId: string, now: Date): number {
  const row = store.prepare(`SELECT coalesce(sum(gpu_seconds + CASE WHEN status IN (${COMPUTING_STATES.map(() => '?').join(',')}) AND started_at IS NOT NULL
      THEN max(1, json_array_length(gpus)) * max(0, (julianday(?) - julianday(started_at)) * 86400) ELSE 0 END), 0) AS spent
    FROM runs WHERE campaign_id = ?`).get(...COMPUTING_STATES, now.toISOString(), campaignId) as {spent: number}
  return row.spent
}

/** GPUs the campaign's live runs hold now (a run without GPUs counts as one device), i.e. GPU-seconds per second. */
export function burnRate(store: Store, campaignId: string): number {
  const row = store.prepare(`SELECT coalesce(sum(max(1, json_array_length(gpus))), 0) AS rate FROM runs WHERE campaign_id = ? AND status IN (${COMPUTING_STATES.map(() => '?').join(',')}) AND started_at IS NOT NULL`)
    .get(campaignId, ...COMPUTING_STATES) as {rate: number}
  return row.rate
}

/**
 * GPU-seconds the campaign's live runs still need to reach their config's `max_steps`, at the
 * pace of their recent steps (the last 20 logged): null when no live run says how far it goes or
 * how fast (no max_steps, or fewer than two steps logged in this stretch).
 */
export function projectedNeed(store: Store, campaignId: string): number | null {
  const runs = store.prepare(`SELECT r.run_id, r.step, r.gpus, c.body FROM runs r JOIN configs c ON c.config_id = r.config_id
    WHERE r.campaign_id = ? AND r.status IN (${COMPUTING_STATES.map(() => '?').join(',')}) AND r.started_at IS NOT NULL`).all(campaignId, ...COMPUTING_STATES) as {run_id: string; step: number | null; gpus: string; body: string}[]
  let need: number | null = null
  for (const run of runs) {
    let maxSteps: unknown
    try {
      maxSteps = (JSON.parse(run.body) as {max_steps?: unknown}).max_steps
    } catch {
      continue
    }
    if (typeof maxSteps !== 'number' || run.step === null) continue
    const recent = store.prepare('SELECT step, time FROM metric_steps WHERE run_id = ? ORDER BY step DESC LIMIT 20').all(run.run_id) as {step: number; time: number}[]
    if (recent.length < 2) continue
    const [last, first] = [recent[0], recent.at(-1)!]
    if (last.step <= first.step || last.time <= first.time) continue
    const secondsPerStep = (last.time - first.time) / (last.step - first.step)
    const devices = Math.max(1, (JSON.parse(run.gpus) as unknown[]).length)
    need = (need ?? 0) + Math.max(0, maxSteps - run.step) * secondsPerStep * devices
  }
  return need === null ? null : Math.round(need)
}

export interface BudgetView {
  budget_gpu_seconds: number | null
  spent_gpu_seconds: number
  left_gpu_seconds: number | null
  deadline: string | null
  deadline_passed: boolean
  /** True when compute-starting operations are refused. */
  exhausted: boolean
  /** The burn rate: GPU-seconds spent per second right now (each live run counts its GPUs, at least 1). */
  burn_rate: number
  /** Seconds until the budget is spent at that rate; null without a GPU budget or with nothing running. */
  budget_seconds_left_at_rate: number | null
  /** Seconds until the deadline (0 once passed); null without one. */
  deadline_seconds_left: number | null
  /** GPU-seconds the live runs still need to reach their max_steps at their recent pace (see projectedNeed); null when unknown. */
  projected_need_gpu_seconds: number | null
}

export function budgetOf(store: Store, campaign: CampaignRow, now: Date): BudgetView {
  const spent = spentGpuSeconds(store, campaign.campaign_id, now)
  const budget = campaign.budget_gpu_seconds
  const deadlinePassed = campaign.deadline !== null && Date.parse(campaign.deadline) <= now.getTime()
  const burn = burnRate(store, campaign.campaign_id)
  const left = budget === null ? null : Math.max(0, budget - spent)
  return {
    budget_gpu_seconds: budget,
    spent_gpu_seconds: Math.round(spent * 10) / 10,
    left_gpu_seconds: left === null ? null : Math.round(left * 10) / 10,
    deadline: campaign.deadline,
    deadline_passed: deadlinePassed,
    exhausted: deadlinePassed || (budget !== null && spent >= budget),
    burn_rate: burn,
    budget_seconds_left_at_rate: left === null || burn === 0 ? null : Math.round(left / burn),
    deadline_seconds_left: campaign.deadline === null ? null : Math.max(0, Math.round((Date.parse(campaign.deadline) - now.getTime()) / 1000)),
    projected_need_gpu_seconds: budget === null ? null : projectedNeed(store, campaign.campaign_id),
  }
}

/**
 * The campaign a mutation acts in. Finalized campaigns refuse mutations; operations that start
 * compute (launch, fork, resume) are refused once the budget or the deadline is spent.
 */
export function campaignForMutation(store: Store, name: string | undefined, options: {startsCompute: boolean; now: Date; forkOf?: string}): CampaignRow {
  const campaign = getCampaign(store, name)
  if (campaign.status === 'finalized') {
    throw new AutolabError('CAMPAIGN_FINALIZED', `Campaign ${campaign.name} is finalized.`, {
      details: {campaign: campaign.name, winner_run_id: campaign.winner_run_id},
      // A finalized campaign's runs are not a dead end: fork them into an open campaign.
      ...(options.forkOf ? {suggestedAction: `Fork into an open campaign: autolab fork ${options.forkOf} --campaign <name> (see \`autolab campaign list\`).`} : {}),
    })
  }
  if (options.startsCompute) {
    const budget = budgetOf(store, campaign, options.now)
    if (budget.exhausted) {
      throw new AutolabError('BUDGET_EXHAUSTED', budget.deadline_passed
        ? `Campaign ${campaign.name} passed its deadline (${campaign.deadline}).`
        : `Campaign ${campaign.name} spent its budget: ${budget.spent_gpu_seconds} of ${budget.budget_gpu_seconds} GPU-seconds.`, {details: {campaign: campaign.name, ...budget}})
    }
  }
  return campaign
}

export interface CreateCampaignOptions {
  name: string
  goal?: string
  criterion?: string
  budgetGpuHours?: number
  deadline?: string
  actor: string
  reason?: string
  idempotencyKey?: string
  now: Date
}

export function createCampaign(store: Store, options: CreateCampaignOptions): CampaignRow {
  safeName('campaign name', options.name)
  if (options.budgetGpuHours !== undefined && !(options.budgetGpuHours > 0)) {
    throw new AutolabError('INVALID_ARGUMENT', `--budget-gpu-hours must be positive; got ${options.budgetGpuHours}.`)
  }
  let deadline: string | null = null
  if (options.deadline !== undefined) {
    const time = Date.parse(options.deadline)
    if (Number.isNaN(time)) throw new AutolabError('INVALID_ARGUMENT', `--deadline "${options.deadline}" is not a date/time (use ISO 8601, e.g. 2026-12-01T18:00:00Z).`)
    deadline = new Date(time).toISOString()
  }
  const args = {name: options.name, goal: options.goal ?? null, criterion: options.criterion ?? null, budget_gpu_hours: options.budgetGpuHours ?? null, deadline}
  return idempotent(store, {key: options.idempotencyKey, kind: 'campaign_create', args, now: options.now}, () => {
    if (store.first(store.db.selectFrom('campaigns').select('campaign_id').where('campaign_id', '=', options.name))) {
      throw new AutolabError('CONFLICT', `Campaign ${options.name} exists already.`, {details: {campaign: options.name}, suggestedAction: 'Pick another name, or `autolab campaign use` it.'})
    }
    const row: CampaignRow = {
      campaign_id: options.name, name: options.name, goal: options.goal ?? null, criterion: options.criterion ?? null,
      budget_gpu_seconds: options.budgetGpuHours === undefined ? null : options.budgetGpuHours * 3600, deadline, status: 'active',
      winner_run_id: null, summary: null, created_at: options.now.toISOString(),
    }
    store.run(store.db.insertInto('campaigns').values(row))
    recordEvent(store, {kind: 'campaign_create', time: options.now, actor: options.actor, campaignId: row.campaign_id, reason: options.reason ?? null, args: {goal: row.goal, criterion: row.criterion, budget_gpu_seconds: row.budget_gpu_seconds, deadline}})
    return row
  })
}

export function useCampaign(store: Store, name: string, now: Date): CampaignRow {
  const campaign = getCampaign(store, name)
  store.write(() => putSetting(store, CURRENT_KEY, campaign.campaign_id, now))
  return campaign
}

export function finalizeCampaign(store: Store, options: {name?: string; winner?: string; summary?: string; actor: string; reason?: string; idempotencyKey?: string; now: Date}): CampaignRow {
  const args = {name: options.name ?? currentCampaignId(store), winner: options.winner ?? null, summary: options.summary ?? null}
  return idempotent(store, {key: options.idempotencyKey, kind: 'campaign_finalize', args, now: options.now}, () => {
    const campaign = getCampaign(store, options.name)
    if (campaign.status === 'finalized') {
      throw new AutolabError('CAMPAIGN_FINALIZED', `Campaign ${campaign.name} is finalized already.`, {details: {campaign: campaign.name}})
    }
    let winner: string | null = null
    if (options.winner) {
      const run = resolveRun(store, options.winner)
      if (run.campaign_id !== campaign.campaign_id) {
        throw new AutolabError('INVALID_ARGUMENT', `Run ${run.run_id} belongs to campaign ${run.campaign_id}, not ${campaign.name}.`)
      }
      winner = run.run_id
    }
    store.run(store.db.updateTable('campaigns').set({status: 'finalized', winner_run_id: winner, summary: options.summary ?? null}).where('campaign_id', '=', campaign.campaign_id))
    recordEvent(store, {kind: 'campaign_finalize', time: options.now, actor: options.actor, campaignId: campaign.campaign_id, runId: winner, reason: options.reason ?? null, args: {winner_run_id: winner, summary: options.summary ?? null}})
    return getCampaign(store, campaign.campaign_id)
  })
}

/**
 * Record a `budget` event when a campaign's spend first crosses 90% and 100% of its budget (or
 * its deadline passes), so `wait --for budget` wakes once per threshold.
 */
export function recordBudgetCrossings(store: Store, now: Date): void {
  const campaigns = store.all(store.db.selectFrom('campaigns').selectAll().where('status', '=', 'active')
    .where((eb) => eb.or([eb('budget_gpu_seconds', 'is not', null), eb('deadline', 'is not', null)])))
  for (const campaign of campaigns) {
    const budget = budgetOf(store, campaign, now)
    const fraction = budget.budget_gpu_seconds ? budget.spent_gpu_seconds / budget.budget_gpu_seconds : 0
    const level = budget.exhausted ? 100 : fraction >= BUDGET_WARNING_FRACTION ? 90 : 0
    const key = `budget_level:${campaign.campaign_id}`
    if (level === 0 || Number(getSetting(store, key) ?? 0) >= level) continue
    store.write(() => {
      if (Number(getSetting(store, key) ?? 0) >= level) return
      putSetting(store, key, String(level), now)
      recordEvent(store, {kind: 'budget', time: now, actor: 'system', campaignId: campaign.campaign_id, args: {level, ...budget}})
    })
  }
}

export interface CampaignView {
  campaign_id: string
  name: string
  goal: string | null
  criterion: string | null
  status: string
  current: boolean
  budget: BudgetView
  /** Run counts by status. */
  runs: Record<string, number>
  winner_run_id: string | null
  summary: string | null
  created_at: string
}

export function campaignView(store: Store, name: string | undefined, now: Date): CampaignView {
  const campaign = getCampaign(store, name)
  const counts = store.prepare('SELECT status, count(*) AS n FROM runs WHERE campaign_id = ? GROUP BY status ORDER BY status').all(campaign.campaign_id) as {status: string; n: number}[]
  return {
    campaign_id: campaign.campaign_id, name: campaign.name, goal: campaign.goal, criterion: campaign.criterion, status: campaign.status,
    current: campaign.campaign_id === currentCampaignId(store), budget: budgetOf(store, campaign, now),
    runs: Object.fromEntries(counts.map((c) => [c.status, c.n])), winner_run_id: campaign.winner_run_id, summary: campaign.summary, created_at: campaign.created_at,
  }
}

export function listCampaigns(store: Store, now: Date): CampaignView[] {
  return store.all(store.db.selectFrom('campaigns').select('campaign_id').orderBy('created_at')).map((c) => campaignView(store, c.campaign_id, now))
}
