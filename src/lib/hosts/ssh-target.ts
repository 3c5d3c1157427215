// Where an ssh host really is: its `ssh:` spec (`user@host[:port]` or an alias) resolved through
// ~/.ssh/config as OpenSSH would — HostName, User, Port, IdentityFile, UserKnownHostsFile and
// ProxyJump (GPU clusters sit behind bastions). Pure: reads the config file, connects nowhere.
import {existsSync, readFileSync} from 'node:fs'
import {homedir, userInfo} from 'node:os'
import {join} from 'node:path'
import SSHConfig from 'ssh-config'
import {AutolabError} from '../output/errors.js'
import {SSH_SPEC} from '../project.js'

export interface SshTarget {
  /** The name the user gave (alias or host), as known_hosts and messages name it. */
  alias: string
  host: string
  port: number
  user: string
  identityFiles: string[]
  knownHostsFiles: string[]
  /** The bastion to connect through first (ProxyJump), or null. */
  jump: SshTarget | null
}

export interface ResolveOptions {
  /** ~/.ssh/config unless given (AUTOLAB_SSH_CONFIG overrides it too; tests use that). */
  configFile?: string
  home?: string
  env?: NodeJS.ProcessEnv
}

const DEFAULT_IDENTITIES = ['id_ed25519', 'id_ecdsa', 'id_rsa']
const MAX_JUMPS = 4

export function resolveSshTarget(spec: string, options: ResolveOptions = {}, depth = 0): SshTarget {
  if (!SSH_SPEC.test(spec)) throw new AutolabError('INVALID_CONFIG', `ssh "${spec}" is not user@host[:port] or an alias of ~/.ssh/config.`, {details: {ssh: spec}})
  if (depth > MAX_JUMPS) throw new AutolabError('INVALID_CONFIG', `ProxyJump chain of ${spec} is longer than ${MAX_JUMPS} hops (a loop?).`, {details: {ssh: spec}})
  const env = options.env ?? process.env
  const home = options.home ?? env.HOME ?? homedir()
  const at = spec.indexOf('@')
  const userPart = at >= 0 ? spec.slice(0, at) : null
  const rest = at >= 0 ? spec.slice(at + 1) : spec
  const colon = rest.lastIndexOf(':')
  const name = colon >= 0 ? rest.slice(0, colon) : rest
  const portPart = colon >= 0 ? Number(rest.slice(colon + 1)) : null
  const computed = readConfig(options.configFile ?? env.AUTOLAB_SSH_CONFIG ?? join(home, '.ssh', 'config')).compute(name) as Record<string, string | string[] | undefined>
  const first = (key: string): string | undefined => {
    const value = computed[key]
    return Array.isArray(value) ? value[0] : value
  }
  const expand = (path: string) => (path.startsWith('~/') ? join(home, path.slice(2)) : path)
  const port = portPart ?? Number(first('Port') ?? 22)
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new AutolabError('INVALID_CONFIG', `ssh "${spec}": port ${port} is not 1-65535.`, {details: {ssh: spec}})
  const identities = ([] as string[]).concat(computed.IdentityFile ?? []).map(expand)
  const knownHosts = (first('UserKnownHostsFile') ?? '').split(/\s+/).filter(Boolean).map(expand)
  const jumpSpec = first('ProxyJump')
  return {
    alias: name,
    host: first('HostName') ?? name,
    port,
    user: userPart ?? first('User') ?? env.USER ?? userInfo().username,
    identityFiles: identities.length > 0 ? identities : DEFAULT_IDENTITIES.map((f) => join(home, '.ssh', f)).filter((f) => existsSync(f)),
    knownHostsFiles: knownHosts.length > 0 ? knownHosts : [join(home, '.ssh', 'known_hosts')],
    // ProxyJump may list several hops (a,b): connect through the last one, itself reached through the others.
    jump: jumpSpec && jumpSpec !== 'none' ? resolveJump(jumpSpec, options, depth) : null,
  }
}

function resolveJump(spec: string, options: ResolveOptions, depth: number): SshTarget {
  const hops = spec.split(',').map((h) => h.trim()).filter(Boolean)
  let target: SshTarget | null = null
  for (const hop of hops) {
    const resolved = resolveSshTarget(hop.replace(/^ssh:\/\//, ''), options, depth + 1)
    target = {...resolved, jump: resolved.jump ?? target}
  }
  return target!
}

function readConfig(path: string): ReturnType<typeof SSHConfig.parse> {
  let text = ''
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    // no config: defaults
  }
  try {
    return SSHConfig.parse(text)
  } catch (error) {
    throw new AutolabError('INVALID_CONFIG', `Cannot parse ${path}: ${(error as Error).message}`, {details: {path}})
  }
}
