// Files written on request (export --output, report --out, init's project file), through the built CLI: the
// store, symlinks, directories, FIFOs and missing parents are refused with a clear error, and
// nothing is left half written.
import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {expectError, expectOk} from '../helpers/cli.js'
import {useSandboxes} from '../helpers/sandbox.js'

const sandbox = useSandboxes()

/** A store with something worth losing: a campaign besides the default one. */
async function storeWithCampaign() {
  const sb = sandbox()
  await sb.ok(['campaign', 'create', 'precious', '--reason', 'setup'])
  const stillThere = async () => (await sb.ok(['campaign', 'list'])).campaigns.map((c: any) => c.name)
  return {sb, stillThere}
}

describe('export --output', () => {
  it.each(['', '-wal', '-shm'])('refuses the store file%s (INVALID_ARGUMENT, exit 2) and the store survives', async (suffix) => {
    const {sb, stillThere} = await storeWithCampaign()
    // The sidecars exist only while a connection is open: name them anyway.
    const error = expectError(await sb.json(['export', '--output', `${sb.store}${suffix}`]), 'INVALID_ARGUMENT', 2)
    expect(error.message).toMatch(/store/)
    expect(await stillThere()).toContain('precious')
  })

  it('refuses the store given by a relative path from the store directory', async () => {
    const {sb, stillThere} = await storeWithCampaign()
    expectError(await sb.json(['export', '--output', './autolab.db']), 'INVALID_ARGUMENT', 2)
    expect(await stillThere()).toContain('precious')
  })

  it('refuses a symlink and leaves its target untouched', async () => {
    const sb = sandbox()
    writeFileSync(join(sb.dir, 'victim.txt'), 'untouched')
    symlinkSync(join(sb.dir, 'victim.txt'), join(sb.dir, 'link.json'))
    const error = expectError(await sb.json(['export', '--output', 'link.json']), 'INVALID_ARGUMENT', 2)
    expect(error.message).toMatch(/symbolic link/)
    expect(readFileSync(join(sb.dir, 'victim.txt'), 'utf8')).toBe('untouched')
  })

  it('refuses a directory (exit 2) and a FIFO (exit 2, without blocking on it)', async () => {
    const sb = sandbox()
    mkdirSync(join(sb.dir, 'out'))
    expectError(await sb.json(['export', '--output', 'out']), 'INVALID_ARGUMENT', 2)
    execFileSync('mkfifo', [join(sb.dir, 'pipe')])
    const fifo = await sb.json(['export', '--output', 'pipe'], {timeoutMs: 15_000})
    expect(expectError(fifo, 'INVALID_ARGUMENT', 2).message).toMatch(/FIFO/)
  })

  it('a missing parent directory is FILE_NOT_FOUND (exit 3) naming it', async () => {
    const sb = sandbox()
    const error = expectError(await sb.json(['export', '--output', 'no/such/dir/x.json']), 'FILE_NOT_FOUND', 3)
    expect(error.message).toContain(join(sb.dir, 'no', 'such', 'dir'))
  })

  it('- means stdout: the document is the envelope data, and no file named "-" appears', async () => {
    const sb = sandbox()
    const data = await sb.ok(['export', '--output', '-'])
    expect(data.format).toBe('autolab-export/1')
    expect(existsSync(join(sb.dir, '-'))).toBe(false)
  })

  it('writes the file whole, replacing an old one, with no temp file left', async () => {
    const sb = sandbox()
    writeFileSync(join(sb.dir, 'campaign.json'), 'old')
    const data = await sb.ok(['export', '--output', 'campaign.json'])
    expect(data.file).toBe(join(sb.dir, 'campaign.json'))
    expect(JSON.parse(readFileSync(join(sb.dir, 'campaign.json'), 'utf8')).format).toBe('autolab-export/1')
    expect(readdirSync(sb.dir).filter((f) => f.endsWith('.tmp'))).toEqual([])
  })
})

describe('init --project', () => {
  it('refuses a directory, with or without --force (INVALID_ARGUMENT, exit 2)', async () => {
    const sb = sandbox()
    expectError(await sb.json(['init', '--project', '.']), 'INVALID_ARGUMENT', 2)
    expectError(await sb.json(['init', '--project', '.', '--force']), 'INVALID_ARGUMENT', 2)
    mkdirSync(join(sb.dir, 'proj'))
    expectError(await sb.json(['init', '--project', 'proj', '--force']), 'INVALID_ARGUMENT', 2)
    expect(readdirSync(join(sb.dir, 'proj'))).toEqual([])
  })

  it('refuses - (init writes a file, not stdout) and creates no store', async () => {
    const sb = sandbox()
    expectError(await sb.json(['init', '--project', '-']), 'INVALID_ARGUMENT', 2)
    expect(existsSync(sb.store), 'a refused init creates no store').toBe(false)
    expect(existsSync(join(sb.dir, '-'))).toBe(false)
  })

  it('a missing parent is FILE_NOT_FOUND (exit 3) and creates no store', async () => {
    const sb = sandbox()
    expectError(await sb.json(['init', '--project', 'missing/autolab.yaml']), 'FILE_NOT_FOUND', 3)
    expect(existsSync(sb.store)).toBe(false)
  })

  it('refuses the store file itself with --force, and the store survives', async () => {
    const {sb, stillThere} = await storeWithCampaign()
    expectError(await sb.json(['init', '--project', sb.store, '--force']), 'INVALID_ARGUMENT', 2)
    expect(await stillThere()).toContain('precious')
  })

  it('--force refuses a symlinked project file (its target untouched) and rewrites a regular one', async () => {
    const sb = sandbox()
    writeFileSync(join(sb.dir, 'shared.yaml'), 'untouched')
    symlinkSync(join(sb.dir, 'shared.yaml'), join(sb.dir, 'autolab.yaml'))
    // Without --force an existing project (even through a link) is kept, as before.
    expect((await sb.ok(['init'])).project_written).toBe(false)
    expectError(await sb.json(['init', '--force']), 'INVALID_ARGUMENT', 2)
    expect(readFileSync(join(sb.dir, 'shared.yaml'), 'utf8')).toBe('untouched')
    writeFileSync(join(sb.dir, 'other.yaml'), 'old')
    expect(expectOk(await sb.json(['init', '--project', 'other.yaml', '--force'])).project_written).toBe(true)
    expect(readFileSync(join(sb.dir, 'other.yaml'), 'utf8')).toMatch(/recipes:/)
  })
})

describe('report --out', () => {
  it('is required, never stdout; refuses the store, a symlink, a directory; a missing directory is FILE_NOT_FOUND; nothing is written', async () => {
    const {sb, stillThere} = await storeWithCampaign()
    // The store's own files (a -wal may come and go) aside, what the directory holds.
    const listing = () => readdirSync(sb.dir).filter((f) => !f.startsWith('autolab.db')).sort()
    const before = listing()
    expect(expectError(await sb.json(['report']), 'INVALID_ARGUMENT', 2).suggested_action).toContain('--out report.html')
    expectError(await sb.json(['report', '--out', '-']), 'INVALID_ARGUMENT', 2)
    for (const suffix of ['', '-wal']) expect(expectError(await sb.json(['report', '--out', `${sb.store}${suffix}`]), 'INVALID_ARGUMENT', 2).message).toMatch(/store/)
    writeFileSync(join(sb.dir, 'victim.txt'), 'untouched')
    symlinkSync(join(sb.dir, 'victim.txt'), join(sb.dir, 'link.html'))
    expect(expectError(await sb.json(['report', '--out', 'link.html']), 'INVALID_ARGUMENT', 2).message).toMatch(/symbolic link/)
    expect(readFileSync(join(sb.dir, 'victim.txt'), 'utf8')).toBe('untouched')
    mkdirSync(join(sb.dir, 'out'))
    expectError(await sb.json(['report', '--out', 'out']), 'INVALID_ARGUMENT', 2)
    expect(expectError(await sb.json(['report', '--out', 'no/such/x.html']), 'FILE_NOT_FOUND', 3).message).toContain(join(sb.dir, 'no', 'such'))
    // An unknown campaign is refused before anything is written.
    expectError(await sb.json(['report', '--campaign', 'nope', '--out', 'r.html']), 'CAMPAIGN_NOT_FOUND', 3)
    expect(listing()).toEqual([...before, 'link.html', 'out', 'victim.txt'].sort())
    expect(await stillThere()).toContain('precious')
  })

  it('writes a campaign without runs as a whole page with no chart, replacing an old file, no temp file left', async () => {
    const {sb} = await storeWithCampaign()
    writeFileSync(join(sb.dir, 'report.html'), 'old')
    const data = await sb.ok(['report', '--campaign', 'precious', '--out', 'report.html'])
    expect(data).toMatchObject({path: join(sb.dir, 'report.html'), campaign: 'precious', runs: 0, charts: 0, metrics: [], evals: 0})
    const page = readFileSync(join(sb.dir, 'report.html'), 'utf8')
    expect(Buffer.byteLength(page)).toBe(data.bytes)
    expect(page.startsWith('<!doctype html>')).toBe(true)
    expect(page.trimEnd().endsWith('</html>')).toBe(true)
    expect(page).toContain('No run has logged a metric yet.')
    expect(readdirSync(sb.dir).filter((f) => f.endsWith('.tmp'))).toEqual([])
  })
})
