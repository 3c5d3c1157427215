// `plot` through the built CLI, on real toy runs: a parent and its fork plotted together show
// both curves and the fork step, readable without colour; --json gives the series history gives;
// what cannot be plotted is refused before anything is drawn.
import {execFileSync} from 'node:child_process'
import {describe, expect, it} from 'vitest'
import {BIN, expectError} from '../helpers/cli.js'
import {type Sandbox, useSandboxes} from '../helpers/sandbox.js'

const sandbox = useSandboxes()

const ESC = '\u001B['
const [PARENT_GLYPH, CHILD_GLYPH, MARKER] = ['•', '+', '┆']

/** r1 (40 steps at lr 0.02) and r2, forked from it at step 20 with lr 0.1; both completed. */
async function parentAndFork(): Promise<Sandbox> {
  const sb = sandbox()
  const parent = await sb.launch({learning_rate: 0.02, max_steps: 40, save_every: 10, step_time_ms: 15})
  await sb.waitForSteps(parent.run_id, 21)
  const child = await sb.ok(['fork', parent.run_id, '--step', '20', '--set', 'learning_rate=0.1', '--reason', 'faster'])
  expect([parent.run_id, child.run_id]).toEqual(['r1', 'r2'])
  await Promise.all([sb.waitForExitCode('r1'), sb.waitForExitCode('r2')])
  return sb
}

/** The CLI on a pseudo-terminal (script(1)), as a person runs it; returns what it printed. */
function onTerminal(args: string[], env: Record<string, string> = {}): string {
  const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ')
  const terminal = {PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', TERM: 'xterm-256color'}
  return execFileSync('script', ['-qec', quoted, '/dev/null'], {env: {...terminal, ...env}, encoding: 'utf8'})
}

/** The chart's parts: plot rows, the x axis, where the plot area starts, the fork column. */
function parseChart(text: string) {
  const lines = text.split('\n')
  const axis = lines.find((l) => l.includes('└'))!
  const start = axis.indexOf('└') + 1
  const rows = lines.filter((l) => /^ *[-\d.e+]* [│┤]/.test(l))
  return {lines, axis, start, rows, plotWidth: axis.length - start, forkColumns: [...axis.slice(start)].flatMap((c, i) => (c === '┴' ? [i] : []))}
}

describe('plot', () => {
  it('shows a parent and its fork together, both curves and the fork step, readable without colour; --json is the series history gives', async () => {
    const sb = await parentAndFork()

    // Without colour (--no-color; and a pipe, which this is): no ANSI at all, the runs told apart by glyph.
    const plain = await sb.run(['plot', 'r1', 'r2', '--metric', 'reward', '--width', '80', '--height', '12', '--no-color'])
    expect(plain.exitCode, plain.stderr).toBe(0)
    expect(plain.stdout).not.toContain(ESC)
    const data = await sb.ok(['plot', 'r1', 'r2', '--metric', 'reward'])
    const chart = parseChart(plain.stdout)
    expect(chart.rows).toHaveLength(12)
    for (const row of chart.rows) expect(row.length).toBe(80)
    const cells = chart.rows.map((row) => [...row.slice(chart.start)])
    const columnsOf = (glyph: string) => cells.flatMap((row) => row.flatMap((c, i) => (c === glyph ? [i] : [])))
    // Both curves are drawn: one glyph per step column, roughly (the toy logs every step).
    expect(columnsOf(PARENT_GLYPH).length).toBeGreaterThanOrEqual(30)
    expect(columnsOf(CHILD_GLYPH).length).toBeGreaterThanOrEqual(15)
    expect(plain.stdout).toMatch(new RegExp(`^ +${PARENT_GLYPH} r1 \\(completed\\)$`, 'm'))
    expect(plain.stdout).toMatch(new RegExp(`^ +\\${CHILD_GLYPH} r2 \\(completed\\)$`, 'm'))
    // The fork step is marked: ┴ on the x axis at step 20's column, ┆ up that column, a legend line.
    const [first, last] = data.step_range
    const forkColumn = Math.round(((20 - first) / (last - first)) * (chart.plotWidth - 1))
    expect(chart.forkColumns).toEqual([forkColumn])
    expect(cells.filter((row) => row[forkColumn] === MARKER).length).toBeGreaterThanOrEqual(8)
    expect(plain.stdout).toMatch(/^ +┆ r2 forked from r1 at step 20$/m)
    // The child's curve starts after the fork, the parent's spans every step.
    expect(Math.min(...columnsOf(CHILD_GLYPH))).toBeGreaterThan(forkColumn)
    expect(Math.min(...columnsOf(PARENT_GLYPH))).toBeLessThan(forkColumn)
    // A step label under the axis, and the fork's.
    expect(chart.lines[chart.lines.indexOf(chart.axis) + 1]).toMatch(/\b20\b/)

    // On a terminal: colour, off with NO_COLOR (same glyphs either way).
    const args = ['plot', 'r1', 'r2', '--metric', 'reward', '--width', '80', '--store', sb.store]
    const coloured = onTerminal(args)
    expect(coloured).toContain(ESC)
    const noColour = onTerminal(args, {NO_COLOR: '1'})
    expect(noColour).not.toContain(ESC)
    expect(noColour).toContain(`${CHILD_GLYPH} r2 (completed)`)
    expect(noColour).toContain('┆ r2 forked from r1 at step 20')

    // --json: each run's points are exactly history's, the fork point named.
    expect(data).toMatchObject({metric: 'reward', log_y: false, bucket_steps: null, fork_points: [{run_id: 'r2', parent_run_id: 'r1', step: 20, parent_plotted: true}]})
    expect(data.runs.map((r: any) => [r.run_id, r.parent_run_id, r.fork_step, r.downsampled, r.asked])).toEqual([['r1', null, null, false, true], ['r2', 'r1', 20, false, true]])
    for (const run of data.runs) {
      const history = await sb.ok(['history', run.run_id, '--metric', 'reward'])
      expect(run.points).toEqual(history.points.map((p: any) => ({step: p.step, value: p.reward})))
      expect(run.total).toBe(history.total)
    }
    expect(data.runs[0].points.map((p: any) => p.step)).toEqual(Array.from({length: 40}, (_, i) => i + 1))
    expect(data.runs[1].points.map((p: any) => p.step)).toEqual(Array.from({length: 20}, (_, i) => i + 21))

    // Downsampled: both runs on one grid of buckets, each bucket the mean of history's points in it.
    const small = await sb.ok(['plot', 'r1', 'r2', '--metric', 'reward', '--max-points', '10'])
    expect(small.bucket_steps).toBe(4)
    for (const run of small.runs) {
      const history = (await sb.ok(['history', run.run_id, '--metric', 'reward'])).points
      expect(run.downsampled).toBe(true)
      expect(run.points.length).toBeLessThanOrEqual(10)
      for (const bucket of run.points) {
        expect((bucket.step - 1) % 4).toBe(0)
        const inside = history.filter((p: any) => p.step >= bucket.step && p.step < bucket.step + 4).map((p: any) => p.reward)
        expect(bucket.n).toBe(inside.length)
        expect(bucket.value).toBeCloseTo(inside.reduce((a: number, b: number) => a + b, 0) / inside.length, 10)
        expect([bucket.min, bucket.max]).toEqual([Math.min(...inside), Math.max(...inside)])
      }
      expect(run.points.reduce((n: number, b: any) => n + b.n, 0)).toBe(history.length)
    }

    // --from/--to; the same run twice is plotted once; --with-ancestors adds the parent.
    const ranged = await sb.ok(['plot', 'r1', 'r1', 'r2', '--metric', 'reward', '--from', '15', '--to', '25'])
    expect(ranged.runs.map((r: any) => r.run_id)).toEqual(['r1', 'r2'])
    expect(ranged.runs[0].points.map((p: any) => p.step)).toEqual([15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25])
    expect(ranged.step_range).toEqual([15, 25])
    const alone = await sb.ok(['plot', 'r2', '--metric', 'reward'])
    expect(alone.fork_points).toEqual([{run_id: 'r2', parent_run_id: 'r1', step: 20, parent_plotted: false}])
    const withAncestors = await sb.ok(['plot', 'r2', '--metric', 'reward', '--with-ancestors'])
    expect(withAncestors.runs.map((r: any) => [r.run_id, r.asked])).toEqual([['r1', false], ['r2', true]])
    expect(withAncestors.fork_points[0].parent_plotted).toBe(true)

    // --log-y: a positive metric is drawn on a log axis; a value ≤ 0 is refused, naming the run and its step.
    const entropy = await sb.run(['plot', 'r1', 'r2', '--metric', 'entropy', '--log-y', '--width', '60'])
    expect(entropy.exitCode, entropy.stderr).toBe(0)
    expect(entropy.stdout).toContain('entropy (log scale)')
    let expected: {run_id: string; step: number} | null = null
    for (const id of ['r1', 'r2']) {
      const bad = (await sb.ok(['history', id, '--metric', 'loss'])).points.find((p: any) => typeof p.loss === 'number' && p.loss <= 0)
      if (bad && expected === null) expected = {run_id: id, step: bad.step}
    }
    expect(expected, 'the toy logs a loss ≤ 0 somewhere (deterministic for its seed)').not.toBeNull()
    const refused = expectError(await sb.json(['plot', 'r1', 'r2', '--metric', 'loss', '--log-y']), 'INVALID_ARGUMENT', 2)
    expect(refused.details).toMatchObject({...expected!, metric: 'loss'})
    expect(refused.message).toContain(`run ${expected!.run_id} at step ${expected!.step}`)
  })

  it('refuses what it cannot plot, before drawing anything', async () => {
    const sb = sandbox()
    const run = await sb.launch({max_steps: 5, step_time_ms: 0})
    await sb.waitForExitCode(run.run_id)
    const unknownMetric = expectError(await sb.json(['plot', run.run_id, '--metric', 'rewrd']), 'METRIC_NOT_FOUND', 3)
    expect(unknownMetric.details.metrics).toEqual(expect.arrayContaining(['reward', 'loss', 'accuracy']))
    expect(unknownMetric.message).toContain('reward')
    expectError(await sb.json(['plot', 'r9', '--metric', 'reward']), 'RUN_NOT_FOUND', 3)
    expectError(await sb.json(['plot', run.run_id, 'r9', '--metric', 'reward']), 'RUN_NOT_FOUND', 3)
    const backwards = expectError(await sb.json(['plot', run.run_id, '--metric', 'reward', '--from', '4', '--to', '2']), 'INVALID_ARGUMENT', 2)
    expect(backwards.message).toContain('--from 4 is after --to 2')
    for (const [flag, value] of [['--width', '10'], ['--width', '1001'], ['--width', 'wide'], ['--height', '0'], ['--max-points', '5']]) {
      const error = expectError(await sb.json(['plot', run.run_id, '--metric', 'reward', flag, value]), 'INVALID_ARGUMENT', 2)
      expect(error.message).toContain(flag)
    }
    expectError(await sb.json(['plot', '--metric', 'reward']), 'INVALID_ARGUMENT', 2)
    // And the same run, asked right, is plotted.
    expect((await sb.ok(['plot', run.run_id, '--metric', 'reward'])).runs[0].points).toHaveLength(5)
  })
})
