// The CLI as a person sees it: on a pseudo-terminal (script(1)), and in a real tmux pane whose
// screen the test reads back. Both get a person's environment, not the test runner's: chalk turns
// colour off when CI is set (as CI services do) or TERM is dumb, so only PATH and HOME are carried
// over, with TERM=xterm-256color.
import {execFile} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {BIN} from './cli.js'

const run = promisify(execFile)

/** A person's terminal environment (plus `extra`). */
export function personEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', TERM: 'xterm-256color', ...extra}
}

/** Single-quoted for sh. */
export function shellQuote(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`
}

/** `node bin/run.js …args` as one sh command line. */
export function cliCommandLine(args: string[]): string {
  return [process.execPath, BIN, ...args].map(shellQuote).join(' ')
}

/**
 * Run the CLI on a pseudo-terminal (stdin, stdout and stderr all the terminal, unless `stdoutFile`
 * sends stdout to a file): what the terminal showed, and the exit code (script -e passes it on).
 */
export async function onTerminal(args: string[], options: {env?: Record<string, string>; stdoutFile?: string; cwd?: string; timeoutMs?: number} = {}): Promise<{shown: string; exitCode: number}> {
  const command = cliCommandLine(args) + (options.stdoutFile ? ` > ${shellQuote(options.stdoutFile)}` : '')
  try {
    const {stdout} = await run('script', ['-qec', command, '/dev/null'], {env: personEnv(options.env), cwd: options.cwd, encoding: 'utf8', timeout: options.timeoutMs ?? 30_000})
    return {shown: stdout, exitCode: 0}
  } catch (error) {
    const failed = error as {code?: unknown; stdout?: string; killed?: boolean}
    if (typeof failed.code !== 'number' || failed.killed) throw error
    return {shown: failed.stdout ?? '', exitCode: failed.code}
  }
}

export interface PaneState {
  dead: boolean
  /** The exit status once tmux has collected it (null before). */
  exitStatus: number | null
  /** The pane shows the alternate screen. */
  alternateScreen: boolean
  cursorVisible: boolean
  width: number
  height: number
}

/**
 * A private tmux server (its socket in `dir`, never a user's server) with one detached session.
 * The command runs under sh, which then prints `[exit status N]` and sleeps: the pane stays alive
 * after the command ends, so the screen it left (alternate screen off? cursor shown?) can be read
 * as it left it — a dead pane (remain-on-exit, also set, should sh die) has its cursor hidden by
 * tmux. kill() ends everything.
 */
export class TmuxPane {
  readonly socket: string
  private readonly config: string

  constructor(dir: string, private readonly env: Record<string, string> = {}) {
    this.socket = join(dir, 'tmux.sock')
    this.config = join(dir, 'tmux.conf')
    writeFileSync(this.config, 'set -g default-terminal "xterm-256color"\nset -g remain-on-exit on\nset -g history-limit 1000\n')
  }

  /** Start `command` (a sh command line) in a new width×height pane. */
  async start(command: string, options: {width: number; height: number; cwd: string}): Promise<void> {
    const wrapped = `${command}; echo "[exit status $?]"; exec sleep 600`
    await this.tmux(['new-session', '-d', '-s', 'autolab', '-x', String(options.width), '-y', String(options.height), '-c', options.cwd, wrapped])
  }

  /** The command's exit status once it has ended (the line sh prints), else null. */
  async exitStatus(): Promise<number | null> {
    const match = /\[exit status (\d+)\]/.exec(await this.capture())
    return match ? Number(match[1]) : null
  }

  /** The pids of the processes the pane's shell started (the command, while it runs). */
  async commandPids(): Promise<number[]> {
    const shell = Number((await this.tmux(['list-panes', '-t', 'autolab', '-F', '#{pane_pid}'])).trim())
    try {
      return readFileSync(`/proc/${shell}/task/${shell}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
    } catch {
      return []
    }
  }

  /** The pane's visible screen, as text. */
  async capture(): Promise<string> {
    return this.tmux(['capture-pane', '-p', '-t', 'autolab'])
  }

  async state(): Promise<PaneState> {
    const out = await this.tmux(['list-panes', '-t', 'autolab', '-F', '#{pane_dead} #{alternate_on} #{cursor_flag} #{pane_width} #{pane_height} #{pane_dead_status}'])
    const [dead, alternate, cursor, width, height, status] = out.trim().split(' ')
    return {dead: dead === '1', alternateScreen: alternate === '1', cursorVisible: cursor === '1', width: Number(width), height: Number(height), exitStatus: status === undefined || status === '' ? null : Number(status)}
  }

  async sendKeys(...keys: string[]): Promise<void> {
    await this.tmux(['send-keys', '-t', 'autolab', ...keys])
  }

  async resize(width: number, height: number): Promise<void> {
    await this.tmux(['resize-window', '-t', 'autolab', '-x', String(width), '-y', String(height)])
  }

  /** Kill the server and everything in it; quiet when it is gone already. */
  async kill(): Promise<void> {
    await this.tmux(['kill-server']).catch(() => undefined)
  }

  private async tmux(args: string[]): Promise<string> {
    const {stdout} = await run('tmux', ['-u', '-S', this.socket, '-f', this.config, ...args], {env: personEnv(this.env), encoding: 'utf8', timeout: 10_000})
    return stdout
  }
}
