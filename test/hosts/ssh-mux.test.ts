// Sharing one SSH connection between commands (ssh-mux.ts): the first command connects itself
// and leaves a mux behind; later ones run their scripts through it without a connection of their
// own; the mux exits when idle or when its connection drops; AUTOLAB_SSH_PERSIST=0 shares nothing.
import {existsSync, writeFileSync} from 'node:fs'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {connectShell, muxSocketPath} from '../../src/lib/hosts/ssh-mux.js'
import {resolveSshTarget} from '../../src/lib/hosts/ssh-target.js'
import {assertBuilt, waitFor} from '../helpers/cli.js'
import {type SshClientSide, type Sshd, sshClient} from '../helpers/sshd.js'

let client: SshClientSide
let server: Sshd
const saved = {persist: process.env.AUTOLAB_SSH_PERSIST}

beforeAll(async () => {
  assertBuilt() // the mux runs from dist/
  client = sshClient()
  server = await client.addServer('mux')
})
afterEach(() => {
  if (saved.persist === undefined) delete process.env.AUTOLAB_SSH_PERSIST
  else process.env.AUTOLAB_SSH_PERSIST = saved.persist
})
afterAll(async () => client?.cleanup())

const target = () => resolveSshTarget('mux', {configFile: client.configFile})

describe('a shared SSH connection', () => {
  it('the first command connects and leaves a mux; the next ones use it without connecting; it exits when idle', async () => {
    // Idle for 5 s, the mux exits: long enough that a loaded machine's pause between two commands
    // here does not end it (2 s did, and the next command then rightly opened a connection of its own).
    process.env.AUTOLAB_SSH_PERSIST = '5'
    const socket = muxSocketPath(target(), null)!
    const before = server.acceptedConnections()
    const first = await connectShell(target(), {pinnedKey: null, hostId: 'mux'})
    expect((await first.exec('echo first')).stdout.toString()).toBe('first\n')
    first.close()
    await waitFor(() => existsSync(socket), {message: 'the mux socket'})
    const withMux = server.acceptedConnections()
    expect(withMux).toBe(before + 2) // the command's own, and the mux's
    for (let i = 0; i < 5; i++) {
      const shell = await connectShell(target(), {pinnedKey: null, hostId: 'mux'})
      const result = await shell.exec(`echo "$((${i} * 2))"; echo err >&2; exit 3`)
      expect(result).toMatchObject({code: 3, stderr: 'err\n'})
      expect(result.stdout.toString()).toBe(`${i * 2}\n`)
      shell.close()
    }
    // Concurrent scripts through one mux.
    const shells = await Promise.all(Array.from({length: 8}, () => connectShell(target(), {pinnedKey: null, hostId: 'mux'})))
    const answers = await Promise.all(shells.map((s, i) => s.exec(`echo ${i}`)))
    expect(answers.map((a) => a.stdout.toString())).toEqual(Array.from({length: 8}, (_, i) => `${i}\n`))
    for (const s of shells) s.close()
    expect(server.acceptedConnections()).toBe(withMux)
    // Idle for 5 s: the mux exits and removes its socket.
    await waitFor(() => !existsSync(socket), {timeoutMs: 30_000, message: 'the idle mux to exit'})
  })

  it('a stale socket is replaced; another pinned key is another mux; AUTOLAB_SSH_PERSIST=0 shares nothing', async () => {
    process.env.AUTOLAB_SSH_PERSIST = '2'
    const socket = muxSocketPath(target(), null)!
    writeFileSync(socket, 'not a socket')
    const shell = await connectShell(target(), {pinnedKey: null, hostId: 'mux'})
    expect((await shell.exec('echo ok')).stdout.toString()).toBe('ok\n')
    shell.close()
    expect(muxSocketPath(target(), server.hostKeyFingerprint())).not.toBe(socket)
    await waitFor(async () => {
      const probe = await connectShell(target(), {pinnedKey: null, hostId: 'mux'})
      probe.close()
      return probe.constructor.name === 'MuxShell' ? true : undefined
    }, {message: 'the new mux'})
    process.env.AUTOLAB_SSH_PERSIST = '0'
    const before = server.acceptedConnections()
    const own = await connectShell(target(), {pinnedKey: null, hostId: 'mux'})
    own.close()
    expect(server.acceptedConnections()).toBe(before + 1)
    expect(own.constructor.name).toBe('SshConnection')
  })

  it('a mux whose host went away is not used: the command connects itself and gets the host\'s own answer', async () => {
    process.env.AUTOLAB_SSH_PERSIST = '30'
    const socket = muxSocketPath(target(), null)!
    const shell = await connectShell(target(), {pinnedKey: null, hostId: 'mux'})
    shell.close()
    await waitFor(() => existsSync(socket), {message: 'the mux socket'})
    await server.stop()
    try {
      const error = await connectShell(target(), {pinnedKey: null, hostId: 'mux'}).catch((e) => e)
      expect(error.code).toBe('HOST_UNREACHABLE')
      await waitFor(() => !existsSync(socket), {timeoutMs: 10_000, message: 'the mux to exit with its connection'})
    } finally {
      await server.start()
    }
  })
})
