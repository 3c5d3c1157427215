/**
 * The toy policy and its GRPO update, in plain Float64Arrays.
 *
 * Task: a prompt is a pair (a, b) with 0 ≤ a, b < m; the correct completion is (a + b) mod m;
 * reward 1 when the sampled answer is correct, else 0.
 *
 * Policy: a tabular softmax policy — one vector of m logits per prompt, m³ parameters in one
 * flat Float64Array (index ((a·m + b)·m + y)), so weights and optimizer state are saved and
 * restored bit-exactly. Chance level is 1/m.
 *
 * Numerics: log-probabilities are computed as Math.log(softmax(z / T)) — probabilities first,
 * then their log, as many naive implementations do. It is exact at sane step sizes, but when the
 * logits blow up (absurd learning rate, or a tiny temperature) probabilities underflow to 0,
 * log(0) = -Infinity and 0 · -Infinity = NaN turn the KL, entropy and loss into NaN: a genuine
 * numerical divergence, which then poisons the weights through the gradient.
 */
import type {Rng} from './rng.js'

/** Number of parameters for modulus m. */
export function paramCount(m: number): number {
  return m * m * m
}

/** Initial logits ~ N(0, init_scale²): a random, roughly chance-level policy. */
export function initParams(m: number, initScale: number, rng: Rng): Float64Array {
  const p = new Float64Array(paramCount(m))
  for (let i = 0; i < p.length; i++) p[i] = rng.normal() * initScale
  return p
}

/** Softmax of z[off .. off+m) / T into q (max-subtracted, so exp never overflows). */
export function softmax(z: Float64Array, off: number, m: number, T: number, q: Float64Array): void {
  let max = Number.NEGATIVE_INFINITY
  for (let i = 0; i < m; i++) if (z[off + i]! > max) max = z[off + i]!
  let sum = 0
  for (let i = 0; i < m; i++) {
    const e = Math.exp((z[off + i]! - max) / T)
    q[i] = e
    sum += e
  }
  for (let i = 0; i < m; i++) q[i] = q[i]! / sum
}

/** Index of the largest of z[off .. off+m) (first one on ties; 0 if all are NaN). */
export function argmax(z: Float64Array, off: number, m: number): number {
  let best = 0
  for (let i = 1; i < m; i++) if (z[off + i]! > z[off + best]!) best = i
  return best
}

/** Draw an index from the distribution q with one uniform draw u ∈ [0, 1). */
export function sampleIndex(q: Float64Array, u: number): number {
  let c = 0
  for (let i = 0; i < q.length; i++) {
    c += q[i]!
    if (u < c) return i
  }
  // Rounding (or NaN) left u ≥ the running total: the last index with positive mass, else the last.
  for (let i = q.length - 1; i >= 0; i--) if (q[i]! > 0) return i
  return q.length - 1
}

/** Adam optimizer state: first and second moment estimates and the update count. */
export interface AdamState {
  m: Float64Array
  v: Float64Array
  t: number
}

export const ADAM = {beta1: 0.9, beta2: 0.999, eps: 1e-8} as const

/** One Adam update (with bias correction) of p by gradient g at step size lr. */
export function adamUpdate(p: Float64Array, g: Float64Array, s: AdamState, lr: number): void {
  s.t += 1
  const {beta1, beta2, eps} = ADAM
  const c1 = 1 - Math.pow(beta1, s.t)
  const c2 = 1 - Math.pow(beta2, s.t)
  for (let i = 0; i < p.length; i++) {
    const gi = g[i]!
    const mi = beta1 * s.m[i]! + (1 - beta1) * gi
    const vi = beta2 * s.v[i]! + (1 - beta2) * gi * gi
    s.m[i] = mi
    s.v[i] = vi
    p[i] = p[i]! - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + eps)
  }
}

/** The hot-modifiable hyper-parameters. */
export interface Hyper {
  learning_rate: number
  beta: number
  temperature: number
}

export interface StepResult {
  loss: number
  reward: number
  kl: number
  entropy: number
  /** The first rollout of the step, for samples.jsonl. */
  example: {a: number; b: number; answer: number; reward: number}
}

/** Group-relative advantage epsilon: A = (r - mean) / (std + ADV_EPS). */
export const ADV_EPS = 1e-4

/** Scratch buffers, allocated once per trainer. */
export class Workspace {
  readonly q: Float64Array
  readonly logq: Float64Array
  readonly qr: Float64Array
  readonly logr: Float64Array
  readonly dz: Float64Array
  readonly grad: Float64Array
  readonly ys: Int32Array
  readonly rs: Float64Array
  constructor(m: number, group: number) {
    this.q = new Float64Array(m)
    this.logq = new Float64Array(m)
    this.qr = new Float64Array(m)
    this.logr = new Float64Array(m)
    this.dz = new Float64Array(m)
    this.grad = new Float64Array(paramCount(m))
    this.ys = new Int32Array(group)
    this.rs = new Float64Array(group)
  }
}

/**
 * One GRPO step: sample `batch` prompts and `group` completions per prompt at temperature T,
 * compute group-relative advantages A = (r - mean) / (std + eps), the loss
 *   mean over prompts of [ -mean over group (A · log q(y)) + beta · KL(q ‖ q_ref) ]
 * where q and q_ref are the current and the initial (reference) policy at temperature T, its exact
 * gradient, and apply one Adam update. Consumes exactly 2·batch + batch·group draws of `rng`.
 */
export function grpoStep(
  p: Float64Array,
  ref: Float64Array,
  opt: AdamState,
  m: number,
  hp: Hyper,
  batch: number,
  group: number,
  rng: Rng,
  ws: Workspace,
): StepResult {
  const T = hp.temperature
  const g = ws.grad
  g.fill(0)
  let lossSum = 0
  let rewardSum = 0
  let klSum = 0
  let entSum = 0
  let example = {a: 0, b: 0, answer: 0, reward: 0}
  for (let i = 0; i < batch; i++) {
    const a = rng.int(m)
    const b = rng.int(m)
    const target = (a + b) % m
    const off = (a * m + b) * m
    softmax(p, off, m, T, ws.q)
    softmax(ref, off, m, T, ws.qr)
    // Rollouts and rewards.
    let mean = 0
    for (let k = 0; k < group; k++) {
      const y = sampleIndex(ws.q, rng.float())
      ws.ys[k] = y
      const r = y === target ? 1 : 0
      ws.rs[k] = r
      mean += r
    }
    mean /= group
    let varSum = 0
    for (let k = 0; k < group; k++) varSum += (ws.rs[k]! - mean) ** 2
    const std = Math.sqrt(varSum / group)
    if (i === 0) example = {a, b, answer: ws.ys[0]!, reward: ws.rs[0]!}
    rewardSum += mean
    // Log-probs the naive way (see the module comment), KL to the reference, entropy.
    let kl = 0
    let ent = 0
    for (let y = 0; y < m; y++) {
      ws.logq[y] = Math.log(ws.q[y]!)
      ws.logr[y] = Math.log(ws.qr[y]!)
      kl += ws.q[y]! * (ws.logq[y]! - ws.logr[y]!)
      ent -= ws.q[y]! * ws.logq[y]!
    }
    // Policy-gradient term; d(-A log q_y)/dz_j = -A (1[j=y] - q_j) / T.
    ws.dz.fill(0)
    let pg = 0
    for (let k = 0; k < group; k++) {
      const adv = (ws.rs[k]! - mean) / (std + ADV_EPS)
      const y = ws.ys[k]!
      pg -= (adv * ws.logq[y]!) / group
      for (let j = 0; j < m; j++) ws.dz[j] = ws.dz[j]! - (adv * ((j === y ? 1 : 0) - ws.q[j]!)) / (group * T)
    }
    // KL term; d KL(q‖r)/dz_j = q_j (log q_j - log r_j - KL) / T.
    for (let j = 0; j < m; j++) ws.dz[j] = ws.dz[j]! + (hp.beta * ws.q[j]! * (ws.logq[j]! - ws.logr[j]! - kl)) / T
    lossSum += pg + hp.beta * kl
    klSum += kl
    entSum += ent
    for (let j = 0; j < m; j++) g[off + j] = g[off + j]! + ws.dz[j]! / batch
  }
  adamUpdate(p, g, opt, hp.learning_rate)
  return {loss: lossSum / batch, reward: rewardSum / batch, kl: klSum / batch, entropy: entSum / batch, example}
}

/** Greedy accuracy over every prompt of the task (all m² pairs). */
export function greedyAccuracy(p: Float64Array, m: number): number {
  let correct = 0
  for (let a = 0; a < m; a++) {
    for (let b = 0; b < m; b++) if (argmax(p, (a * m + b) * m, m) === (a + b) % m) correct++
  }
  return correct / (m * m)
}
