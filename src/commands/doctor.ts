import * as Flags from '@oclif/core/flags'
import chalk from 'chalk'
import {AutolabCommand, type Parsed} from '../base-command.js'
import type {Ctx} from '../lib/context.js'
import {type DoctorReport, doctor} from '../lib/doctor.js'

export default class Doctor extends AutolabCommand<DoctorReport> {
  static summary = 'Check the store against the hosts: roll back interrupted operations, report orphans.'
  static description = 'Reports run directories without rows, live or paused runs without directories, and live processes of runs that have ended (killed with --fix). Exits 0 either way; data.ok says whether all is well.'
  static examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor --fix --json']
  static flags = {fix: Flags.boolean({description: 'Kill live processes of runs that have ended.'})}

  async execute(ctx: Ctx, {flags}: Parsed<typeof Doctor>): Promise<DoctorReport> {
    return doctor(ctx, {fix: flags.fix})
  }

  render(r: DoctorReport): string {
    const section = (title: string, items: unknown[]) => (items.length ? [chalk.yellow(`${title}:`), ...items.map((i) => `  ${JSON.stringify(i)}`)] : [])
    return [
      r.ok ? chalk.green('all is well') : chalk.yellow('problems found'),
      ...section('rolled back', r.rolled_back_operations),
      ...section('open operations', r.open_operations),
      ...section('directories without runs', r.dirs_without_rows),
      ...section('runs without directories', r.rows_without_dirs),
      ...section('live processes of ended runs', r.live_processes_of_ended_runs),
    ].join('\n')
  }
}
