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

/** Expand {name} placeholders in a command template, shell-quoting each value. */
export function expandTemplate(template: string, vars: Record<string, string>): string {
  return template.replace(/\{([a-z_]+)\}/g, (whole, name: string) => {
    if (!Object.hasOwn(vars, name)) return whole
    return shellQuote(vars[name])
  })
}

export function templateVariables(template: string): string[] {
  return [...template.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1])
}
