// The command registry (oclif explicit discovery) and the entry point, bundled into dist/cli.js.
// Imported from its own module: @oclif/core's index loads everything, at ~30 ms per start.
import {execute as executeOclif} from '@oclif/core/execute'
import {hoistGlobalFlags, incompleteCommand} from './argv.js'
import Cadence from './commands/cadence.js'
import CampaignCreate from './commands/campaign/create.js'
import CampaignFinalize from './commands/campaign/finalize.js'
import CampaignList from './commands/campaign/list.js'
import CampaignShow from './commands/campaign/show.js'
import CampaignUse from './commands/campaign/use.js'
import Compare from './commands/compare.js'
import Config from './commands/config.js'
import Demo from './commands/demo.js'
import Diff from './commands/diff.js'
import Doctor from './commands/doctor.js'
import Eval from './commands/eval.js'
import EvalKill from './commands/eval/kill.js'
import EvalShow from './commands/eval/show.js'
import Evals from './commands/evals.js'
import Export from './commands/export.js'
import Fork from './commands/fork.js'
import Guide from './commands/guide.js'
import History from './commands/history.js'
import HostAdd from './commands/host/add.js'
import HostCheck from './commands/host/check.js'
import HostForgetKey from './commands/host/forget-key.js'
import HostList from './commands/host/list.js'
import HostRemove from './commands/host/remove.js'
import Init from './commands/init.js'
import Kill from './commands/kill.js'
import Launch from './commands/launch.js'
import Log from './commands/log.js'
import Message from './commands/message.js'
import Modify from './commands/modify.js'
import Note from './commands/note.js'
import Pause from './commands/pause.js'
import Plot from './commands/plot.js'
import RecipeList from './commands/recipe/list.js'
import RecipeShow from './commands/recipe/show.js'
import Report from './commands/report.js'
import Resume from './commands/resume.js'
import Runs from './commands/runs.js'
import Samples from './commands/samples.js'
import Show from './commands/show.js'
import Status from './commands/status.js'
import Sync from './commands/sync.js'
import Tick from './commands/tick.js'
import Tree from './commands/tree.js'
import Trend from './commands/trend.js'
import Wait from './commands/wait.js'
import Watch from './commands/watch.js'
import {directCommand, runDirect} from './fast-start.js'
import {noteArgv, reportUnknownCommand} from './not-found.js'

export const COMMANDS = {
  cadence: Cadence,
  'campaign:create': CampaignCreate,
  'campaign:finalize': CampaignFinalize,
  'campaign:list': CampaignList,
  'campaign:show': CampaignShow,
  'campaign:use': CampaignUse,
  compare: Compare,
  config: Config,
  demo: Demo,
  diff: Diff,
  doctor: Doctor,
  eval: Eval,
  'eval:kill': EvalKill,
  'eval:show': EvalShow,
  evals: Evals,
  export: Export,
  fork: Fork,
  guide: Guide,
  history: History,
  'host:add': HostAdd,
  'host:check': HostCheck,
  'host:forget-key': HostForgetKey,
  'host:list': HostList,
  'host:remove': HostRemove,
  init: Init,
  kill: Kill,
  launch: Launch,
  log: Log,
  message: Message,
  modify: Modify,
  note: Note,
  pause: Pause,
  plot: Plot,
  'recipe:list': RecipeList,
  'recipe:show': RecipeShow,
  report: Report,
  resume: Resume,
  runs: Runs,
  samples: Samples,
  show: Show,
  status: Status,
  sync: Sync,
  tick: Tick,
  tree: Tree,
  trend: Trend,
  wait: Wait,
  watch: Watch,
}

export {commandNotFound} from './not-found.js'

/**
 * The entry point bin/run.js calls: oclif's execute, on argv with the global flags moved
 * behind the command words (so they work anywhere), and with the JSON envelope instead of
 * help text for `--json` without a complete command.
 */
export async function execute(options: Parameters<typeof executeOclif>[0]): Promise<unknown> {
  const args = hoistGlobalFlags(options.args ?? process.argv.slice(2))
  noteArgv(args)
  const commandIds = Object.keys(COMMANDS)
  const incomplete = incompleteCommand(args, commandIds)
  if (incomplete !== undefined) return reportUnknownCommand(incomplete, commandIds, true)
  const direct = directCommand(args, COMMANDS)
  const root = options.loadOptions && typeof options.loadOptions === 'object' && 'root' in options.loadOptions ? options.loadOptions.root : undefined
  if (direct && typeof root === 'string') return runDirect(COMMANDS, direct, root)
  return executeOclif({...options, args})
}
