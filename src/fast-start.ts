// The common start, made cheap: argv names one command exactly and asks for neither help nor the
// version. oclif's run would first load the whole plugin — package.json, the manifest of every
// command, the platform and the user's shell, hooks — before the command parses its flags, ~20 ms
// of every agent action (an A/B in one run: 130 → 110 ms). Here the command runs on a Config holding what a command reads (bin,
// name, version, its directories), made from package.json alone. autolab has no hooks but
// command_not_found, which only an unknown command meets, so hooks are answered as none.
// Everything else (help, --version, a topic, an unknown or incomplete command) goes through
// oclif's run as before.
import {Config} from '@oclif/core/config'
import type {Command} from '@oclif/core/command'
import {readFileSync} from 'node:fs'
import {arch, homedir} from 'node:os'
import {join} from 'node:path'

type CommandClass = typeof Command & {id?: string}

/** The command argv names, and its own argv; undefined when oclif's run should decide. */
export function directCommand(argv: readonly string[], commands: Record<string, unknown>): {id: string; argv: string[]} | undefined {
  const words: string[] = []
  for (const arg of argv) {
    if (arg === '--help' || arg === '-h' || arg === '--version') return undefined
    if (arg === '--') break
  }
  for (const arg of argv) {
    if (arg.startsWith('-')) break
    words.push(arg)
    if (words.length === 2) break
  }
  let found: {id: string; argv: string[]} | undefined
  if (words.length >= 2 && Object.hasOwn(commands, `${words[0]}:${words[1]}`)) found = {id: `${words[0]}:${words[1]}`, argv: argv.slice(2)}
  else if (words.length >= 1 && Object.hasOwn(commands, words[0])) found = {id: words[0], argv: argv.slice(1)}
  // A command that reads every command's metadata from oclif (guide) needs the plugin loaded.
  if (found && (commands[found.id] as {readsAllCommands?: boolean}).readsAllCommands) return undefined
  return found
}

interface PackageJson {
  name: string
  version: string
  oclif: {bin?: string; dirname?: string; topicSeparator?: ' ' | ':'}
}

/** A Config for running one known command: oclif's fields a command reads, without loading plugins. */
export function commandConfig(root: string): Config {
  const pjson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageJson
  const config = new Config({root, userPlugins: false, devPlugins: false})
  const bin = pjson.oclif.bin ?? pjson.name
  const fields: Partial<Config> = {
    root, pjson: pjson as unknown as Config['pjson'], name: pjson.name, version: pjson.version, channel: 'stable', bin,
    dirname: pjson.oclif.dirname ?? pjson.name, topicSeparator: pjson.oclif.topicSeparator ?? ':', platform: process.platform, arch: (arch() === 'ia32' ? 'x86' : arch()) as Config['arch'],
    windows: process.platform === 'win32', home: process.env.HOME || homedir(), theme: undefined, valid: true,
    userAgent: `${pjson.name}/${pjson.version} ${process.platform}-${arch()} node-${process.version}`,
  }
  Object.assign(config, fields)
  // oclif's own rule for them (XDG_*_HOME, else ~/.cache and so on), a protected method.
  const dir = (config as unknown as {dir(category: 'cache' | 'config' | 'data'): string}).dir.bind(config)
  config.cacheDir = config.scopedEnvVar('CACHE_DIR') || dir('cache')
  config.configDir = config.scopedEnvVar('CONFIG_DIR') || dir('config')
  config.dataDir = config.scopedEnvVar('DATA_DIR') || dir('data')
  // No hooks run for a known command (see the top of this file).
  config.runHook = (async () => ({successes: [], failures: []})) as Config['runHook']
  return config
}

/** Run a command found by directCommand, as oclif's runCommand would. */
export async function runDirect(commands: Record<string, unknown>, found: {id: string; argv: string[]}, root: string): Promise<unknown> {
  const command = commands[found.id] as CommandClass
  command.id = found.id
  const instance = new (command as unknown as new (argv: string[], config: Config) => Command)(found.argv, commandConfig(root))
  return (instance as unknown as {_run(): Promise<unknown>})._run()
}
