// Eval suites: the `evals:` of a recipe in the project file. Each is a command template scoring
// one checkpoint; a run keeps its recipe's suites in its recipe spec, so an eval of an old run
// works without the project file (or after the file changed).
import {isPlainObject, type JsonObject} from '../config-merge.js'
import {isSafeName, templateQuotingProblem, templateVariables} from '../shell.js'

export interface EvalSuite {
  /** Command template; placeholders: EVAL_TEMPLATE_VARIABLES, every value shell-quoted. */
  command: string
  /** GPUs the eval needs on the run's host (0: none). */
  gpus: number
  description?: string
}

export const EVAL_TEMPLATE_VARIABLES = ['node', 'examples', 'project_dir', 'run_dir', 'checkpoint', 'n', 'out', 'examples_out', 'settings'] as const

export const MAX_EVAL_GPUS = 64

type Bad = (field: string, why: string) => never

/** A recipe's `evals:` (absent: none), checked like a recipe's command: known placeholders, never inside quotes. */
export function parseEvalSuites(raw: unknown, field: string, bad: Bad): Record<string, EvalSuite> {
  if (raw === undefined || raw === null) return {}
  if (!isPlainObject(raw)) bad(field, 'must be a mapping of suite name to {command, gpus, description}')
  const suites: Record<string, EvalSuite> = {}
  for (const [name, decl] of Object.entries(raw as JsonObject)) {
    const f = `${field}.${name}`
    if (!isSafeName(name)) bad(f, 'suite names use letters, digits, ".", "_" and "-"')
    if (!isPlainObject(decl)) bad(f, 'must be a mapping such as {command: "...", gpus: 0}')
    const d = decl as JsonObject
    for (const key of Object.keys(d)) if (!['command', 'gpus', 'description'].includes(key)) bad(`${f}.${key}`, 'unknown field; known: command, gpus, description')
    if (typeof d.command !== 'string' || d.command.trim() === '') bad(`${f}.command`, 'must be a non-empty string')
    const command = d.command as string
    const unknown = templateVariables(command).filter((v) => !(EVAL_TEMPLATE_VARIABLES as readonly string[]).includes(v))
    if (unknown.length > 0) bad(`${f}.command`, `unknown placeholder {${unknown[0]}}; known: ${EVAL_TEMPLATE_VARIABLES.map((v) => `{${v}}`).join(' ')}`)
    const quoting = templateQuotingProblem(command)
    if (quoting) bad(`${f}.command`, quoting.message)
    const gpus = d.gpus ?? 0
    if (typeof gpus !== 'number' || !Number.isInteger(gpus) || gpus < 0 || gpus > MAX_EVAL_GPUS) bad(`${f}.gpus`, `must be an integer in [0, ${MAX_EVAL_GPUS}]`)
    if (d.description !== undefined && typeof d.description !== 'string') bad(`${f}.description`, 'must be a string')
    suites[name] = {command, gpus: gpus as number, ...(d.description === undefined ? {} : {description: d.description as string})}
  }
  return suites
}
