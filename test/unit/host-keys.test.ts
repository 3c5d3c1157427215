// known_hosts as OpenSSH reads it, and ~/.ssh/config as OpenSSH resolves it: what decides whether
// autolab talks to a host at all.
import {createHmac, randomBytes} from 'node:crypto'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {fingerprintOf, keyTypeOf, knownKeysFor, verifyHostKey} from '../../src/lib/hosts/host-keys.js'
import {resolveSshTarget} from '../../src/lib/hosts/ssh-target.js'

/** A syntactically real ed25519 public key blob (type string + 32 key bytes). */
function keyBlob(type = 'ssh-ed25519'): Buffer {
  const name = Buffer.from(type)
  const head = Buffer.alloc(4)
  head.writeUInt32BE(name.length)
  const body = Buffer.alloc(4)
  body.writeUInt32BE(32)
  return Buffer.concat([head, name, body, randomBytes(32)])
}

const hashed = (name: string) => {
  const salt = randomBytes(20)
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`
}

const dir = mkdtempSync(join(tmpdir(), 'autolab-known-'))
const file = (name: string, text: string) => {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

describe('known_hosts', () => {
  const key = keyBlob()
  const other = keyBlob()
  const line = (patterns: string, blob = key, marker = '') => `${marker}${marker ? ' ' : ''}${patterns} ssh-ed25519 ${blob.toString('base64')} comment\n`

  it('matches plain, [host]:port, hashed, wildcard entries; a negation vetoes; other ports do not match', () => {
    const known = file('kh1', [
      '# a comment', '', 'garbage', line('gpu1.example,10.0.0.5'), line(`[gpu2.example]:2222`), line(hashed('[10.0.0.9]:2200')),
      line('*.cluster,!bad.cluster'), 'nonsense ssh-ed25519 !!!notbase64\n',
    ].join('\n'))
    expect(knownKeysFor([known], 'gpu1.example', 22)).toHaveLength(1)
    expect(knownKeysFor([known], '10.0.0.5', 22)).toHaveLength(1)
    expect(knownKeysFor([known], 'gpu1.example', 2222)).toHaveLength(0)
    expect(knownKeysFor([known], 'gpu2.example', 2222)).toHaveLength(1)
    expect(knownKeysFor([known], '10.0.0.9', 2200)).toHaveLength(1)
    expect(knownKeysFor([known], 'n1.cluster', 22)).toHaveLength(1)
    expect(knownKeysFor([known], 'bad.cluster', 22)).toHaveLength(0)
    expect(knownKeysFor([join(dir, 'missing')], 'gpu1.example', 22)).toEqual([])
  })

  it('verdicts: known key ok, another key of that type a mismatch naming both, nothing known unknown, the pin wins, @revoked refused', () => {
    const known = knownKeysFor([file('kh2', line('h') + line('r', other, '@revoked') + line('ca', other, '@cert-authority'))], 'h', 22)
    expect(verifyHostKey(key, known, null)).toEqual({verdict: 'ok', fingerprint: fingerprintOf(key), source: 'known_hosts'})
    expect(verifyHostKey(other, known, null)).toEqual({verdict: 'mismatch', fingerprint: fingerprintOf(other), expected: [fingerprintOf(key)], source: 'known_hosts'})
    expect(verifyHostKey(other, [], null)).toEqual({verdict: 'unknown', fingerprint: fingerprintOf(other)})
    expect(verifyHostKey(other, known, fingerprintOf(other)).verdict).toBe('ok')
    expect(verifyHostKey(key, known, fingerprintOf(other))).toMatchObject({verdict: 'mismatch', source: 'pinned'})
    const revoked = knownKeysFor([file('kh3', line('r', other, '@revoked'))], 'r', 22)
    expect(verifyHostKey(other, revoked, fingerprintOf(other)).verdict).toBe('mismatch')
    expect(knownKeysFor([file('kh4', line('ca', other, '@cert-authority'))], 'ca', 22)).toEqual([])
  })

  it('reads the key type from the blob, and refuses a blob that lies about it', () => {
    expect(keyTypeOf(keyBlob('ecdsa-sha2-nistp256'))).toBe('ecdsa-sha2-nistp256')
    expect(keyTypeOf(Buffer.from([0, 0, 0, 200, 1]))).toBeNull()
    const liar = file('kh5', `h ssh-rsa ${key.toString('base64')}\n`)
    expect(knownKeysFor([liar], 'h', 22)).toEqual([])
  })
})

describe('ssh_config resolution', () => {
  const config = file('config', [
    'Host gpu1', '  HostName 10.0.0.5', '  User alice', '  Port 2222', '  IdentityFile ~/.ssh/k1', '  IdentityFile ~/.ssh/k2', '  ProxyJump bastion',
    'Host bastion', '  HostName b.example', '  User bob', '  ProxyJump outer',
    'Host outer', '  HostName o.example',
    'Host loop1', '  ProxyJump loop2', 'Host loop2', '  ProxyJump loop1', '',
  ].join('\n'))
  const options = {configFile: config, home: '/home/me', env: {USER: 'me'}}

  it('applies HostName, User, Port, IdentityFile and a chain of ProxyJump hops', () => {
    const target = resolveSshTarget('gpu1', options)
    expect(target).toMatchObject({alias: 'gpu1', host: '10.0.0.5', port: 2222, user: 'alice', identityFiles: ['/home/me/.ssh/k1', '/home/me/.ssh/k2'], knownHostsFiles: ['/home/me/.ssh/known_hosts']})
    expect(target.jump).toMatchObject({host: 'b.example', user: 'bob', port: 22})
    expect(target.jump?.jump).toMatchObject({host: 'o.example', user: 'me'})
  })

  it('user@host:port in the spec wins over the config', () => {
    expect(resolveSshTarget('carol@gpu1:2022', options)).toMatchObject({host: '10.0.0.5', user: 'carol', port: 2022})
    expect(resolveSshTarget('plain.example', options)).toMatchObject({host: 'plain.example', user: 'me', port: 22, jump: null})
  })

  it('refuses a malformed spec, a bad port and a ProxyJump loop with INVALID_CONFIG', () => {
    for (const spec of ['a b', '-oProxyCommand=x', 'h:99999', 'u@@h', '']) {
      expect(() => resolveSshTarget(spec, options), spec).toThrowError(expect.objectContaining({code: 'INVALID_CONFIG'}))
    }
    expect(() => resolveSshTarget('loop1', options)).toThrowError(expect.objectContaining({code: 'INVALID_CONFIG'}))
  })
})
