// A recipe's environment for its trainer: `env:` (NAME → value, values may use ${VAR} of
// autolab's own environment) and `pass_env:` (names passed on as they are). autolab's own
// variables (AUTOLAB_*, CUDA_VISIBLE_DEVICES) are the trainer contract: a recipe cannot set them.
import {type JsonObject, isPlainObject} from './config-merge.js'

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
const REFERENCE = /\$\{([^}]*)\}/g

/** Why a recipe may not set or pass this variable, or null. */
export function reservedEnvName(name: string): string | null {
  if (name.startsWith('AUTOLAB_')) return 'AUTOLAB_* variables are set by autolab (the trainer contract)'
  if (name === 'CUDA_VISIBLE_DEVICES') return 'CUDA_VISIBLE_DEVICES is set by autolab from the run\'s GPUs'
  return null
}

function checkName(name: string, field: string, bad: (field: string, why: string) => never): void {
  if (!ENV_NAME.test(name)) bad(field, 'environment variable names are letters, digits and "_", not starting with a digit')
  const reserved = reservedEnvName(name)
  if (reserved) bad(field, `may not be set by a recipe: ${reserved}`)
}

/**
 * Parse `env:`. Values are strings (numbers and booleans are taken as their text); `${NAME}`
 * refers to autolab's environment, and a `$` not followed by `{` is a plain character.
 */
export function parseEnv(raw: unknown, field: string, bad: (field: string, why: string) => never): Record<string, string> {
  if (raw === undefined || raw === null) return {}
  if (!isPlainObject(raw)) bad(field, 'must be a mapping of variable name to value')
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(raw as JsonObject)) {
    const f = `${field}.${name}`
    checkName(name, f, bad)
    if (!['string', 'number', 'boolean'].includes(typeof value)) bad(f, 'must be a string')
    const text = String(value)
    if (text.includes('\0')) bad(f, 'must not hold a NUL character')
    for (const [, ref] of text.matchAll(REFERENCE)) if (!ENV_NAME.test(ref)) bad(f, `\${${ref}} is not a variable reference; write \${NAME}`)
    if (/\$\{[^}]*$/.test(text)) bad(f, '${ is not closed; write ${NAME}')
    env[name] = text
  }
  return env
}

/** Parse `pass_env:` (a list of names; duplicates dropped). */
export function parsePassEnv(raw: unknown, field: string, fallback: readonly string[], bad: (field: string, why: string) => never): string[] {
  if (raw === undefined) return [...fallback]
  if (!Array.isArray(raw)) bad(field, 'must be a list of environment variable names')
  const names: string[] = []
  for (const [i, name] of (raw as unknown[]).entries()) {
    if (typeof name !== 'string') bad(`${field}[${i}]`, 'must be a variable name')
    checkName(name as string, `${field}[${i}]`, bad)
    if (!names.includes(name as string)) names.push(name as string)
  }
  return names
}

/** A value of `env:` with each ${NAME} replaced from `environment` (unset: empty, and listed in `missing`). */
export function expandEnvValue(value: string, environment: Record<string, string | undefined>): {value: string; missing: string[]} {
  const missing: string[] = []
  const expanded = value.replace(REFERENCE, (_, name: string) => {
    const found = environment[name]
    if (found === undefined) missing.push(name)
    return found ?? ''
  })
  return {value: expanded, missing}
}

/**
 * The environment a run's trainer gets, captured once at launch from autolab's own: the
 * `pass_env` names that are set, the recipe's `env` expanded, and autolab's own AUTOLAB_*
 * variables. Stored with the run, so a run started later (a queued run by cron's tick, a
 * resume) gets the environment of its launch, not of whoever starts it. The contract's
 * variables are added by command.sh on top.
 */
export function captureTrainerEnv(recipe: {env: Record<string, string>; passEnv: readonly string[]}, environment: Record<string, string | undefined>): {env: Record<string, string>; missing: string[]} {
  const env: Record<string, string> = {}
  const missing: string[] = []
  for (const [name, value] of Object.entries(environment)) {
    if (name.startsWith('AUTOLAB_') && value !== undefined) env[name] = value
  }
  for (const name of recipe.passEnv) {
    const value = environment[name]
    if (value !== undefined) env[name] = value
  }
  for (const [name, template] of Object.entries(recipe.env)) {
    const expanded = expandEnvValue(template, environment)
    env[name] = expanded.value
    missing.push(...expanded.missing.map((ref) => `${name}: \${${ref}}`))
  }
  return {env, missing}
}
