// The command registry (oclif explicit discovery) and the entry point, bundled into dist/cli.js.
import Cadence from './commands/cadence.js'
import Config from './commands/config.js'
import Demo from './commands/demo.js'
import Diff from './commands/diff.js'
import Doctor from './commands/doctor.js'
import Fork from './commands/fork.js'
import History from './commands/history.js'
import Init from './commands/init.js'
import Kill from './commands/kill.js'
import Launch from './commands/launch.js'
import Log from './commands/log.js'
import Modify from './commands/modify.js'
import Pause from './commands/pause.js'
import Resume from './commands/resume.js'
import Runs from './commands/runs.js'
import Show from './commands/show.js'
import Status from './commands/status.js'
import Sync from './commands/sync.js'
import Tree from './commands/tree.js'

export const COMMANDS = {
  cadence: Cadence,
  config: Config,
  demo: Demo,
  diff: Diff,
  doctor: Doctor,
  fork: Fork,
  history: History,
  init: Init,
  kill: Kill,
  launch: Launch,
  log: Log,
  modify: Modify,
  pause: Pause,
  resume: Resume,
  runs: Runs,
  show: Show,
  status: Status,
  sync: Sync,
  tree: Tree,
}

export {commandNotFound} from './not-found.js'
// Imported from its own module: @oclif/core's index loads everything, at ~30 ms per start.
export {execute} from '@oclif/core/execute'
