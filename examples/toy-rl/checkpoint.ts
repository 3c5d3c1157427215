/**
 * The toy trainer's checkpoint format: everything needed to continue bit-exactly.
 *
 *   state.json   {format, step, modulus, n_params, seed, rng, adam_t, hyper, config_hyper}
 *   params.f64   current logits table      ─┐
 *   ref.f64      initial (reference) table  │ n_params IEEE-754 doubles each,
 *   adam_m.f64   Adam first moments         │ little-endian, no header
 *   adam_v.f64   Adam second moments       ─┘
 *
 * `hyper` holds the values in effect when the checkpoint was taken (hot overrides included);
 * `config_hyper` the config's values at that time, so a resumed run can tell whether its config
 * changed since (a fork with --set) or not (a plain resume keeps the effective values).
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import type {Hyper} from './policy.js'
import type {RngState} from './rng.js'

export const CHECKPOINT_FORMAT = 'autolab-toy-rl/1'

export interface ToyState {
  step: number
  modulus: number
  seed: number
  rng: RngState
  params: Float64Array
  ref: Float64Array
  adam: {m: Float64Array; v: Float64Array; t: number}
  /** Values in effect (after hot overrides). */
  hyper: Hyper
  /** The config's values of the same keys. */
  configHyper: Hyper
}

interface StateJson {
  format: string
  step: number
  modulus: number
  n_params: number
  seed: number
  rng: RngState
  adam_t: number
  hyper: Hyper
  config_hyper: Hyper
}

export function writeF64(path: string, a: Float64Array): void {
  const buf = Buffer.allocUnsafe(a.length * 8)
  for (let i = 0; i < a.length; i++) buf.writeDoubleLE(a[i]!, i * 8)
  writeFileSync(path, buf)
}

export function readF64(path: string, n: number): Float64Array {
  const buf = readFileSync(path)
  if (buf.length !== n * 8) throw new Error(`${path}: expected ${n * 8} bytes, found ${buf.length}`)
  const a = new Float64Array(n)
  for (let i = 0; i < n; i++) a[i] = buf.readDoubleLE(i * 8)
  return a
}

/** Write the state into `dir` (an empty temporary directory provided by the SDK). */
export function writeState(dir: string, s: ToyState): void {
  writeF64(join(dir, 'params.f64'), s.params)
  writeF64(join(dir, 'ref.f64'), s.ref)
  writeF64(join(dir, 'adam_m.f64'), s.adam.m)
  writeF64(join(dir, 'adam_v.f64'), s.adam.v)
  const json: StateJson = {
    format: CHECKPOINT_FORMAT,
    step: s.step,
    modulus: s.modulus,
    n_params: s.params.length,
    seed: s.seed,
    rng: s.rng,
    adam_t: s.adam.t,
    hyper: s.hyper,
    config_hyper: s.configHyper,
  }
  // Written last: a directory with state.json has all its files.
  writeFileSync(join(dir, 'state.json'), JSON.stringify(json, null, 2) + '\n')
}

/** Read a checkpoint directory written by {@link writeState}. @throws Error with the reason. */
export function readState(dir: string): ToyState {
  let j: StateJson
  try {
    j = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as StateJson
  } catch (err) {
    throw new Error(`cannot read checkpoint ${dir}: ${(err as Error).message}`)
  }
  if (j.format !== CHECKPOINT_FORMAT) throw new Error(`checkpoint ${dir}: format ${JSON.stringify(j.format)}, expected ${CHECKPOINT_FORMAT}`)
  const n = j.n_params
  return {
    step: j.step,
    modulus: j.modulus,
    seed: j.seed,
    rng: j.rng,
    params: readF64(join(dir, 'params.f64'), n),
    ref: readF64(join(dir, 'ref.f64'), n),
    adam: {m: readF64(join(dir, 'adam_m.f64'), n), v: readF64(join(dir, 'adam_v.f64'), n), t: j.adam_t},
    hyper: j.hyper,
    configHyper: j.config_hyper,
  }
}
