// The report as one self-contained HTML page: inline CSS, inline SVG, no script, nothing fetched
// (a Content-Security-Policy of default-src 'none' says so to the browser as well). Every value
// from the store goes through the `html` tag, which escapes it.
import type {EventView} from '../events.js'
import type {TreeNode} from '../runs/tree.js'
import type {JsonNumber} from '../telemetry/values.js'
import {REPORT_POINTS, type ReportChart, type ReportModel} from './data.js'
import {type Html, html, joinHtml} from './html.js'
import {svgChart, swatch} from './svg-chart.js'

// Static text of a template (never an interpolated value): CSS is not HTML, and escaping would break its quotes.
const STYLE = html`<style>
:root { color-scheme: light; --fg: #1d232b; --muted: #5c6670; --line: #d9dee3; --bg-alt: #f5f7f9; --accent: #2b6cb0; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); margin: 0 auto; max-width: 1100px; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 32px 0 10px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.meta, .muted { color: var(--muted); } code, .mono { font-family: ui-monospace, "SF Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 12px 0; } dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; white-space: pre-wrap; }
.winner { background: #fff8e1; border: 1px solid #f0d78c; border-radius: 6px; padding: 10px 14px; margin: 12px 0; }
figure.chart-figure { margin: 0 0 28px; } figure.chart-figure figcaption { font-weight: 600; margin-bottom: 6px; }
svg.chart { max-width: 100%; height: auto; background: #fff; border: 1px solid var(--line); border-radius: 4px; }
svg.chart .grid line, svg.chart line.grid { stroke: #eceff2; } svg.chart .axis { stroke: #8a949e; }
svg.chart .tick, svg.chart .axis-label, svg.chart .fork-label { font: 11px system-ui, sans-serif; fill: var(--muted); }
svg.chart path.series { fill: none; stroke-width: 1.8; stroke-linejoin: round; } svg.chart path.band { opacity: 0.15; stroke: none; }
svg.chart .fork-line { stroke-dasharray: 4 3; stroke-width: 1.2; opacity: 0.8; } svg.chart .fork-point { fill: #fff; stroke-width: 2; }
ul.legend { list-style: none; padding: 0; margin: 6px 0 0; display: flex; flex-wrap: wrap; gap: 4px 18px; } ul.legend li { display: flex; align-items: center; gap: 6px; }
ul.notes { margin: 4px 0 0; padding-left: 18px; color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: 8px 0; } th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--bg-alt); font-weight: 600; } td.num { text-align: right; font-variant-numeric: tabular-nums; } tr.is-winner td { background: #fff8e1; }
td.details { max-width: 360px; overflow-wrap: anywhere; } td.reason { white-space: pre-wrap; overflow-wrap: anywhere; }
ul.tree, ul.tree ul { list-style: none; margin: 0; padding-left: 20px; } ul.tree { padding-left: 0; } ul.tree li { margin: 2px 0; }
ul.tree ul { border-left: 1px dashed var(--line); } .status { border-radius: 3px; padding: 0 5px; font-size: 12px; background: var(--bg-alt); }
.status-running, .status-starting { background: #e3f5e1; } .status-failed, .status-lost { background: #fde2e1; } .status-killed { background: #f3e5f5; } .status-completed { background: #e3ecf9; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
</style>`

/** A metric value for a table: numbers shortened, non-finite strings as they are, null as a dash. */
function value(v: JsonNumber | number | null | undefined): string {
  if (v === null || v === undefined) return '–'
  if (typeof v === 'string') return v
  if (Number.isInteger(v)) return String(v)
  const abs = Math.abs(v)
  return abs !== 0 && (abs < 1e-3 || abs >= 1e6) ? v.toExponential(3) : String(Number(v.toPrecision(5)))
}

function hours(gpuSeconds: number | null): string {
  return gpuSeconds === null ? '–' : `${(gpuSeconds / 3600).toFixed(gpuSeconds < 36 ? 4 : 2)} GPU-h`
}

const status = (s: string) => html`<span class="status status-${s}">${s}</span>`
const runLabel = (run: {run_id: string; name: string | null}) => (run.name ? `${run.run_id} ${run.name}` : run.run_id)

function summarySection(model: ReportModel): Html {
  const c = model.campaign
  const b = c.budget
  const winner = c.winner_run_id === null ? null : model.runs.find((r) => r.run_id === c.winner_run_id)
  const counts = Object.entries(c.runs).map(([s, n]) => `${n} ${s}`).join(', ') || 'no runs'
  return html`<section id="summary"><h2>Campaign</h2>
<dl class="facts">
<dt>Goal</dt><dd>${c.goal ?? '–'}</dd>
<dt>Success criterion</dt><dd>${c.criterion ?? '–'}</dd>
<dt>Status</dt><dd>${c.status}</dd>
<dt>Budget</dt><dd>${b.budget_gpu_seconds === null ? 'none' : hours(b.budget_gpu_seconds)}; spent ${hours(b.spent_gpu_seconds)}${b.left_gpu_seconds === null ? '' : `, ${hours(b.left_gpu_seconds)} left`}${b.exhausted ? ' (exhausted)' : ''}</dd>
<dt>Deadline</dt><dd>${b.deadline ?? 'none'}${b.deadline_passed ? ' (passed)' : ''}</dd>
<dt>Runs</dt><dd>${model.runs.length} (${counts})</dd>
</dl>
${c.winner_run_id === null ? html`<p class="muted">No winner declared${c.status === 'finalized' ? '' : ' yet (the campaign is still open)'}.</p>` : html`<div class="winner"><strong>Winner: ${winner ? runLabel(winner) : c.winner_run_id}</strong>${c.summary ? html`<div class="reason">${c.summary}</div>` : ''}</div>`}
${c.winner_run_id === null && c.summary ? html`<p>${c.summary}</p>` : ''}
</section>`
}

function chartFigure(chart: ReportChart, model: ReportModel, index: number): Html | null {
  const position = new Map(model.runs.map((r, i) => [r.run_id, i]))
  const runs = new Map(model.runs.map((r) => [r.run_id, r]))
  const label = (runId: string) => {
    const run = runs.get(runId)!
    return `${runLabel(run)} (${run.status}${run.parent_run_id ? `, forked from ${run.parent_run_id} at step ${run.fork_step}` : ''})`
  }
  const series = chart.series.map((s) => ({...s, label: label(s.run_id)}))
  const svg = svgChart(series, chart.fork_points, {title: `${chart.metric} by step`, styleIndex: (id) => position.get(id) ?? 0})
  if (svg === null) return null
  const legend = chart.series.map((s) => html`<li data-run="${s.run_id}">${swatch(position.get(s.run_id) ?? 0)}<span>${label(s.run_id)}${s.total === 0 ? html` <span class="muted">(no ${chart.metric})</span>` : ''}</span></li>`)
  const notes = [
    ...chart.series.filter((s) => s.non_finite > 0).map((s) => `${s.run_id}: ${s.non_finite} NaN/Infinity value${s.non_finite === 1 ? '' : 's'} not drawn (the first at step ${s.first_non_finite_step}); the curve breaks there.`),
    ...downsampledNote(chart),
    ...chart.fork_points.map((f) => `${f.run_id} forked from ${f.parent_run_id} at step ${f.step} (dashed line; the dot is on the parent's curve).`),
  ]
  return html`<figure class="chart-figure" id="chart-${index}" data-metric="${chart.metric}">
<figcaption>${chart.metric}${chart.goal ? ` (goal: ${chart.goal === 'max' ? 'higher is better' : 'lower is better'})` : ''}</figcaption>
${svg}
<ul class="legend">${legend}</ul>
${notes.length ? html`<ul class="notes">${notes.map((n) => html`<li>${n}</li>`)}</ul>` : ''}
</figure>`
}

/** One line for every downsampled run of a chart (a campaign of 50 long runs needs no 50 lines saying so). */
function downsampledNote(chart: ReportChart): string[] {
  const runs = chart.series.filter((s) => s.downsampled)
  if (runs.length === 0) return []
  const total = runs.reduce((sum, s) => sum + s.total, 0)
  return [`${runs.map((s) => s.run_id).join(', ')}: ${total} points in all, drawn as means of buckets of ${chart.bucket_steps} steps (at most ${REPORT_POINTS} per run); the band spans each bucket's min to max.`]
}

function treeList(nodes: readonly TreeNode[], metric: string, winner: string | null): Html {
  const item = (n: TreeNode): Html => html`<li data-run="${n.run_id}">${n.run_id === winner ? '★ ' : ''}<strong>${n.run_id}</strong>${n.name ? ` ${n.name}` : ''} ${status(n.status)}${n.fork_step === null ? '' : html` <span class="muted">from step ${n.fork_step}</span>`} <span class="muted">· step ${n.step ?? '–'} · ${metric} ${value(n.metric)}</span>${n.children.length ? treeList(n.children, metric, winner) : ''}</li>`
  return html`<ul class="tree">${nodes.map(item)}</ul>`
}

function runsTable(model: ReportModel): Html {
  const rows = model.runs.map((r) => html`<tr class="${r.run_id === model.campaign.winner_run_id ? 'is-winner' : ''}"><td class="mono">${r.run_id}</td><td>${r.name ?? ''}</td><td>${status(r.status)}</td><td class="mono">${r.parent_run_id ? `${r.parent_run_id} @ ${r.fork_step}` : ''}</td><td class="num">${r.step ?? '–'}</td><td>${r.recipe}</td><td>${r.host}</td><td class="num">${hours(r.gpu_seconds)}</td><td class="mono">${r.created_at}</td><td class="mono">${r.ended_at ?? ''}</td></tr>`)
  return html`<table><thead><tr><th>run</th><th>name</th><th>status</th><th>forked from</th><th>step</th><th>recipe</th><th>host</th><th>compute</th><th>created</th><th>ended</th></tr></thead><tbody>${rows}</tbody></table>`
}

function evalsTable(model: ReportModel): Html {
  if (model.evals.length === 0) return html`<p class="muted">No evals.</p>`
  const rows = model.evals.map((e) => html`<tr><td class="mono">${e.eval_id}</td><td class="mono">${e.run_id}</td><td>${e.suite}</td><td class="num">${e.checkpoint_step}</td><td>${status(e.status)}</td><td class="num">${value(e.score)}</td><td class="details mono">${e.metrics ? JSON.stringify(e.metrics) : ''}${e.error ? ` ${e.error}` : ''}</td></tr>`)
  return html`<table><thead><tr><th>eval</th><th>run</th><th>suite</th><th>checkpoint</th><th>status</th><th>score</th><th>metrics</th></tr></thead><tbody>${rows}</tbody></table>`
}

/** A note's or a message's text is its reason; other actions give theirs with --reason. */
function eventReason(e: EventView): string {
  const text = (e.kind === 'note' || e.kind === 'message') && typeof (e.args as {text?: unknown})?.text === 'string' ? (e.args as {text: string}).text : null
  return e.reason ?? text ?? ''
}

/** What an event did, in a line: its arguments as compact JSON, shortened (a note's text is its reason already). */
function eventDetails(e: EventView): string {
  if (e.kind === 'note' || e.kind === 'message') return ''
  const text = e.args === null ? '' : JSON.stringify(e.args)
  return text.length > 400 ? `${text.slice(0, 400)}…` : text
}

function decisionsTable(model: ReportModel): Html {
  if (model.decisions.length === 0) return html`<p class="muted">No decisions recorded.</p>`
  const rows = model.decisions.map((e) => html`<tr data-kind="${e.kind}"><td class="mono">${e.time}</td><td>${e.actor}</td><td>${e.kind}</td><td class="mono">${e.run_id ?? ''}</td><td class="reason">${eventReason(e)}</td><td class="details mono">${eventDetails(e)}</td></tr>`)
  return html`${model.decisions_truncated ? html`<p class="muted">Only the newest ${model.decisions.length} decisions are listed (\`autolab log --decisions\` has them all).</p>` : ''}<table><thead><tr><th>time</th><th>actor</th><th>action</th><th>run</th><th>reason</th><th>details</th></tr></thead><tbody>${rows}</tbody></table>`
}

/** The whole page, and how many charts it drew. */
export function renderReport(model: ReportModel): {html: string; charts: number} {
  const figures = model.charts.map((chart, i) => chartFigure(chart, model, i)).filter((f): f is Html => f !== null)
  const c = model.campaign
  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>autolab report: ${c.name}</title>
${STYLE}
</head>
<body>
<header><h1>Campaign ${c.name}</h1><p class="meta">Report generated ${model.generated_at} · created ${c.created_at} · ${c.status}</p></header>
${summarySection(model)}
<section id="charts"><h2>Curves</h2>
${figures.length ? joinHtml(figures, '\n') : html`<p class="muted">No run has logged a metric yet.</p>`}
${model.metrics_without_data.length ? html`<p class="muted">Not logged by any run yet: ${model.metrics_without_data.join(', ')}.</p>` : ''}
</section>
<section id="tree"><h2>Experiment tree</h2>
${model.tree.roots.length ? treeList(model.tree.roots, model.tree.metric, c.winner_run_id) : html`<p class="muted">No runs.</p>`}
</section>
<section id="runs"><h2>Runs</h2>${runsTable(model)}</section>
<section id="evals"><h2>Evals</h2>${evalsTable(model)}</section>
<section id="decisions"><h2>Decision log</h2>${decisionsTable(model)}</section>
<footer>autolab report · campaign ${c.campaign_id} · self-contained: no scripts, nothing loaded from the network.</footer>
</body>
</html>
`
  return {html: page.toString(), charts: figures.length}
}
