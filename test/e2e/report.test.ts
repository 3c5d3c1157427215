// `report` on a real campaign (toy runs: a parent, a fork with an override, a kill, a note, an
// eval, a finalize with a winner), opened in headless Chromium over the DevTools protocol: every
// chart the command counted is drawn with non-empty curves and the fork marked, the page reports
// no error, runs no script (the hostile names and reasons are text), and a screenshot is kept in
// test-artifacts/report.png.
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'
import {beforeAll, describe, expect, it} from 'vitest'
import {waitFor} from '../helpers/cli.js'
import {CHROMIUM, Chromium, chromiumAvailable} from '../helpers/chromium.js'
import {liveProcessGroupMembers} from '../helpers/processes.js'
import {useSandboxes} from '../helpers/sandbox.js'

const sandbox = useSandboxes()
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url))

const GOAL = 'reward above 0.5 <b>fast</b> & "cheap"'
const FORK_REASON = '<script>window.__pwned = 1</script> plateau & "quotes" \'single\''
const NOTE = '<img src=x onerror="window.__pwned = 2"> the fork looks better & faster'
const SUMMARY = 'r2 wins: lr 0.1 </div><script>window.__pwned = 3</script>'

interface ChartView {
  metric: string
  width: number
  height: number
  series: {run: string; points: number; width: number; height: number; length: number}[]
  forks: {run: string; step: number; x: number}[]
  xTicks: {step: number; x: number}[]
}

/** What the page shows, measured by the browser's own layout (getBBox, getBoundingClientRect). */
const INSPECT = `(() => {
  const charts = [...document.querySelectorAll('svg.chart')].map((svg) => {
    const box = svg.getBoundingClientRect()
    return {
      metric: svg.closest('figure').dataset.metric, width: box.width, height: box.height,
      series: [...svg.querySelectorAll('path.series')].map((p) => {
        const b = p.getBBox()
        return {run: p.dataset.run, points: Number(p.dataset.points), width: b.width, height: b.height, length: p.getTotalLength()}
      }),
      forks: [...svg.querySelectorAll('g.fork')].map((g) => ({run: g.dataset.run, step: Number(g.dataset.step), x: Number(g.querySelector('line.fork-line').getAttribute('x1'))})),
      xTicks: [...svg.querySelectorAll('.x-ticks text')].map((t) => ({step: Number(t.textContent), x: Number(t.getAttribute('x'))})),
    }
  })
  return {charts, scripts: document.scripts.length, pwned: window.__pwned ?? null, text: document.body.innerText}
})()`

describe('report in a browser', () => {
  beforeAll(() => {
    if (!chromiumAvailable()) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (.ci/run does), or set CHROMIUM to a Chromium binary.`)
  })

  it('renders in headless Chromium with every chart drawn, no error, no script run, and a screenshot kept', async () => {
    const sb = sandbox()
    await sb.ok(['campaign', 'create', 'sweep', '--goal', GOAL, '--criterion', 'reward > 0.5 within 1 GPU-hour', '--budget-gpu-hours', '1', '--reason', 'start'])
    const parent = await sb.launch({learning_rate: 0.02, max_steps: 2000, save_every: 10, step_time_ms: 15}, ['--name', 'base', '--reason', 'baseline'])
    await sb.waitForSteps(parent.run_id, 21)
    const child = await sb.ok(['fork', parent.run_id, '--step', '20', '--set', 'learning_rate=0.1', '--set', 'max_steps=60', '--name', 'fast', '--reason', FORK_REASON])
    await sb.ok(['note', '--run', child.run_id, NOTE])
    expect(await sb.waitForExitCode(child.run_id)).toBe(0)
    const ev = await sb.ok(['eval', child.run_id, '--suite', 'heldout', '--n', '20', '--reason', 'is it real?'])
    await waitFor(async () => (await sb.ok(['eval', 'show', ev.eval_id])).status === 'completed', {timeoutMs: 30_000, message: `eval ${ev.eval_id} completed`})
    await sb.ok(['kill', parent.run_id, '--grace', '0', '--reason', 'the child is ahead'])
    await sb.ok(['campaign', 'finalize', 'sweep', '--winner', child.run_id, '--summary', SUMMARY])

    const data = await sb.ok(['report', '--out', 'report.html'])
    const file = join(sb.dir, 'report.html')
    expect(data).toMatchObject({path: file, campaign: 'sweep', runs: 2, charts: 3, metrics: ['reward', 'accuracy', 'loss'], evals: 1, downsampled_runs: []})
    const source = readFileSync(file, 'utf8')
    expect(Buffer.byteLength(source)).toBe(data.bytes)
    expect(data.decisions).toBeGreaterThanOrEqual(6)

    const browser = await Chromium.launch()
    const pgid = browser.pid
    let left: string[] = []
    try {
      const page = await browser.openPage(pathToFileURL(file).href)
      const view = await page.evaluate<{charts: ChartView[]; scripts: number; pwned: number | null; text: string}>(INSPECT)

      // (a) Every chart the command counted is drawn: a box on the page, a non-empty curve per run, the fork at step 20.
      expect(view.charts.map((c) => c.metric)).toEqual(data.metrics)
      expect(view.charts).toHaveLength(data.charts)
      for (const chart of view.charts) {
        expect(chart.width, chart.metric).toBeGreaterThan(300)
        expect(chart.height, chart.metric).toBeGreaterThan(100)
        expect(chart.series.map((s) => s.run), chart.metric).toEqual([parent.run_id, child.run_id])
        for (const s of chart.series) {
          expect(s.points, `${chart.metric} ${s.run}`).toBeGreaterThanOrEqual(2)
          expect(s.width, `${chart.metric} ${s.run} bbox width`).toBeGreaterThan(10)
          expect(s.length, `${chart.metric} ${s.run} path length`).toBeGreaterThan(10)
        }
        expect(chart.series.some((s) => s.height > 0), `${chart.metric}: some curve rises or falls`).toBe(true)
        expect(chart.forks.map((f) => [f.run, f.step])).toEqual([[child.run_id, 20]])
        // The fork line stands where step 20 is on the chart's own x axis (interpolated between two ticks).
        const [a, b] = [chart.xTicks[0], chart.xTicks.at(-1)!]
        expect(chart.forks[0].x).toBeCloseTo(a.x + ((20 - a.step) * (b.x - a.x)) / (b.step - a.step), 0)
      }
      // (b) No console error, uncaught exception or error log entry (a blocked load would be one).
      expect(page.errors()).toEqual([])
      // Hostile text stays text: no script ran, none is on the page, and the words are shown as written.
      expect(view.scripts).toBe(0)
      expect(view.pwned).toBeNull()
      for (const text of [GOAL, FORK_REASON, NOTE, SUMMARY, 'the child is ahead']) expect(view.text).toContain(text)
      expect(view.text).toContain(`Winner: ${child.run_id} fast`)

      // (c) A screenshot, kept as an artifact.
      const png = await page.screenshot()
      expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
      expect(png.length).toBeGreaterThan(20_000)
      mkdirSync(ARTIFACTS, {recursive: true})
      writeFileSync(join(ARTIFACTS, 'report.png'), png)
    } finally {
      left = await browser.close()
    }
    // No Chromium process outlives the test.
    expect(left, 'Chromium processes left after close').toEqual([])
    expect(liveProcessGroupMembers(pgid)).toEqual([])
  })
})
