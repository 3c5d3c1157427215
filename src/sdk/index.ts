/**
 * autolab trainer SDK (TypeScript) — the trainer's side of the trainer contract (v1).
 *
 * A trainer is any process that honours the contract documented in `docs/trainer-contract.md`.
 * This module makes that a few lines:
 *
 * ```ts
 * import {TrainerRun} from 'autolab/sdk'
 * const run = TrainerRun.fromEnv()     // AUTOLAB_RUN_DIR, config.json, AUTOLAB_RESUME_FROM, control.json
 * for (let step = start; run.tick(step, {save, apply}) && step < maxSteps; ) run.log(++step, trainStep())
 * ```
 *
 * `tick` polls control.json, applies and acknowledges hot overrides, saves `save_at`
 * checkpoints, and returns false when the trainer must exit 0 (stop, or pause after its
 * checkpoint). The finer-grained {@link TrainerRun.poll}, {@link TrainerRun.acknowledge} and
 * {@link TrainerRun.saveCheckpoint} do the same step by step (see examples/toy-rl/trainer.ts).
 *
 * Dependency-free: only `node:` built-ins. Every append to a `.jsonl` file is one complete line
 * written with a single `appendFileSync` call, so a concurrent reader never sees half a line
 * except possibly at the very end of the file.
 *
 * @module
 */
import {appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync} from 'node:fs'
import {basename, isAbsolute, join, resolve} from 'node:path'

/** Run states the control plane can request through `control.json`. */
export type RunState = 'run' | 'pause' | 'stop'

/** The content of `control.json`, written by autolab atomically (temp file + rename). */
export interface ControlFile {
  /** Increases on every write by autolab. */
  version: number
  /** `run`: keep training; `pause`: checkpoint at the current step and exit 0; `stop`: exit 0 promptly. */
  state: RunState
  /** Hot overrides: flat dotted keys to values, e.g. `{"learning_rate": 2e-6}`. */
  overrides: Record<string, unknown>
  /** Steps at which a checkpoint must be saved (each once). */
  save_at: number[]
  /**
   * A checkpoint request id: whenever it increases, save a checkpoint after the next completed
   * step (autolab's `fork` of a running run asks this way, not knowing the exact step). 0: none.
   */
  save_now: number
  /** Observation cadence in steps (informational for trainers). */
  observation_cadence: number
  /** Capture a sample every `sample_cadence` steps (see {@link TrainerRun.shouldSample}). */
  sample_cadence: number
}

/** What {@link TrainerRun.poll} tells the trainer to do at a step. */
export interface ControlUpdate {
  /** The state requested by the control plane. */
  state: RunState
  /** The version of `control.json` this update reflects (0 when no control file exists). */
  version: number
  /**
   * Non-null only when a new control version brought overrides this process has not returned
   * yet: the entries (dotted key → value) that are new or whose value changed since the last
   * returned ones. Each is returned once; a fresh process (e.g. a resumed run) gets all of the
   * file's overrides at its first poll. Apply what you can, then call
   * {@link TrainerRun.acknowledge} with this `version`.
   */
  overrides: Record<string, unknown> | null
  /** True when the polled step is listed in `save_at`, or `save_now` increased, and no checkpoint was saved for it yet. */
  saveNow: boolean
}

/** Callbacks for {@link TrainerRun.tick}. */
export interface TickHooks {
  /** Write a checkpoint of the current state into `dir` (an empty temporary directory). */
  save: (dir: string) => void
  /**
   * Apply hot overrides (dotted key → value). Return what was applied (the values now in effect)
   * and, optionally, the keys refused with a reason.
   */
  apply?: (overrides: Record<string, unknown>) => {applied: Record<string, unknown>; rejected?: Record<string, string>}
}

/** Default values of `control.json` fields, used when the file or a field is missing. */
export const DEFAULT_CONTROL: Readonly<ControlFile> = Object.freeze({
  version: 0,
  state: 'run',
  overrides: {},
  save_at: [],
  save_now: 0,
  observation_cadence: 10,
  sample_cadence: 50,
})

/** Options for constructing a {@link TrainerRun} directly (tests, or trainers not launched by autolab). */
export interface TrainerRunOptions {
  /** The run directory (required). */
  runDir: string
  /** Run id; defaults to the run directory's base name. */
  runId?: string
  /** The run config; if omitted it is read from `configPath`. */
  config?: Record<string, unknown>
  /** Path of config.json; defaults to `<runDir>/config.json` (a missing default file means `{}`). */
  configPath?: string
  /** Path of control.json; defaults to `<runDir>/control.json`. */
  controlPath?: string
  /** Checkpoint directory to resume from, or null/empty for a fresh start. */
  resumeFrom?: string | null
}

/**
 * Encode a number for JSON: finite numbers as themselves, non-finite ones as the strings
 * `"NaN"`, `"Infinity"`, `"-Infinity"` (JSON cannot represent them).
 */
export function encodeNumber(v: number): number | string {
  return Number.isFinite(v) ? v : String(v)
}

/** Inverse of {@link encodeNumber}: `"NaN"`, `"Infinity"`, `"-Infinity"` become numbers; numbers pass through; anything else is null. */
export function decodeNumber(v: unknown): number | null {
  if (typeof v === 'number') return v
  if (v === 'NaN') return Number.NaN
  if (v === 'Infinity') return Number.POSITIVE_INFINITY
  if (v === '-Infinity') return Number.NEGATIVE_INFINITY
  return null
}

/** JSON.stringify replacer that writes non-finite numbers as strings (see {@link encodeNumber}). */
function nonFiniteReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? String(value) : value
}

/** Serialise a value as one JSON line (ending in `\n`), encoding non-finite numbers as strings. */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value, nonFiniteReplacer) + '\n'
}

/** Append one complete JSON line to `file` with a single write call. */
export function appendJsonLine(file: string, value: unknown): void {
  appendFileSync(file, jsonLine(value))
}

/** Read the value at a dotted path (`"optimizer.lr"`) of a nested object; undefined when absent. */
export function getDotted(obj: unknown, path: string): unknown {
  let cur: unknown = obj
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !Object.prototype.hasOwnProperty.call(cur, part)) return undefined
    cur = (cur as Record<string, unknown>)[part]
  }
  return cur
}

/** Set the value at a dotted path (`"optimizer.lr"`), creating intermediate objects. Mutates and returns `obj`. */
export function setDotted<T extends Record<string, unknown>>(obj: T, path: string, value: unknown): T {
  const parts = path.split('.')
  let cur: Record<string, unknown> = obj
  for (let i = 0; i < parts.length - 1; i++) {
    const p = parts[i]!
    const next = cur[p]
    if (next === null || typeof next !== 'object' || Array.isArray(next)) cur[p] = {}
    cur = cur[p] as Record<string, unknown>
  }
  cur[parts[parts.length - 1]!] = value
  return obj
}

/** Return a deep copy of `config` with flat dotted `overrides` applied (see {@link setDotted}). */
export function applyOverrides<T extends Record<string, unknown>>(config: T, overrides: Record<string, unknown>): T {
  const out = structuredClone(config)
  for (const [k, v] of Object.entries(overrides)) setDotted(out, k, v)
  return out
}

/** The step number encoded in a checkpoint directory name (`.../step-120` → 120), or null. */
export function checkpointStep(dir: string): number | null {
  const m = /^step-(\d+)$/.exec(basename(dir.replace(/[\\/]+$/, '')))
  return m ? Number(m[1]) : null
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/** Parse and normalise control.json content; throws on malformed JSON or a non-object. */
export function parseControl(text: string): ControlFile {
  const raw: unknown = JSON.parse(text)
  if (!isRecord(raw)) throw new Error('control.json is not a JSON object')
  const state = raw.state === 'pause' || raw.state === 'stop' ? raw.state : 'run'
  const num = (v: unknown, d: number) => (typeof v === 'number' && Number.isFinite(v) ? v : d)
  return {
    version: num(raw.version, 0),
    state,
    overrides: isRecord(raw.overrides) ? raw.overrides : {},
    save_at: Array.isArray(raw.save_at) ? raw.save_at.filter((s): s is number => typeof s === 'number' && Number.isInteger(s)) : [],
    save_now: num(raw.save_now, 0),
    observation_cadence: num(raw.observation_cadence, DEFAULT_CONTROL.observation_cadence),
    sample_cadence: num(raw.sample_cadence, DEFAULT_CONTROL.sample_cadence),
  }
}

/**
 * One training run, seen from the trainer. Create it with {@link TrainerRun.fromEnv} in a process
 * launched by autolab. All methods are synchronous and cheap enough to call every step.
 */
export class TrainerRun {
  /** `AUTOLAB_RUN_ID` (defaults to the run directory's base name). */
  readonly runId: string
  /** `AUTOLAB_RUN_DIR`, absolute. */
  readonly runDir: string
  /** The run's full config (content of config.json). */
  readonly config: Record<string, unknown>
  /** The checkpoint directory to resume from (`AUTOLAB_RESUME_FROM`), or null for a fresh start. */
  readonly resumeFrom: string | null
  /** Path of control.json. */
  readonly controlPath: string
  /** Paths of the files the trainer appends to. */
  readonly files: {readonly metrics: string; readonly samples: string; readonly events: string; readonly checkpoints: string}

  private controlSig: string | null = null
  private current: ControlFile = {...DEFAULT_CONTROL, overrides: {}, save_at: []}
  private lastOverrideVersion = Number.NEGATIVE_INFINITY
  private handledSaveNow = 0
  /** Dotted key → JSON of the value last returned by poll(). */
  private readonly returnedOverrides = new Map<string, string>()
  private readonly saved = new Set<number>()

  /**
   * Build a run from the launch environment: `AUTOLAB_RUN_DIR` (required), `AUTOLAB_RUN_ID`,
   * `AUTOLAB_CONFIG`, `AUTOLAB_RESUME_FROM` (empty = fresh start; a relative path is resolved
   * against the run directory), `AUTOLAB_CONTROL`.
   * @throws Error when `AUTOLAB_RUN_DIR` is missing, or when config.json is unreadable or not a JSON object.
   */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): TrainerRun {
    const runDir = env.AUTOLAB_RUN_DIR
    if (!runDir) {
      throw new Error(
        'AUTOLAB_RUN_DIR is not set: this trainer must be launched by autolab (or given the AUTOLAB_* environment of the trainer contract, see docs/trainer-contract.md)',
      )
    }
    return new TrainerRun({
      runDir,
      runId: env.AUTOLAB_RUN_ID || undefined,
      configPath: env.AUTOLAB_CONFIG || undefined,
      controlPath: env.AUTOLAB_CONTROL || undefined,
      resumeFrom: env.AUTOLAB_RESUME_FROM || null,
    })
  }

  /** Construct directly; most trainers use {@link TrainerRun.fromEnv}. */
  constructor(opts: TrainerRunOptions) {
    this.runDir = resolve(opts.runDir)
    this.runId = opts.runId ?? basename(this.runDir)
    this.controlPath = opts.controlPath ? resolve(this.runDir, opts.controlPath) : join(this.runDir, 'control.json')
    this.resumeFrom = opts.resumeFrom ? (isAbsolute(opts.resumeFrom) ? opts.resumeFrom : resolve(this.runDir, opts.resumeFrom)) : null
    this.files = {
      metrics: join(this.runDir, 'metrics.jsonl'),
      samples: join(this.runDir, 'samples.jsonl'),
      events: join(this.runDir, 'events.jsonl'),
      checkpoints: join(this.runDir, 'checkpoints'),
    }
    if (opts.config) {
      this.config = opts.config
    } else {
      const path = opts.configPath ? resolve(this.runDir, opts.configPath) : join(this.runDir, 'config.json')
      if (!opts.configPath && !existsSync(path)) {
        this.config = {}
      } else {
        let parsed: unknown
        try {
          parsed = JSON.parse(readFileSync(path, 'utf8'))
        } catch (err) {
          throw new Error(`cannot read run config ${path}: ${(err as Error).message}`)
        }
        if (!isRecord(parsed)) throw new Error(`run config ${path} is not a JSON object`)
        this.config = parsed
      }
    }
  }

  /** The control file as last read by {@link poll} or {@link readControl} (defaults before the first read or when absent). */
  get control(): Readonly<ControlFile> {
    return this.current
  }

  /**
   * Look at control.json now (re-read only if it changed) without consuming anything: overrides
   * are still reported by the next {@link poll}. Useful to notice `stop`/`pause` during a long step
   * or sleep.
   */
  readControl(): Readonly<ControlFile> {
    this.refreshControl()
    return this.current
  }

  /**
   * Append one metrics line `{"step","time","metrics"}` to metrics.jsonl. Non-finite values are
   * written as `"NaN"`, `"Infinity"`, `"-Infinity"`. Call once per step.
   */
  log(step: number, metrics: Record<string, number>): void {
    appendJsonLine(this.files.metrics, {step, time: Date.now() / 1000, metrics})
  }

  /** Append one sample `{"step","prompt","completion","reward"}` to samples.jsonl. */
  sample(step: number, s: {prompt: string; completion: string; reward: number}): void {
    appendJsonLine(this.files.samples, {step, prompt: s.prompt, completion: s.completion, reward: s.reward})
  }

  /** Append an arbitrary event object (must have a `type`) to events.jsonl. */
  event(e: {type: string; [k: string]: unknown}): void {
    appendJsonLine(this.files.events, e)
  }

  /**
   * Whether to capture a sample at `step`: `step % sample_cadence === 0`, with the cadence taken
   * from control.json as of the last {@link poll} (default 50). A cadence ≤ 0 disables sampling.
   */
  shouldSample(step: number): boolean {
    const c = Math.floor(this.current.sample_cadence)
    return c > 0 && step % c === 0
  }

  /**
   * Check the control file. Stats control.json (one cheap syscall) and re-reads it only when its
   * mtime, size, ctime or inode changed. A missing file means the defaults (state `run`); an
   * unparsable one (a writer that did not use temp + rename) is ignored until it changes.
   *
   * Call it once per step with the number of the last completed step: `saveNow` refers to that step.
   */
  poll(step: number): ControlUpdate {
    this.refreshControl()
    const c = this.current
    let overrides: Record<string, unknown> | null = null
    if (c.version > this.lastOverrideVersion) {
      this.lastOverrideVersion = c.version
      for (const [k, v] of Object.entries(c.overrides)) {
        const json = JSON.stringify(v) ?? 'undefined'
        if (this.returnedOverrides.get(k) === json) continue
        this.returnedOverrides.set(k, json)
        ;(overrides ??= {})[k] = v
      }
    }
    let saveNow = c.save_at.includes(step)
    if (c.save_now > this.handledSaveNow) {
      // Each request is answered once, by the first step polled after it.
      this.handledSaveNow = c.save_now
      saveNow = true
    }
    return {state: c.state, version: c.version, overrides, saveNow: saveNow && !this.hasCheckpoint(step)}
  }

  private refreshControl(): void {
    let sig: string
    try {
      const st = statSync(this.controlPath, {bigint: true})
      sig = `${st.mtimeNs}:${st.ctimeNs}:${st.size}:${st.ino}`
    } catch {
      sig = 'missing'
    }
    if (sig === this.controlSig) return
    if (sig === 'missing') {
      this.current = {...DEFAULT_CONTROL, overrides: {}, save_at: []}
      this.controlSig = sig
      return
    }
    try {
      this.current = parseControl(readFileSync(this.controlPath, 'utf8'))
      this.controlSig = sig
    } catch {
      // Torn or malformed write: keep the previous control and look again at the next poll.
      this.controlSig = null
    }
  }

  /**
   * Acknowledge a control version: appends `{"type":"control_ack","version","step","applied"}`
   * to events.jsonl. `step` is the first step trained with the new values; `applied` the values
   * actually in effect. Keys the trainer refused go in `rejected` (key → reason), written only when non-empty.
   */
  acknowledge(version: number, step: number, applied: Record<string, unknown>, rejected?: Record<string, string>): void {
    const e: {type: string; [k: string]: unknown} = {type: 'control_ack', version, step, applied}
    if (rejected && Object.keys(rejected).length > 0) e.rejected = rejected
    this.event(e)
  }

  /**
   * Every per-step duty of the contract in one call, for the common loop. With `step` the number
   * of completed steps (0 before the first one, or the resumed checkpoint's step):
   * 1. {@link poll}s control.json;
   * 2. new overrides go to `hooks.apply`, and the result is acknowledged as taking effect at
   *    `step + 1` (without an `apply` hook every key is rejected: the trainer has no hot parameters);
   * 3. `stop` → returns false (exit 0 now);
   * 4. `pause` → saves the step-`step` checkpoint with `hooks.save`, appends a `paused` event,
   *    returns false (exit 0 now);
   * 5. a `save_at` step → saves the checkpoint; then returns true (train step `step + 1`).
   *
   * ```ts
   * const run = TrainerRun.fromEnv()
   * for (let step = start; run.tick(step, {save, apply}) && step < maxSteps; ) run.log(++step, trainStep())
   * ```
   */
  tick(step: number, hooks: TickHooks): boolean {
    const u = this.poll(step)
    if (u.overrides) {
      let result: {applied: Record<string, unknown>; rejected?: Record<string, string>}
      if (hooks.apply) result = hooks.apply(u.overrides)
      else result = {applied: {}, rejected: Object.fromEntries(Object.keys(u.overrides).map((k) => [k, 'this trainer has no hot-modifiable parameters']))}
      this.acknowledge(u.version, step + 1, result.applied, result.rejected)
    }
    if (u.state === 'stop') return false
    if (u.state === 'pause') {
      this.saveCheckpoint(step, hooks.save)
      this.paused(step)
      return false
    }
    if (u.saveNow) this.saveCheckpoint(step, hooks.save)
    return true
  }

  /** Record that the trainer is exiting for a pause: appends `{"type":"paused","step"}`. */
  paused(step: number): void {
    this.event({type: 'paused', step})
  }

  /** Absolute path of the final directory of the step-`step` checkpoint of this run. */
  checkpointDir(step: number): string {
    return join(this.files.checkpoints, `step-${step}`)
  }

  /** Whether this process saved, or the run directory already holds, the step-`step` checkpoint. */
  hasCheckpoint(step: number): boolean {
    return this.saved.has(step) || existsSync(this.checkpointDir(step))
  }

  /**
   * Save the step-`step` checkpoint atomically: `write(tmpDir)` fills a fresh temporary directory
   * (`checkpoints/.tmp-step-N-<pid>`), which is then renamed to `checkpoints/step-N`, and only
   * then is the `{"type":"checkpoint","step","path":"checkpoints/step-N"}` event appended.
   * If `write` throws, the temporary directory is removed and the error rethrown (no event).
   * Checkpoints are immutable: if `checkpoints/step-N` already exists it is left untouched
   * (its event is appended if missing) and `write` is not called.
   * @returns the absolute final directory.
   */
  saveCheckpoint(step: number, write: (dir: string) => void): string {
    const tmp = this.beginCheckpoint(step)
    if (tmp === null) return this.finishExisting(step)
    try {
      write(tmp)
    } catch (err) {
      rmSync(tmp, {recursive: true, force: true})
      throw err
    }
    return this.commitCheckpoint(step, tmp)
  }

  /** Like {@link saveCheckpoint}, for an asynchronous `write`. */
  async saveCheckpointAsync(step: number, write: (dir: string) => Promise<void>): Promise<string> {
    const tmp = this.beginCheckpoint(step)
    if (tmp === null) return this.finishExisting(step)
    try {
      await write(tmp)
    } catch (err) {
      rmSync(tmp, {recursive: true, force: true})
      throw err
    }
    return this.commitCheckpoint(step, tmp)
  }

  private beginCheckpoint(step: number): string | null {
    if (!Number.isInteger(step) || step < 0) throw new Error(`checkpoint step must be a non-negative integer, got ${step}`)
    if (existsSync(this.checkpointDir(step))) return null
    const tmp = join(this.files.checkpoints, `.tmp-step-${step}-${process.pid}`)
    rmSync(tmp, {recursive: true, force: true})
    mkdirSync(tmp, {recursive: true})
    return tmp
  }

  private commitCheckpoint(step: number, tmp: string): string {
    const final = this.checkpointDir(step)
    renameSync(tmp, final)
    this.event({type: 'checkpoint', step, path: `checkpoints/step-${step}`})
    this.saved.add(step)
    return final
  }

  private finishExisting(step: number): string {
    // The directory exists: either saved earlier (event written), or a previous process died
    // between rename and event. The rename made its content complete, so announce it if needed.
    if (!this.saved.has(step) && !this.eventExists('checkpoint', step)) {
      this.event({type: 'checkpoint', step, path: `checkpoints/step-${step}`})
    }
    this.saved.add(step)
    return this.checkpointDir(step)
  }

  private eventExists(type: string, step: number): boolean {
    let text: string
    try {
      text = readFileSync(this.files.events, 'utf8')
    } catch {
      return false
    }
    for (const line of text.split('\n')) {
      if (!line) continue
      try {
        const e = JSON.parse(line) as {type?: unknown; step?: unknown}
        if (e.type === type && e.step === step) return true
      } catch {
        // a torn last line: ignore
      }
    }
    return false
  }
}
