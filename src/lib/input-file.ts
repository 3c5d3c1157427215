// Files named on the command line (--project, --config, --patch): checked before they are read,
// so that a directory, a FIFO (whose read blocks forever), a device such as /dev/zero (endless)
// or a huge file is an input error with its code, never a crash or a hang.
import {readFileSync, statSync} from 'node:fs'
import {checkConfigSize} from './config-merge.js'
import {AutolabError} from './output/errors.js'

/** The text of a regular file of at most CONFIG_VALUE_LIMITS.maxBytes; `what` names it in errors ("Project file"). */
export function readInputFile(path: string, what: string): string {
  const fail = (error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return new AutolabError('FILE_NOT_FOUND', `${what} ${path} does not exist.`, {details: {file: path}})
    return new AutolabError('INVALID_ARGUMENT', `${what} ${path} cannot be read: ${code ?? (error as Error).message}.`, {details: {file: path}})
  }
  let stat
  try {
    stat = statSync(path)
  } catch (error) {
    throw fail(error)
  }
  if (!stat.isFile()) throw new AutolabError('INVALID_ARGUMENT', `${what} ${path} is not a regular file.`, {details: {file: path}})
  checkConfigSize(stat.size, `${what} ${path}`)
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    throw fail(error)
  }
}
