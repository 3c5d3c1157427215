// The one place where values meet a shell or a path. Everything interpolated into a command
// line goes through shellQuote; everything used as a path component goes through safeName.
import {AutolabError} from './output/errors.js'

/** Quote a value for POSIX sh: single quotes, with embedded single quotes closed and escaped. */
export function shellQuote(value: string): string {
  if (value.includes('\0')) throw new AutolabError('INVALID_ARGUMENT', 'A value passed to a shell contains a NUL byte.')
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value
  return `'${value.replaceAll("'", `'\\''`)}'`
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

/** A name safe as one path component and one shell word: no slash, no dot-dot, no spaces. */
export function isSafeName(value: string): boolean {
  return SAFE_NAME.test(value) && !value.includes('..')
}

export function safeName(kind: string, value: string): string {
  if (!isSafeName(value)) {
    throw new AutolabError('INVALID_ARGUMENT', `Invalid ${kind} "${value}": use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.`, {
      details: {[kind]: value},
    })
  }
  return value
}

/**
 * Expand {name} placeholders in a command template, shell-quoting each value. A template whose
 * quoting would undo that quoting is refused here too (parseProject refuses it earlier): a run's
 * stored recipe may predate the check.
 */
export function expandTemplate(template: string, vars: Record<string, string>): string {
  const problem = templateQuotingProblem(template, (name) => Object.hasOwn(vars, name))
  if (problem) throw new AutolabError('INVALID_CONFIG', `Command template ${JSON.stringify(template)}: ${problem.message}`, {details: {placeholder: problem.placeholder}})
  return template.replace(PLACEHOLDER_G, (whole, name: string) => {
    if (!Object.hasOwn(vars, name)) return whole
    return shellQuote(vars[name])
  })
}

const PLACEHOLDER = /^\{([a-z_]+)\}/
const PLACEHOLDER_G = /\{([a-z_]+)\}/g

export function templateVariables(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER_G)].map((m) => m[1])
}

/** Where a placeholder sits, as sh would read the template. */
export type PlaceholderContext = 'unquoted' | 'single-quoted' | 'double-quoted' | 'escaped' | 'dollar' | 'comment'

export interface PlaceholderUse {
  name: string
  /** Offset of the `{` in the template. */
  index: number
  context: PlaceholderContext
}

/**
 * Every {name} placeholder of a command template with the quoting it sits in, by POSIX sh rules:
 * inside '…' nothing is special and only ' ends it; inside "…" a backslash escapes only $ ` " \
 * and newline; outside quotes a backslash escapes any one character, and # at the start of a word
 * begins a comment that runs to the end of the line. Command substitutions are not parsed: a
 * placeholder inside "$(…)" counts as double-quoted, which errs on the safe side. Also says
 * whether a quote is left open at the end.
 */
export function scanTemplate(template: string): {placeholders: PlaceholderUse[]; unterminated: 'single' | 'double' | null} {
  const placeholders: PlaceholderUse[] = []
  let state: 'none' | 'single' | 'double' | 'comment' = 'none'
  let i = 0
  while (i < template.length) {
    const c = template[i]
    const next = template[i + 1] ?? ''
    if (c === '{') {
      const match = PLACEHOLDER.exec(template.slice(i, i + 64))
      if (match) {
        const context = state === 'single' ? 'single-quoted' : state === 'double' ? 'double-quoted' : state === 'comment' ? 'comment' : 'unquoted'
        placeholders.push({name: match[1], index: i, context})
        i += match[0].length
        continue
      }
    }
    switch (state) {
      case 'single':
        if (c === "'") state = 'none'
        i++
        break
      case 'double':
        if (c === '"') state = 'none'
        // Inside "…" a backslash escapes only these; before anything else it is a plain character.
        i += c === '\\' && '$`"\\\n'.includes(next) && next !== '' ? 2 : 1
        break
      case 'comment':
        if (c === '\n') state = 'none'
        i++
        break
      case 'none':
        if (c === "'") state = 'single'
        else if (c === '"') state = 'double'
        else if (c === '#' && (i === 0 || /[\s;&|()<>]/.test(template[i - 1]))) state = 'comment'
        else if ((c === '\\' || c === '$') && next === '{') {
          // \{name} would escape the opening quote of the quoted value; ${name} is parameter syntax
          // (and $'…' is ANSI-C quoting in bash, which would reinterpret the value).
          const match = PLACEHOLDER.exec(template.slice(i + 1, i + 65))
          if (match) {
            placeholders.push({name: match[1], index: i + 1, context: c === '\\' ? 'escaped' : 'dollar'})
            i += 1 + match[0].length
            continue
          }
        }
        // Outside quotes a backslash escapes the next character, whatever it is.
        i += c === '\\' ? 2 : 1
        break
    }
  }
  return {placeholders, unterminated: state === 'single' || state === 'double' ? state : null}
}

/**
 * Why a template's quoting would defeat the quoting of its values, or undefined when it is sound.
 * Values are single-quoted at expansion; a quote around the placeholder closes and reopens that
 * quoting, so a value such as `$(touch PWNED)` would run. `isPlaceholder` says which names are
 * substituted (others are left as they are, and so are harmless).
 */
export function templateQuotingProblem(template: string, isPlaceholder: (name: string) => boolean = () => true): {placeholder: string | null; message: string} | undefined {
  const {placeholders, unterminated} = scanTemplate(template)
  for (const use of placeholders) {
    if (!isPlaceholder(use.name) || use.context === 'unquoted') continue
    const p = `{${use.name}}`
    switch (use.context) {
      case 'single-quoted':
      case 'double-quoted':
        return {placeholder: p, message: `placeholder ${p} is inside ${use.context === 'single-quoted' ? 'single' : 'double'} quotes; autolab quotes it for you; remove the quotes (e.g. --out={run_dir}/x, not "--out={run_dir}/x")`}
      case 'escaped':
        return {placeholder: p, message: `placeholder ${p} follows a backslash; autolab quotes it for you; remove the backslash`}
      case 'dollar':
        return {placeholder: p, message: `\${${use.name}} is shell parameter syntax; write ${p}: autolab substitutes it and quotes it for you`}
      case 'comment':
        // A newline in the value would end the comment and run the rest of the value.
        return {placeholder: p, message: `placeholder ${p} is inside a # comment; remove it from the comment`}
    }
  }
  if (unterminated) return {placeholder: null, message: `a ${unterminated} quote is never closed`}
  return undefined
}
