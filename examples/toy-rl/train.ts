/**
 * Entry point of the built-in toy RL trainer, launched by autolab as
 * `node dist/examples/toy-rl/train.js` with the trainer-contract environment (AUTOLAB_RUN_DIR, …).
 * See ./trainer.ts and docs/trainer-contract.md.
 */
import {runToyTrainer} from './trainer.js'

runToyTrainer().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`toy-rl: fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    process.exit(1)
  },
)
