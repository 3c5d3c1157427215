// The one gate for files autolab writes on request: real files, FIFOs, sockets and links.
import {execFileSync} from 'node:child_process'
import {chmodSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {mkdtempSync} from 'node:fs'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {checkOutputPath, writeFileAtomically} from '../../src/lib/safe-path.js'

let dir: string
let store: string
const check = (path: string, allowStdout = true) => checkOutputPath(path, {flag: '--output', storePath: store, allowStdout})
const refusal = (path: string, allowStdout = true) => {
  try {
    check(path, allowStdout)
  } catch (error) {
    return error as {code: string; message: string; suggestedAction: string}
  }
  throw new Error(`expected ${path} to be refused`)
}

beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'autolab-safe-path-')))
  mkdirSync(join(dir, 'store'))
  store = join(dir, 'store', 'autolab.db')
  for (const f of [store, `${store}-wal`, `${store}-shm`]) writeFileSync(f, 'precious')
})
afterEach(() => rmSync(dir, {recursive: true, force: true}))

describe('checkOutputPath', () => {
  it('accepts a new file and an existing regular file, as absolute paths', () => {
    expect(check(join(dir, 'new.json'))).toEqual({kind: 'file', path: join(dir, 'new.json')})
    writeFileSync(join(dir, 'old.json'), 'x')
    expect(check(join(dir, 'old.json'))).toEqual({kind: 'file', path: join(dir, 'old.json')})
  })

  it('- is stdout where allowed, refused elsewhere (never a file named "-")', () => {
    expect(check('-')).toEqual({kind: 'stdout'})
    expect(refusal('-', false).code).toBe('INVALID_ARGUMENT')
  })

  it.each(['', '-wal', '-shm', '-journal'])('refuses the store file%s, by any name', (suffix) => {
    const target = `${store}${suffix}`
    for (const name of [target, join(dir, 'store', '..', 'store', `autolab.db${suffix}`)]) {
      const error = refusal(name)
      expect(error.code).toBe('INVALID_ARGUMENT')
      expect(error.message).toMatch(/store/)
    }
  })

  it('refuses the store reached through a symlinked directory, and a hard link to it', () => {
    symlinkSync(join(dir, 'store'), join(dir, 'alias'))
    expect(refusal(join(dir, 'alias', 'autolab.db')).message).toMatch(/store/)
    linkSync(store, join(dir, 'second-name.db'))
    expect(refusal(join(dir, 'second-name.db')).message).toMatch(/store/)
  })

  it('refuses a symlink, even to a harmless file', () => {
    writeFileSync(join(dir, 'real.json'), 'x')
    symlinkSync(join(dir, 'real.json'), join(dir, 'link.json'))
    expect(refusal(join(dir, 'link.json'))).toMatchObject({code: 'INVALID_ARGUMENT', message: expect.stringMatching(/symbolic link/)})
    symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling.json'))
    expect(refusal(join(dir, 'dangling.json')).code).toBe('INVALID_ARGUMENT')
  })

  it('refuses a directory, or a path ending in /', () => {
    expect(refusal(dir)).toMatchObject({code: 'INVALID_ARGUMENT', message: expect.stringMatching(/directory/)})
    expect(refusal('.').code).toBe('INVALID_ARGUMENT')
    expect(refusal(join(dir, 'not-yet') + '/').code).toBe('INVALID_ARGUMENT')
    expect(existsSync(join(dir, 'not-yet'))).toBe(false)
  })

  it('refuses a FIFO, a socket and a device, saying what it is', async () => {
    execFileSync('mkfifo', [join(dir, 'fifo')])
    expect(refusal(join(dir, 'fifo'))).toMatchObject({code: 'INVALID_ARGUMENT', message: expect.stringMatching(/FIFO/)})
    const server: Server = createServer()
    await new Promise<void>((resolve) => server.listen(join(dir, 'sock'), resolve))
    try {
      expect(refusal(join(dir, 'sock'))).toMatchObject({code: 'INVALID_ARGUMENT', message: expect.stringMatching(/socket/)})
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
    expect(refusal('/dev/null')).toMatchObject({code: 'INVALID_ARGUMENT', message: expect.stringMatching(/device/)})
  })

  it('a name too long for the filesystem is INVALID_ARGUMENT, not an internal error', () => {
    expect(refusal(join(dir, 'x'.repeat(300)))).toMatchObject({code: 'INVALID_ARGUMENT', message: expect.stringContaining('too long')})
  })

  it('a missing parent is FILE_NOT_FOUND naming the parent; a file as parent is INVALID_ARGUMENT', () => {
    const error = refusal(join(dir, 'no', 'such', 'x.json'))
    expect(error.code).toBe('FILE_NOT_FOUND')
    expect(error.message).toContain(join(dir, 'no', 'such'))
    writeFileSync(join(dir, 'plain'), 'x')
    expect(refusal(join(dir, 'plain', 'x.json')).code).toBe('INVALID_ARGUMENT')
  })
})

describe('writeFileAtomically', () => {
  const leftovers = () => readdirSync(dir).filter((f) => f.endsWith('.tmp'))

  it('streams chunks into the file and leaves no temp file', async () => {
    const target = join(dir, 'out.json')
    await writeFileAtomically(target, (write) => {
      for (let i = 0; i < 1000; i++) write(`${i},`)
    })
    expect(readFileSync(target, 'utf8')).toBe(Array.from({length: 1000}, (_, i) => `${i},`).join(''))
    expect(leftovers()).toEqual([])
  })

  it('replaces an existing file, keeping its mode', async () => {
    const target = join(dir, 'out.json')
    writeFileSync(target, 'old')
    chmodSync(target, 0o640)
    await writeFileAtomically(target, (write) => write('new'))
    expect(readFileSync(target, 'utf8')).toBe('new')
    expect(statSync(target).mode & 0o777).toBe(0o640)
  })

  it('a failure half way leaves the old file whole and no temp file', async () => {
    const target = join(dir, 'out.json')
    writeFileSync(target, 'old')
    await expect(writeFileAtomically(target, (write) => {
      write('partial')
      throw new Error('boom')
    })).rejects.toThrow('boom')
    expect(readFileSync(target, 'utf8')).toBe('old')
    expect(leftovers()).toEqual([])
  })

  it('a symlink planted at the target after the check is replaced, never written through', async () => {
    const target = join(dir, 'out.json')
    check(target)
    writeFileSync(join(dir, 'victim'), 'untouched')
    symlinkSync(join(dir, 'victim'), target)
    await writeFileAtomically(target, (write) => write('export'))
    expect(readFileSync(join(dir, 'victim'), 'utf8')).toBe('untouched')
    expect(readFileSync(target, 'utf8')).toBe('export')
  })
})
