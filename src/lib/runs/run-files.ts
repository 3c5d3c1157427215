// The files autolab writes into a run directory (trainer contract v1, docs/trainer-contract.md).
import {shellQuote} from '../shell.js'

export interface ControlFile {
  version: number
  state: 'run' | 'pause' | 'stop'
  overrides: Record<string, unknown>
  save_at: number[]
  /** Checkpoint request id: when it increases, the trainer saves after its next step. */
  save_now: number
  observation_cadence: number
  sample_cadence: number
}

export function initialControl(observationCadence: number, sampleCadence: number): ControlFile {
  return {version: 1, state: 'run', overrides: {}, save_at: [], save_now: 0, observation_cadence: observationCadence, sample_cadence: sampleCadence}
}

export interface TrainerEnv {
  runId: string
  runDir: string
  resumeFrom: string | null
  gpus: string[]
  /** The store that owns the run: lets doctor tell a stray trainer of a lost store from a live run. */
  storeId: string
}

/** The contract's environment, as a map (for display) — command.sh exports exactly these. */
export function trainerEnv(env: TrainerEnv): Record<string, string> {
  return {
    AUTOLAB_RUN_ID: env.runId,
    AUTOLAB_RUN_DIR: env.runDir,
    AUTOLAB_CONFIG: `${env.runDir}/config.json`,
    AUTOLAB_CONTROL: `${env.runDir}/control.json`,
    AUTOLAB_RESUME_FROM: env.resumeFrom ?? '',
    CUDA_VISIBLE_DEVICES: env.gpus.join(','),
    AUTOLAB_STORE_ID: env.storeId,
  }
}

/** command.sh: the contract environment, then the recipe's expanded command. */
export function commandScript(env: TrainerEnv, command: string): string {
  const exports = Object.entries(trainerEnv(env)).map(([k, v]) => `export ${k}=${shellQuote(v)}`)
  return `# written by autolab for run ${env.runId}; run by launch.sh\n${exports.join('\n')}\n${command}\n`
}

export function parseControl(text: string): ControlFile {
  return JSON.parse(text) as ControlFile
}
