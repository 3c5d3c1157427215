// A real OpenSSH server on 127.0.0.1 for tests (Debian's sshd, as root): its own host key,
// authorized_keys and log in a temp dir, a free port, and a client side (user key, known_hosts,
// an ssh_config with a Host alias) that autolab reads through AUTOLAB_SSH_CONFIG. Start one per
// test file (beforeAll), never per test: each start costs ~100 ms and CI has two cores.
import {execFileSync, spawn, type ChildProcess} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

export const SSHD = '/usr/sbin/sshd'

export interface Sshd {
  /** The ssh_config alias that reaches it (HostName 127.0.0.1, Port, User root, IdentityFile). */
  alias: string
  port: number
  dir: string
  /** ssh_config holding the aliases of every server made with the same client (see sshClient). */
  logFile: string
  hostKeyFingerprint(): string
  /** Connections accepted so far (sshd's log lines "Accepted publickey"). */
  acceptedConnections(): number
  /** Replace the host key (a new one, as after a reinstall or under a man in the middle) and restart. */
  swapHostKey(): Promise<void>
  stop(): Promise<void>
  start(): Promise<void>
}

export interface SshClientSide {
  dir: string
  /** For AUTOLAB_SSH_CONFIG. */
  configFile: string
  knownHosts: string
  userKey: string
  /** Environment for a spawned autolab: AUTOLAB_SSH_CONFIG set, no ssh-agent. */
  env: Record<string, string>
  addServer(name: string, options?: {known?: boolean}): Promise<Sshd>
  cleanup(): Promise<void>
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address() as {port: number}
      server.close(() => resolve(port))
    })
  })
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** The client side: a user key, an empty known_hosts and an ssh_config; servers are added to it. */
export function sshClient(): SshClientSide {
  const dir = mkdtempSync(join(tmpdir(), 'autolab-ssh-'))
  const userKey = join(dir, 'id_ed25519')
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', userKey])
  const configFile = join(dir, 'ssh_config')
  const knownHosts = join(dir, 'known_hosts')
  writeFileSync(configFile, '')
  writeFileSync(knownHosts, '')
  const servers: Sshd[] = []
  return {
    dir, configFile, knownHosts, userKey,
    env: {AUTOLAB_SSH_CONFIG: configFile, SSH_AUTH_SOCK: ''},
    async addServer(name, options = {}) {
      const server = await startSshd(dir, name, userKey)
      writeFileSync(configFile, `${readFileSync(configFile, 'utf8')}Host ${name}\n  HostName 127.0.0.1\n  Port ${server.port}\n  User root\n  IdentityFile ${userKey}\n  UserKnownHostsFile ${knownHosts}\n\n`)
      if (options.known !== false) {
        const pub = readFileSync(join(server.dir, 'host_key.pub'), 'utf8').trim().split(/\s+/).slice(0, 2).join(' ')
        writeFileSync(knownHosts, `${readFileSync(knownHosts, 'utf8')}[127.0.0.1]:${server.port} ${pub}\n`)
      }
      servers.push(server)
      return server
    },
    async cleanup() {
      for (const server of servers) await server.stop()
      rmSync(dir, {recursive: true, force: true})
    },
  }
}

async function startSshd(parent: string, name: string, userKey: string): Promise<Sshd> {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is missing: apt-get install openssh-server (.ci/run does)`)
  mkdirSync('/run/sshd', {recursive: true})
  const dir = join(parent, `sshd-${name}`)
  mkdirSync(dir)
  const hostKey = join(dir, 'host_key')
  const newHostKey = () => {
    rmSync(hostKey, {force: true})
    rmSync(`${hostKey}.pub`, {force: true})
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey])
  }
  newHostKey()
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${userKey}.pub`))
  const config = join(dir, 'sshd_config')
  const logFile = join(dir, 'sshd.log')
  writeFileSync(config, [
    `HostKey ${hostKey}`, `PidFile ${join(dir, 'sshd.pid')}`, `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'PermitRootLogin prohibit-password', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'UsePAM no',
    'StrictModes no', 'UseDNS no', 'MaxStartups 100:30:200', 'MaxSessions 100', 'Subsystem sftp internal-sftp', 'LogLevel VERBOSE', '',
  ].join('\n'))
  const port = await freePort()
  let child: ChildProcess | null = null
  const start = async () => {
    writeFileSync(logFile, '', {flag: 'a'})
    const from = readFileSync(logFile, 'utf8').length
    const proc = spawn(SSHD, ['-D', '-e', '-p', String(port), '-o', 'ListenAddress=127.0.0.1', '-f', config, '-E', logFile], {stdio: 'ignore'})
    child = proc
    await waitFor(() => readFileSync(logFile, 'utf8').slice(from).includes(`Server listening on 127.0.0.1 port ${port}`) || proc.exitCode !== null, `sshd on port ${port}`)
    if (proc.exitCode !== null) throw new Error(`sshd exited ${proc.exitCode}: ${readFileSync(logFile, 'utf8')}`)
  }
  const stop = async () => {
    const proc = child
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return
    // As a host going down: nothing of this server may go on serving. The listener is frozen
    // first, so that no connection is accepted (and handed to a new child) while its descendants
    // — each connection's monitor, session process and shells — are killed; then it is killed
    // too. (SIGTERM to the listener alone leaves open connections served: that is how sshd restarts.)
    const exited = new Promise((r) => proc.once('exit', r))
    proc.kill('SIGSTOP')
    for (const pid of descendantsOf(proc.pid!)) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
    proc.kill('SIGKILL')
    await exited
  }
  await start()
  const fingerprint = () => execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${hostKey}.pub`], {encoding: 'utf8'}).split(/\s+/)[1]
  return {
    alias: name, port, dir, logFile,
    hostKeyFingerprint: fingerprint,
    acceptedConnections: () => (readFileSync(logFile, 'utf8').match(/Accepted publickey/g) ?? []).length,
    async swapHostKey() {
      await stop()
      newHostKey()
      await start()
    },
    stop, start,
  }
}

/** Every process below `root` in the process tree (from /proc: each process's parent). */
function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue
    }
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)])
  }
  const found: number[] = []
  const queue = [root]
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child)
      queue.push(child)
    }
  }
  return found
}

