// The command registry (oclif explicit discovery) and the entry point, bundled into dist/cli.js.
import Demo from './commands/demo.js'
import History from './commands/history.js'
import Init from './commands/init.js'
import Kill from './commands/kill.js'
import Launch from './commands/launch.js'
import Log from './commands/log.js'
import Runs from './commands/runs.js'
import Show from './commands/show.js'
import Status from './commands/status.js'
import Sync from './commands/sync.js'

export const COMMANDS = {
  demo: Demo,
  history: History,
  init: Init,
  kill: Kill,
  launch: Launch,
  log: Log,
  runs: Runs,
  show: Show,
  status: Status,
  sync: Sync,
}

export {commandNotFound} from './not-found.js'
// Imported from its own module: @oclif/core's index loads everything, at ~30 ms per start.
export {execute} from '@oclif/core/execute'
