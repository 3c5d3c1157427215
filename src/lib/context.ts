// The context every library operation takes: the store, the clock, who is acting, where to log,
// the project file (loaded on first use) and executors per host. Tests build one directly.
import {resolve} from 'node:path'
import {AutolabError} from './output/errors.js'
import {type Executor} from './hosts/executor.js'
import {noProgress, type Progress} from './output/progress.js'
import {LocalExecutor} from './hosts/local.js'
import {SshExecutor} from './hosts/ssh.js'
import {connectShell} from './hosts/ssh-mux.js'
import {resolveSshTarget} from './hosts/ssh-target.js'
import {type Project, loadProject} from './project.js'
import {newStorePath, locateStore, requireStore} from './store/locate.js'
import {type Store, openStore} from './store/open.js'
import type {HostRow} from './store/schema.js'

export interface Ctx {
  store: Store
  now(): Date
  /** Who is acting, recorded on every mutation: human, agent, cron, or a name. */
  actor: string
  /** Progress and diagnostics; goes to stderr, never stdout. */
  log(message: string): void
  /**
   * The progress line of long work (waits, copies): a no-op unless stderr is a terminal and the
   * command is not --json (the rule is in output/progress.ts; the base command sets it).
   */
  progress: Progress
  project(): Project
  executor(hostId: string): Executor
  /** Warnings collected during the command; they end up in the status bar. */
  warnings: string[]
  /** Release the executors' connections (the end of every command). */
  close(): void
}

export interface ContextOptions {
  /** --store: the store's path; else AUTOLAB_STORE, else the nearest .autolab/autolab.db (locate.ts). */
  store?: string
  /**
   * Create the store when there is none (init; demo's own store), at --store, AUTOLAB_STORE or
   * ./.autolab/autolab.db. Otherwise a missing store is STORE_NOT_FOUND and nothing is created.
   */
  create?: boolean
  project?: string
  actor?: string
  log?: (message: string) => void
  progress?: Progress
  now?: () => Date
}

export function defaultActor(flag?: string): string {
  return flag ?? process.env.AUTOLAB_ACTOR ?? (process.stdin.isTTY && process.stdout.isTTY ? 'human' : 'agent')
}

export async function openContext(options: ContextOptions = {}): Promise<Ctx> {
  const store = await openStore(options.create ? newStorePath(options.store) : foundStorePath(options.store), {mustExist: !options.create})
  let project: Project | undefined
  let actor: string | undefined
  const executors = new Map<string, Executor>()
  return {
    store,
    now: options.now ?? (() => new Date()),
    // Lazy: looking at process.stdin costs a few ms, and only mutations record an actor.
    get actor() {
      return (actor ??= defaultActor(options.actor))
    },
    set actor(value: string) {
      actor = value
    },
    log: options.log ?? ((message) => process.stderr.write(`${message}\n`)),
    progress: options.progress ?? noProgress,
    warnings: [],
    project: () => (project ??= loadProject(options.project)),
    executor(hostId: string): Executor {
      let executor = executors.get(hostId)
      if (!executor) {
        executor = createExecutor(store, getHost(store, hostId))
        executors.set(hostId, executor)
      }
      return executor
    },
    close() {
      for (const executor of executors.values()) executor.close()
      executors.clear()
    },
  }
}

/** The path of the store a command works on: found, or STORE_NOT_FOUND / STORE_LOST saying where it looked. */
export function foundStorePath(flag?: string): string {
  const location = locateStore({flag})
  requireStore(location)
  return location.path
}

export function getHost(store: Store, hostId: string): HostRow {
  const host = store.first(store.db.selectFrom('hosts').selectAll().where('host_id', '=', hostId))
  if (!host) throw new AutolabError('HOST_NOT_FOUND', `No host "${hostId}".`, {details: {host: hostId}})
  return host
}

function createExecutor(store: Store, host: HostRow): Executor {
  // A relative root (the local host's '.') is relative to the store's directory, not to the cwd.
  if (host.kind === 'local') return new LocalExecutor(host.host_id, resolve(store.dir, host.root))
  if (host.kind === 'ssh' && host.address) {
    const address = host.address
    // Resolved at first use, not here: ~/.ssh/config is read only by commands that reach the host.
    return new SshExecutor(host.host_id, host.root, () => connectShell(resolveSshTarget(address), {pinnedKey: host.host_key, hostId: host.host_id}))
  }
  throw new AutolabError('INVALID_CONFIG', `Host ${host.host_id} has kind ${host.kind}, which this version cannot drive.`)
}
