// The SSH connection against real OpenSSH servers on 127.0.0.1: key-verified connect, exec reuse,
// and the refusals an agent must be able to tell apart (unknown key, changed key, host down, no key).
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {SshConnection} from '../../src/lib/hosts/ssh-connection.js'
import {resolveSshTarget} from '../../src/lib/hosts/ssh-target.js'
import {type SshClientSide, type Sshd, sshClient} from '../helpers/sshd.js'

let client: SshClientSide
let known: Sshd
let unknown: Sshd

beforeAll(async () => {
  client = sshClient()
  known = await client.addServer('known')
  unknown = await client.addServer('unknown', {known: false})
})
afterAll(async () => client?.cleanup())

const target = (alias: string) => resolveSshTarget(alias, {configFile: client.configFile})

describe('SshConnection', () => {
  it('verifies the key from known_hosts, then runs many scripts over one connection', async () => {
    const before = known.acceptedConnections()
    const connection = await SshConnection.connect(target('known'), {pinnedKey: null, hostId: 'known'})
    try {
      expect(connection.hostKey).toEqual({verdict: 'ok', fingerprint: known.hostKeyFingerprint(), source: 'known_hosts'})
      for (let i = 0; i < 5; i++) {
        const result = await connection.exec(`read -r line || echo "stdin is empty"; echo "out $((${i} + 1))"; echo oops >&2; exit ${i}`)
        expect(result.code).toBe(i)
        expect(result.stdout.toString()).toBe(`stdin is empty\nout ${i + 1}\n`)
        expect(result.stderr).toBe('oops\n')
      }
    } finally {
      connection.close()
    }
    expect(known.acceptedConnections()).toBe(before + 1)
  })

  it('passes any bytes through both ways (a script with quotes, a heredoc end, binary output)', async () => {
    const connection = await SshConnection.connect(target('known'), {pinnedKey: null, hostId: 'known'})
    try {
      const tricky = `it's "quoted" $HOME \`x\` \\ EOF\n__autolab_x`
      const result = await connection.exec(`cat <<'EOF'\n${tricky}\nEOF\nprintf '\\000\\377\\n'`)
      expect(result.stdout).toEqual(Buffer.concat([Buffer.from(`${tricky}\n`), Buffer.from([0, 255, 10])]))
    } finally {
      connection.close()
    }
  })

  it('refuses an answer larger than asked for', async () => {
    const connection = await SshConnection.connect(target('known'), {pinnedKey: null, hostId: 'known'})
    try {
      const error = await connection.exec('head -c 100000 /dev/zero', {maxStdout: 1000}).catch((e) => e)
      expect(error.code).toBe('HOST_UNREACHABLE')
      expect(error.retryable).toBe(false)
    } finally {
      connection.close()
    }
  })

  it('an unknown key is HOST_KEY_UNKNOWN naming its fingerprint; --accept-new takes it', async () => {
    const error = await SshConnection.connect(target('unknown'), {pinnedKey: null, hostId: 'u'}).catch((e) => e)
    expect(error.code).toBe('HOST_KEY_UNKNOWN')
    expect(error.details.presented).toBe(unknown.hostKeyFingerprint())
    const connection = await SshConnection.connect(target('unknown'), {pinnedKey: null, acceptNew: true, hostId: 'u'})
    expect(connection.hostKey).toEqual({verdict: 'unknown', fingerprint: unknown.hostKeyFingerprint()})
    connection.close()
    const pinned = await SshConnection.connect(target('unknown'), {pinnedKey: unknown.hostKeyFingerprint(), hostId: 'u'})
    expect(pinned.hostKey?.verdict).toBe('ok')
    pinned.close()
  })

  it('a pinned key that differs is HOST_KEY_MISMATCH (exit 4, not retryable) naming both fingerprints', async () => {
    const error = await SshConnection.connect(target('known'), {pinnedKey: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', hostId: 'k'}).catch((e) => e)
    expect(error.code).toBe('HOST_KEY_MISMATCH')
    expect(error.exitCode).toBe(4)
    expect(error.retryable).toBe(false)
    expect(error.details).toMatchObject({presented: known.hostKeyFingerprint(), expected: ['SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'], source: 'pinned'})
  })

  it('no usable key is HOST_AUTH_FAILED; a stopped server is HOST_UNREACHABLE (retryable)', async () => {
    const config = join(client.dir, 'nokey_config')
    writeFileSync(config, `Host known\n  HostName 127.0.0.1\n  Port ${known.port}\n  User root\n  IdentityFile ${join(client.dir, 'missing')}\n  UserKnownHostsFile ${client.knownHosts}\n`)
    const noKey = await SshConnection.connect(resolveSshTarget('known', {configFile: config}), {pinnedKey: null, hostId: 'k'}).catch((e) => e)
    expect(noKey.code).toBe('HOST_AUTH_FAILED')
    const server = await client.addServer('doomed')
    await server.stop()
    const down = await SshConnection.connect(target('doomed'), {pinnedKey: null, hostId: 'd'}).catch((e) => e)
    expect(down.code).toBe('HOST_UNREACHABLE')
    expect(down.retryable).toBe(true)
  })

  it('a changed host key in known_hosts is HOST_KEY_MISMATCH; a lost connection fails the command in flight', async () => {
    const server = await client.addServer('swapped')
    const connection = await SshConnection.connect(target('swapped'), {pinnedKey: null, hostId: 's'})
    const inFlight = connection.exec('sleep 30').catch((e) => e)
    await server.stop()
    expect((await inFlight).code).toBe('HOST_UNREACHABLE')
    connection.close()
    await server.swapHostKey()
    const error = await SshConnection.connect(target('swapped'), {pinnedKey: null, hostId: 's'}).catch((e) => e)
    expect(error.code).toBe('HOST_KEY_MISMATCH')
    expect(error.details.presented).toBe(server.hostKeyFingerprint())
    expect(error.details.source).toBe('known_hosts')
  })

  it('reaches a host behind a bastion (ProxyJump), checking both keys; an unknown bastion key is refused', async () => {
    const inner = await client.addServer('inner')
    const config = join(client.dir, 'jump_config')
    const entry = (name: string, port: number, jump: string) => `Host ${name}\n  HostName 127.0.0.1\n  Port ${port}\n  User root\n  IdentityFile ${client.userKey}\n  UserKnownHostsFile ${client.knownHosts}\n  ProxyJump ${jump}\n`
    writeFileSync(config, [
      entry('behind', inner.port, 'bastion'), entry('behind-unknown', inner.port, 'bastion-unknown'),
      `Host bastion\n  HostName 127.0.0.1\n  Port ${known.port}\n  User root\n  IdentityFile ${client.userKey}\n  UserKnownHostsFile ${client.knownHosts}\n`,
      `Host bastion-unknown\n  HostName 127.0.0.1\n  Port ${unknown.port}\n  User root\n  IdentityFile ${client.userKey}\n  UserKnownHostsFile ${client.knownHosts}\n`,
    ].join(''))
    const [bastionBefore, innerBefore] = [known.acceptedConnections(), inner.acceptedConnections()]
    const connection = await SshConnection.connect(resolveSshTarget('behind', {configFile: config}), {pinnedKey: null, hostId: 'behind'})
    try {
      expect(connection.hostKey?.fingerprint).toBe(inner.hostKeyFingerprint())
      expect((await connection.exec('echo inside')).stdout.toString()).toBe('inside\n')
    } finally {
      connection.close()
    }
    expect([known.acceptedConnections(), inner.acceptedConnections()]).toEqual([bastionBefore + 1, innerBefore + 1])
    const refused = await SshConnection.connect(resolveSshTarget('behind-unknown', {configFile: config}), {pinnedKey: null, hostId: 'behind'}).catch((e) => e)
    expect(refused.code).toBe('HOST_KEY_UNKNOWN')
    expect(refused.message).toContain('via bastion-unknown')
  })
})
