// The one table of error codes. Codes are a contract with agents: never rename one, only add.
// Exit classes: 0 ok, 1 internal, 2 invalid input, 3 not found, 4 state conflict,
// 5 transient/retryable, 6 budget or campaign closed.

export const EXIT = {ok: 0, internal: 1, invalid: 2, notFound: 3, conflict: 4, transient: 5, budget: 6} as const

interface CodeSpec {
  exit: number
  retryable: boolean
  /** What an agent should do next; shown when the error carries no better suggestion. */
  action: string
  summary: string
}

export const ERROR_CODES = {
  INVALID_ARGUMENT: {exit: EXIT.invalid, retryable: false, summary: 'A flag or argument is malformed or out of range.', action: 'Fix the argument; see `autolab <command> --help`.'},
  INVALID_CONFIG: {exit: EXIT.invalid, retryable: false, summary: 'The project file (autolab.yaml) or a config file is invalid.', action: 'Fix the named field in the file.'},
  INVALID_VALUE: {exit: EXIT.invalid, retryable: false, summary: 'A value (of --set, a patch or a config) has the wrong type, is out of range, or is too large or too deeply nested.', action: 'Fix the value named in the message.'},
  UNKNOWN_CONFIG_KEY: {exit: EXIT.invalid, retryable: false, summary: 'A config key is not in the recipe\'s schema (a typo?).', action: 'Use one of the keys named in details (`autolab recipe show <recipe> --json`), or pass --allow-new-keys if the trainer really takes it.'},
  AMBIGUOUS_RUN: {exit: EXIT.invalid, retryable: false, summary: 'A run reference matches several runs (a name given in two campaigns, or a name that is another run\'s id).', action: 'Use one of the run ids listed in details.matches.'},
  NOT_A_STORE: {exit: EXIT.invalid, retryable: false, summary: 'The file given as the store is not an autolab store (not SQLite, or another application\'s database); nothing was changed.', action: 'Check --store / AUTOLAB_STORE; `autolab init` creates a store.'},
  UNKNOWN_COMMAND: {exit: EXIT.invalid, retryable: false, summary: 'No such command.', action: 'Run `autolab --help` for the list of commands.'},
  RUN_NOT_FOUND: {exit: EXIT.notFound, retryable: false, summary: 'No run with that id or name.', action: 'List runs with `autolab runs --json`.'},
  RECIPE_NOT_FOUND: {exit: EXIT.notFound, retryable: false, summary: 'No recipe with that name in the project file.', action: 'List recipes in autolab.yaml, or run `autolab init` to write an example.'},
  HOST_NOT_FOUND: {exit: EXIT.notFound, retryable: false, summary: 'No host with that name.', action: 'Declare the host in autolab.yaml.'},
  CAMPAIGN_NOT_FOUND: {exit: EXIT.notFound, retryable: false, summary: 'No campaign with that name.', action: 'List campaigns with `autolab status --json`.'},
  METRIC_NOT_FOUND: {exit: EXIT.notFound, retryable: false, summary: 'The run has logged steps, but no metric of that name.', action: 'Use one of the metrics listed in details.metrics.'},
  STORE_NOT_FOUND: {exit: EXIT.notFound, retryable: false, summary: 'No store here: none in this directory or its parents, and none given by --store or AUTOLAB_STORE.', action: 'Run the command in the project directory, pass --store PATH, or run `autolab init` to create a store here.'},
  FILE_NOT_FOUND: {exit: EXIT.notFound, retryable: false, summary: 'A file named by a flag does not exist.', action: 'Check the path.'},
  CONFIG_NOT_FOUND: {exit: EXIT.notFound, retryable: false, summary: 'No config with that id.', action: 'Config ids are in `autolab show <run> --json`.'},
  SUITE_NOT_FOUND: {exit: EXIT.notFound, retryable: false, summary: 'The run\'s recipe has no eval suite of that name (a run keeps the suites its recipe had at launch).', action: 'Use one of the suites listed in details.available (`autolab recipe show <recipe>`).'},
  EVAL_NOT_FOUND: {exit: EXIT.notFound, retryable: false, summary: 'No eval with that id.', action: 'List evals with `autolab evals --json`.'},
  NO_CHECKPOINT: {exit: EXIT.notFound, retryable: false, summary: 'The run has no usable checkpoint for that step.', action: 'Pick one of the available steps, or omit --step.'},
  INVALID_TRANSITION: {exit: EXIT.conflict, retryable: false, summary: 'The run is not in a state that allows this operation.', action: 'Check the run status with `autolab show <run> --json`.'},
  NAME_TAKEN: {exit: EXIT.conflict, retryable: false, summary: 'A run of the campaign already has that name.', action: 'Pick another --name (the holder is in details).'},
  CONFLICT: {exit: EXIT.conflict, retryable: false, summary: 'The idempotency key was used with different arguments, or another process changed the run first.', action: 'Use a new idempotency key, or re-read the run and retry.'},
  RUN_NOT_FORKABLE: {exit: EXIT.conflict, retryable: false, summary: 'The run cannot be forked.', action: 'Fork from a run that has checkpoints.'},
  PARAM_NOT_MODIFIABLE: {exit: EXIT.invalid, retryable: false, summary: 'The parameter cannot be changed while the run is in flight.', action: 'Fork the run with --set instead (a valid value; for a typo, use the key in details.nearest).'},
  PARAM_OUT_OF_RANGE: {exit: EXIT.invalid, retryable: false, summary: 'The value is outside the range the recipe allows.', action: 'Pick a value within the range given in details.'},
  NO_CAPACITY: {exit: EXIT.transient, retryable: true, summary: 'Not enough free GPUs on the host.', action: 'Wait for a run to finish, or kill one.'},
  HOST_UNREACHABLE: {exit: EXIT.transient, retryable: true, summary: 'The host could not be reached.', action: 'Retry later; check the host is up and reachable.'},
  HOST_KEY_MISMATCH: {exit: EXIT.conflict, retryable: false, summary: 'The SSH host presented a key other than the one known for it (known_hosts or the fingerprint pinned in the store): possibly a man in the middle. Nothing was sent to it.', action: 'Check the host\'s key out of band; if it really changed, fix known_hosts (ssh-keygen -R) or run `autolab host check NAME --accept-new` after `autolab host forget-key NAME`.'},
  HOST_KEY_UNKNOWN: {exit: EXIT.conflict, retryable: false, summary: 'The SSH host\'s key is in neither known_hosts nor the store, so it cannot be verified. Nothing was sent to it.', action: 'Run `autolab host check NAME --accept-new` to pin its key (or add it to ~/.ssh/known_hosts).'},
  HOST_EXISTS: {exit: EXIT.conflict, retryable: false, summary: 'A host of that name is already declared in the project file; nothing was changed.', action: 'Pick another name, or `autolab host remove NAME` first to replace it.'},
  HOST_IN_USE: {exit: EXIT.conflict, retryable: false, summary: 'The host still has runs that need it (queued, starting, running, pausing, paused or killing); nothing was changed.', action: 'Let the runs listed in details end, or kill them, then retry.'},
  HOST_AUTH_FAILED: {exit: EXIT.invalid, retryable: false, summary: 'The SSH host refused every key offered (ssh-agent, then the identity files); autolab never asks for a password.', action: 'Load a key into ssh-agent, or set IdentityFile for the host in ~/.ssh/config, and check it is in the host\'s authorized_keys.'},
  OPERATION_IN_PROGRESS: {exit: EXIT.transient, retryable: true, summary: 'An operation with the same idempotency key, or on the same run, is still running.', action: 'Retry the same command (with the same idempotency key) in a moment.'},
  STORE_BUSY: {exit: EXIT.transient, retryable: true, summary: 'The store stayed locked by other processes past the busy timeout.', action: 'Retry with the same idempotency key.'},
  TIMEOUT: {exit: EXIT.transient, retryable: true, summary: 'The operation did not finish in time.', action: 'Retry, or raise --timeout.'},
  LAUNCH_FAILED: {exit: EXIT.internal, retryable: false, summary: 'The trainer process could not be started.', action: 'Check the recipe command and the run stderr.log.'},
  BUDGET_EXHAUSTED: {exit: EXIT.budget, retryable: false, summary: 'The campaign budget or deadline is spent.', action: 'Finalize the campaign or raise its budget.'},
  CAMPAIGN_FINALIZED: {exit: EXIT.budget, retryable: false, summary: 'The campaign is finalized and takes no more mutations.', action: 'Create a new campaign.'},
  STORE_READONLY: {exit: EXIT.conflict, retryable: false, summary: 'The store file (or its directory) is not writable: reads work, changes do not.', action: 'Make the store file and its directory writable by this user, or run read-only commands.'},
  STORE_LOST: {exit: EXIT.notFound, retryable: false, summary: 'The store file is missing or empty, but run directories of a store exist beside it: its runs would be taken over by a new store.', action: 'Restore the store file from a backup; or move the runs directory aside to start a new store there.'},
  DISK_FULL: {exit: EXIT.transient, retryable: true, summary: 'The disk holding the store (or a run directory) is full.', action: 'Free disk space (old run directories, checkpoints), then retry.'},
  STORE_ERROR: {exit: EXIT.internal, retryable: false, summary: 'The store could not be opened or migrated.', action: 'Check the --store path, its directory and its permissions.'},
  INTERNAL: {exit: EXIT.internal, retryable: false, summary: 'An unexpected error. Re-run with --debug for the stack trace.', action: 'Re-run with --debug and report the trace.'},
} as const satisfies Record<string, CodeSpec>

export type ErrorCode = keyof typeof ERROR_CODES

export interface ErrorOptions {
  retryable?: boolean
  suggestedAction?: string
  details?: Record<string, unknown>
  cause?: unknown
}

export class AutolabError extends Error {
  readonly code: ErrorCode
  readonly retryable: boolean
  readonly suggestedAction: string
  readonly details?: Record<string, unknown>

  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
    super(message, {cause: options.cause})
    this.name = 'AutolabError'
    this.code = code
    this.retryable = options.retryable ?? ERROR_CODES[code].retryable
    this.suggestedAction = options.suggestedAction ?? ERROR_CODES[code].action
    this.details = options.details
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exit
  }
}

/** Turn anything thrown into an AutolabError, keeping the original as the cause. */
export function toAutolabError(error: unknown): AutolabError {
  if (error instanceof AutolabError) {
    // oclif wraps the message of an error thrown by a flag's parser (integerFlag's included).
    error.message = withoutParserDecoration(error.message)
    return error
  }
  const err = error as {code?: string; message?: string; oclif?: unknown; name?: string}
  if (err?.code === 'SQLITE_BUSY' || err?.code === 'SQLITE_LOCKED') {
    return new AutolabError('STORE_BUSY', `The store is busy: ${err.message}`, {cause: error})
  }
  // SQLITE_FULL is SQLite's ENOSPC; ENOSPC itself comes from files autolab writes (export, runs).
  if (err?.code === 'SQLITE_FULL' || err?.code === 'ENOSPC') {
    return new AutolabError('DISK_FULL', `The disk is full: ${err.message}`, {cause: error})
  }
  // Any SQLITE_READONLY_* (a store file, its -wal/-shm or its directory not writable) that got
  // past the store's own read-only check.
  if (err?.code?.startsWith('SQLITE_READONLY')) {
    return new AutolabError('STORE_READONLY', `The store is read-only: ${err.message}`, {cause: error})
  }
  // oclif's parser errors (unknown flag, missing arg, bad integer, ...) are input errors.
  if (err?.oclif !== undefined || /^(Unexpected argument|Nonexistent flag|Missing required|Expected|Parsing --|.*must be)/.test(err?.message ?? '')) {
    const message = withoutParserDecoration(String(err?.message ?? error))
    return new AutolabError('INVALID_ARGUMENT', message, {cause: error})
  }
  return new AutolabError('INTERNAL', err?.message ? String(err.message) : String(error), {cause: error})
}

/**
 * oclif's flag parser turns "m" into "Parsing --flag \n\tm\nSee more help with --help": keep
 * "m", prefixed with the flag when it does not name it.
 */
function withoutParserDecoration(message: string): string {
  const text = message.split('\nSee more help')[0]
  const wrapped = /^Parsing (--\S+) *\n\t([\s\S]*)$/.exec(text)
  if (!wrapped) return text.trim()
  const [, flag, inner] = wrapped
  return inner.includes(flag) ? inner.trim() : `${flag}: ${inner.trim()}`
}

/** The codes that say a host could not be talked to, as opposed to a fault of a run or of the store. */
const HOST_FAULT_CODES: ReadonlySet<ErrorCode> = new Set(['HOST_UNREACHABLE', 'HOST_KEY_MISMATCH', 'HOST_KEY_UNKNOWN', 'HOST_AUTH_FAILED'])

export function isHostFault(error: unknown): error is AutolabError {
  return error instanceof AutolabError && HOST_FAULT_CODES.has(error.code)
}
