/**
 * xoshiro128** — a small, fast, seedable PRNG whose whole state is four uint32 words, so it can
 * be saved in a checkpoint and restored exactly.
 */
export type RngState = [number, number, number, number]

/** splitmix32: expands a 32-bit seed into well-mixed words for the xoshiro state. */
function splitmix32(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
}

/** Fold any finite number (integer or not, possibly negative or > 2^32) into a uint32 seed. */
export function seedWord(seed: number, salt = 0): number {
  const buf = new DataView(new ArrayBuffer(8))
  buf.setFloat64(0, seed)
  const lo = buf.getUint32(4)
  const hi = buf.getUint32(0)
  const mix = splitmix32((hi ^ Math.imul(lo, 0x9e3779b1) ^ Math.imul(salt >>> 0, 0x85ebca6b)) >>> 0)
  return mix()
}

export class Rng {
  private s0 = 0
  private s1 = 0
  private s2 = 0
  private s3 = 0

  constructor(seed: number, salt = 0) {
    const sm = splitmix32(seedWord(seed, salt))
    this.s0 = sm()
    this.s1 = sm()
    this.s2 = sm()
    this.s3 = sm()
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1
  }

  static fromState(state: readonly number[]): Rng {
    if (state.length !== 4 || !state.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff)) {
      throw new Error(`invalid RNG state ${JSON.stringify(state)}`)
    }
    const r = new Rng(0)
    ;[r.s0, r.s1, r.s2, r.s3] = state as RngState
    return r
  }

  state(): RngState {
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0]
  }

  /** Next uint32. */
  nextU32(): number {
    const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k))
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0
    const t = this.s1 << 9
    this.s2 ^= this.s0
    this.s3 ^= this.s1
    this.s1 ^= this.s2
    this.s0 ^= this.s3
    this.s2 ^= t
    this.s3 = rotl(this.s3, 11)
    return result
  }

  /** Uniform double in [0, 1) with 32 bits of randomness. */
  float(): number {
    return this.nextU32() / 4294967296
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n)
  }

  /** Standard normal (Box-Muller, no cached second value so the state is the whole story). */
  normal(): number {
    const u1 = 1 - this.float() // (0, 1]
    const u2 = this.float()
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2)
  }
}
