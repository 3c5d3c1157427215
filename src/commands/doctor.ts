import * as Flags from '@oclif/core/flags'
import chalk from 'chalk'
import {AutolabCommand, type Parsed} from '../base-command.js'
import type {Ctx} from '../lib/context.js'
import {type DoctorReport, doctor} from '../lib/doctor.js'

export default class Doctor extends AutolabCommand<DoctorReport> {
  static summary = 'Check the store against the hosts: roll back interrupted operations, report orphans.'
  static description = 'Reports run directories without rows or of another store (a lost one, or another store sharing the host root), live or paused runs without directories, live processes of runs that have ended, and trainer processes that belong to no live run of this store (stray_processes: another store\'s, or a lost store\'s); a host that cannot be reached is listed in unreachable_hosts. --fix kills the last two kinds, logging a stray_process_stopped event for each stray. Exits 0 either way; data.ok says whether all is well.'
  static examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor --fix --json']
  static flags = {fix: Flags.boolean({description: 'Kill live processes of runs that have ended, and stray trainer processes.'})}

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
      ...section('directories of another store', r.dirs_of_other_stores),
      ...section('runs without directories', r.rows_without_dirs),
      ...section('live processes of ended runs', r.live_processes_of_ended_runs),
      ...section('stray trainer processes', r.stray_processes),
      ...section('hosts not checked (unreachable or key refused)', r.unreachable_hosts),
    ].join('\n')
  }
}
