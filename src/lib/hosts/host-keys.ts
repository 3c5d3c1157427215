// Verifying an SSH host's key before anything is sent to it: against the fingerprint pinned in
// the store (`host check --accept-new`), else OpenSSH's known_hosts files (plain and hashed
// entries, [host]:port, wildcards, negations, @revoked). A key that differs from a known one is
// refused; a host with no known key is refused too unless the caller pins it.
import {nodeCrypto} from '../lazy-modules.js'
import {readFileSync} from 'node:fs'

export interface KnownKey {
  type: string
  blob: Buffer
  fingerprint: string
  revoked: boolean
}

export type HostKeyVerdict =
  | {verdict: 'ok'; fingerprint: string; source: 'pinned' | 'known_hosts'}
  | {verdict: 'mismatch'; fingerprint: string; expected: string[]; source: 'pinned' | 'known_hosts'}
  | {verdict: 'unknown'; fingerprint: string}

/** OpenSSH's fingerprint of a key blob: SHA256:<base64, no padding>. */
export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${nodeCrypto().createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`
}

/** The key type named inside an SSH wire-format public key blob (ssh-ed25519, ecdsa-sha2-nistp256, …). */
export function keyTypeOf(blob: Buffer): string | null {
  if (blob.length < 4) return null
  const length = blob.readUInt32BE(0)
  if (length > 64 || blob.length < 4 + length) return null
  return blob.subarray(4, 4 + length).toString('latin1')
}

/** How known_hosts names a host: `host` on port 22, else `[host]:port`. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`
}

/** The keys known_hosts files hold for this host (missing or unreadable files hold none; bad lines are skipped). */
export function knownKeysFor(files: readonly string[], host: string, port: number): KnownKey[] {
  const name = knownHostsName(host, port)
  const keys: KnownKey[] = []
  for (const file of files) {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch {
      continue
    }
    for (const raw of text.split('\n')) {
      const line = raw.trim()
      if (line === '' || line.startsWith('#')) continue
      const fields = line.split(/\s+/)
      let marker: string | null = null
      if (fields[0].startsWith('@')) marker = fields.shift()!
      if (marker === '@cert-authority' || fields.length < 3) continue
      const [patterns, type, base64] = fields
      if (!hostMatches(patterns, name)) continue
      const blob = Buffer.from(base64, 'base64')
      if (keyTypeOf(blob) !== type) continue
      keys.push({type, blob, fingerprint: fingerprintOf(blob), revoked: marker === '@revoked'})
    }
  }
  return keys
}

/** The verdict on a presented key: the pinned fingerprint wins; else known_hosts decides. */
export function verifyHostKey(presented: Buffer, known: readonly KnownKey[], pinned: string | null): HostKeyVerdict {
  const fingerprint = fingerprintOf(presented)
  if (known.some((k) => k.revoked && k.blob.equals(presented))) {
    return {verdict: 'mismatch', fingerprint, expected: known.filter((k) => !k.revoked).map((k) => k.fingerprint), source: 'known_hosts'}
  }
  if (pinned !== null) {
    return pinned === fingerprint ? {verdict: 'ok', fingerprint, source: 'pinned'} : {verdict: 'mismatch', fingerprint, expected: [pinned], source: 'pinned'}
  }
  const trusted = known.filter((k) => !k.revoked)
  if (trusted.some((k) => k.blob.equals(presented))) return {verdict: 'ok', fingerprint, source: 'known_hosts'}
  // Only keys of the presented type count: a host may hold several keys, and the negotiation
  // is steered to the known types (see preferredKeyTypes), so another type is just unknown.
  const sameType = trusted.filter((k) => k.type === keyTypeOf(presented))
  if (sameType.length > 0) return {verdict: 'mismatch', fingerprint, expected: sameType.map((k) => k.fingerprint), source: 'known_hosts'}
  return {verdict: 'unknown', fingerprint}
}

/** Does a comma-separated known_hosts pattern list match the name? (negated patterns veto) */
function hostMatches(patterns: string, name: string): boolean {
  let matched = false
  for (const pattern of patterns.split(',')) {
    if (pattern.startsWith('|1|')) {
      const [, , salt, hash] = pattern.split('|')
      if (salt && hash && nodeCrypto().createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash) matched = true
      continue
    }
    const negated = pattern.startsWith('!')
    if (wildcard(negated ? pattern.slice(1) : pattern, name)) {
      if (negated) return false
      matched = true
    }
  }
  return matched
}

function wildcard(pattern: string, name: string): boolean {
  if (!/[*?]/.test(pattern)) return pattern.toLowerCase() === name.toLowerCase()
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.')}$`, 'i')
  return regex.test(name)
}
