// The HTML report's safety and shape, without a browser: one escaping function for every value
// from the store (names, reasons, notes, summaries come from users and agents), a page that loads
// nothing from anywhere and runs no script, and SVG charts with a curve per run and fork marks.
import {describe, expect, it} from 'vitest'
import type {ReportModel} from '../../src/lib/report/data.js'
import {escapeHtml, Html, html, joinHtml} from '../../src/lib/report/html.js'
import {renderReport} from '../../src/lib/report/page.js'
import {seriesStyle, svgChart} from '../../src/lib/report/svg-chart.js'

const HOSTILE = `<script>alert("x")</script> & 'q' "><img src=x onerror=alert(1)>`

describe('escapeHtml', () => {
  it('escapes the five characters that matter, in content and in quoted attributes', () => {
    expect(escapeHtml('<script>alert("x")</script>')).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;')
    expect(escapeHtml(`a & b 'c'`)).toBe('a &amp; b &#39;c&#39;')
    expect(escapeHtml('&amp;')).toBe('&amp;amp;')
    expect(escapeHtml(null)).toBe('')
    expect(escapeHtml(undefined)).toBe('')
    expect(escapeHtml(0.5)).toBe('0.5')
  })

  it('html`` escapes every interpolated value, items of arrays too, and keeps Html made by html``', () => {
    const inner = html`<b>${HOSTILE}</b>`
    const out = String(html`<p title="${HOSTILE}">${inner}${[HOSTILE, html`<i>ok</i>`]}</p>`)
    expect(out).not.toContain('<script')
    expect(out).not.toContain('<img')
    expect(out).toContain('<b>&lt;script&gt;')
    expect(out).toContain('<i>ok</i>')
    // The attribute cannot be closed from inside.
    expect(out.startsWith('<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39; &quot;&gt;&lt;img')).toBe(true)
    expect(String(joinHtml([html`<a>`, html`<b>`], '|'))).toBe('<a>|<b>')
  })

  it('Html cannot be made from a string: there is no way around the escaping', () => {
    expect(() => new Html(Symbol('html'), '<script>')).toThrow(TypeError)
  })
})

/** A report of two runs (a parent and its fork) where every user-given text is hostile. */
function hostileModel(): ReportModel {
  const points = (from: number, to: number, f: (s: number) => number) => Array.from({length: to - from + 1}, (_, i) => ({step: from + i, value: f(from + i)}))
  const series = (runId: string, pts: {step: number; value: number | 'NaN'}[]) => ({run_id: runId, total: pts.length, non_finite: pts.filter((p) => p.value === 'NaN').length,
    first_non_finite_step: pts.find((p) => p.value === 'NaN')?.step ?? null, downsampled: false, points: pts})
  const budget = {budget_gpu_seconds: 3600, spent_gpu_seconds: 100, left_gpu_seconds: 3500, deadline: null, deadline_passed: false, exhausted: false, burn_rate: 0,
    budget_seconds_left_at_rate: null, deadline_seconds_left: null, projected_need_gpu_seconds: null}
  const run = (id: string, parent: string | null) => ({run_id: id, name: parent ? HOSTILE : null, status: 'completed', parent_run_id: parent, fork_step: parent ? 20 : null, step: 40,
    recipe: 'toy', host: 'local', created_at: '2026-01-01T00:00:00Z', ended_at: null, gpu_seconds: 50})
  const child = [...points(21, 39, (s) => s / 40), {step: 40, value: 'NaN' as const}]
  return {
    generated_at: '2026-01-01T00:00:00Z',
    campaign: {campaign_id: 'sweep', name: 'sweep', goal: HOSTILE, criterion: HOSTILE, status: 'finalized', current: true, budget, runs: {completed: 2},
      winner_run_id: 'r2', summary: HOSTILE, created_at: '2026-01-01T00:00:00Z'},
    tree: {campaign: 'sweep', metric: 'reward', metric_source: 'primary_metric', primary_metrics: ['reward'], roots: [
      {run_id: 'r1', name: null, status: 'completed', step: 40, fork_step: null, recipe: 'toy', metric: 0.2, children: [
        {run_id: 'r2', name: HOSTILE, status: 'completed', step: 40, fork_step: 20, recipe: 'toy', metric: 'NaN', children: []}]}], total: 2, shown: 2, truncated: false},
    runs: [run('r1', null), run('r2', 'r1')],
    charts: [{metric: 'reward', goal: 'max', bucket_steps: null, series: [series('r1', points(1, 40, (s) => s / 100)), series('r2', child)],
      fork_points: [{run_id: 'r2', parent_run_id: 'r1', step: 20}]}],
    metrics_without_data: [HOSTILE],
    evals: [{eval_id: 'e1', run_id: 'r2', campaign_id: 'sweep', suite: 'heldout', checkpoint_step: 40, checkpoint_path: '/x', host: 'local', gpus: [], status: 'failed',
      pid: null, exit_code: 3, error: HOSTILE, n: 10, settings: {}, score: null, metrics: {[HOSTILE]: 1}, breakdown: null, dir: '/x', reason: HOSTILE,
      created_at: '2026-01-01T00:00:00Z', started_at: null, ended_at: null}],
    decisions: [
      {event_id: 1, time: '2026-01-01T00:00:00Z', kind: 'fork', actor: HOSTILE, run_id: 'r2', campaign_id: 'sweep', reason: HOSTILE, args: {sets: [HOSTILE]}, result: null},
      {event_id: 2, time: '2026-01-01T00:00:01Z', kind: 'note', actor: 'agent', run_id: 'r2', campaign_id: 'sweep', reason: null, args: {text: HOSTILE}, result: null},
    ],
    decisions_truncated: false,
  }
}

describe('the report page', () => {
  const {html: page, charts} = renderReport(hostileModel())

  it('prints every user-given text escaped, never as markup', () => {
    expect(page).not.toMatch(/<script/i)
    expect(page).not.toMatch(/<img/i)
    // No event-handler attribute on any tag (quoted attribute values blanked: text inside them is harmless).
    expect(page.replace(/"[^"]*"/g, '""')).not.toMatch(/<[^>]*\son\w+\s*=/i)
    const escaped = escapeHtml(HOSTILE)
    // Goal, criterion, summary, run name (tree, runs, legend), reason, note, actor, eval error.
    expect(page.split(escaped).length - 1).toBeGreaterThanOrEqual(10)
    expect(page).not.toContain(HOSTILE)
  })

  it('is self-contained: no script, nothing fetched (no http(s) src or href, no link, no @import, no url()), and a CSP that forbids loading', () => {
    expect(page).not.toMatch(/\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i)
    expect(page).not.toMatch(/<link\b|@import|url\(|<iframe|<object|<embed/i)
    expect(page).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`)
    expect(page.startsWith('<!doctype html>')).toBe(true)
  })

  it('draws one chart per charted metric, with a curve per run and the fork marked', () => {
    expect(charts).toBe(1)
    expect(page.match(/<svg class="chart"/g)).toHaveLength(1)
    expect(page.match(/<path class="series"/g)).toHaveLength(2)
    expect(page).toContain('<g class="fork" data-run="r2" data-step="20">')
    expect(page).toContain('r2 forked from r1 at step 20')
    expect(page).toContain('r2: 1 NaN/Infinity value not drawn (the first at step 40)')
    expect(page).toContain('Winner: r2 ')
  })
})

describe('svgChart', () => {
  const runs = [
    {run_id: 'r1', label: 'r1', downsampled: false, non_finite: 0, points: Array.from({length: 11}, (_, i) => ({step: i * 10, value: i}))},
    {run_id: 'r2', label: 'r2', downsampled: false, non_finite: 1, points: [{step: 50, value: 5}, {step: 60, value: 'NaN' as const}, {step: 70, value: 8}, {step: 100, value: 9}]},
  ]
  const svg = String(svgChart(runs, [{run_id: 'r2', parent_run_id: 'r1', step: 50}], {title: 'reward'}))

  it('a curve per run in its own style; a non-finite value breaks the curve', () => {
    const paths = [...svg.matchAll(/<path class="series" data-run="(r\d)" data-points="(\d+)" d="([^"]+)" stroke="([^"]+)" stroke-dasharray="([^"]*)"/g)]
    expect(paths.map((p) => [p[1], p[2]])).toEqual([['r1', '11'], ['r2', '3']])
    expect(paths[1][3].match(/M/g)).toHaveLength(2)
    expect(paths[0][4]).not.toBe(paths[1][4])
    expect(paths[0][5]).not.toBe(paths[1][5])
  })

  it('the fork line stands at the fork step, with a dot on the parent\'s curve there', () => {
    // x runs from 64 (step 0) to 860 (step 100): step 50 is at 462.
    expect(svg).toMatch(/<line class="fork-line" x1="462" x2="462"/)
    expect(svg).toMatch(/<circle class="fork-point" cx="462" cy="[\d.]+"/)
  })

  it('styles differ for many runs: no two of the first 60 share colour, dash and marker', () => {
    const keys = Array.from({length: 60}, (_, i) => JSON.stringify(seriesStyle(i)))
    expect(new Set(keys).size).toBe(60)
  })

  it('nothing drawable: no chart', () => {
    expect(svgChart([{run_id: 'r1', label: 'r1', downsampled: false, non_finite: 1, points: [{step: 1, value: 'NaN'}]}], [], {title: 't'})).toBeNull()
  })
})
