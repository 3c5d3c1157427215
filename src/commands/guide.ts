import chalk from 'chalk'
import {AutolabCommand, type Parsed} from '../base-command.js'
import type {Ctx} from '../lib/context.js'
import {type Guide, type GuideCommand, buildGuide} from '../lib/guide.js'

export default class GuideCommandClass extends AutolabCommand<Guide> {
  static summary = 'The agent playbook: the loop, every command with its purpose and examples, the error codes and what to do.'
  static description = 'Generated from the commands\' own metadata, so it is always current. Start every new agent session with `autolab guide --json`.'
  static examples = ['<%= config.bin %> guide', '<%= config.bin %> guide --json']
  static syncFirst = false
  // The first thing an agent reads, wherever it is: no store needed.
  static needsStore = false
  // It lists every command from oclif's loaded metadata: never started on the light Config (fast-start.ts).
  static readsAllCommands = true

  async execute(_ctx: Ctx, _parsed: Parsed<typeof GuideCommandClass>): Promise<Guide> {
    const bin = this.config.bin
    const commands: GuideCommand[] = [...this.config.commands]
      .filter((c) => !c.hidden)
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((c) => ({
        command: c.id.replaceAll(':', ' '),
        summary: c.summary ?? '',
        description: c.description ?? null,
        usage: (c.examples ?? []).map((e) => (typeof e === 'string' ? e : e.command).replaceAll('<%= config.bin %>', bin)),
        flags: Object.entries(c.flags ?? {})
          .filter(([, f]) => f.helpGroup !== 'GLOBAL')
          .map(([name, f]) => ({
            name: `--${name}`, description: f.summary ?? f.description ?? '', required: Boolean(f.required), multiple: f.type === 'option' && Boolean(f.multiple),
            ...(f.type === 'option' && f.options ? {options: [...f.options]} : {}),
          })),
      }))
    return buildGuide(commands)
  }

  render(g: Guide): string {
    return [
      chalk.bold(g.about), '',
      chalk.bold('The loop'), ...g.loop.map((l, i) => `  ${i + 1}. ${l}`), '',
      chalk.bold('Rules'), ...g.rules.map((r) => `  - ${r}`), '',
      chalk.bold('Commands'), ...g.commands.map((c) => `  ${chalk.cyan(c.command.padEnd(18))} ${c.summary}${c.usage[0] ? chalk.dim(`\n  ${' '.repeat(18)} e.g. ${c.usage[0]}`) : ''}`), '',
      chalk.bold('Event kinds (log --kind; * = log --decisions)'), ...g.event_kinds.map((e) => `  ${`${e.kind}${e.decision ? '*' : ''}`.padEnd(22)} ${e.description}`), '',
      chalk.bold('Error codes'), ...g.error_codes.map((e) => `  ${e.code.padEnd(22)} exit ${e.exit}${e.retryable ? ' (retry)' : ''}  ${e.what_to_do}`),
    ].join('\n')
  }
}
