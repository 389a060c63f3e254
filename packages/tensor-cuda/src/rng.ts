/**
 * Seeded, reproducible random numbers for initialisation and sampling: xoshiro128** seeded by
 * splitmix32 from a 53-bit integer seed. The state can be saved and restored (exact resume).
 */
import { tensor, type TensorOptions } from './creation.js';
import { ArgumentError } from './errors.js';
import type { Tensor } from './tensor.js';

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class Generator {
  private s = new Uint32Array(4);
  private spareNormal: number | null = null;

  constructor(seed = 0) {
    this.seed(seed);
  }

  seed(seed: number): void {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new ArgumentError(`seed must be a non-negative safe integer, got ${seed}`);
    const lo = splitmix32(seed >>> 0), hi = splitmix32(Math.floor(seed / 2 ** 32) ^ 0x5bd1e995);
    for (let i = 0; i < 4; i++) this.s[i] = (lo() ^ hi()) >>> 0;
    if (this.s.every((x) => x === 0)) this.s[0] = 1;
    this.spareNormal = null;
  }

  /** Uniform uint32. */
  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2]! ^= s[0]!; s[3]! ^= s[1]!; s[1]! ^= s[2]!; s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  random(): number {
    const a = this.nextU32() >>> 5, b = this.nextU32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  uniform(low = 0, high = 1): number {
    return low + (high - low) * this.random();
  }

  /** Standard normal (Box-Muller, both values used). */
  normal(mean = 0, std = 1): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return mean + std * z;
    }
    let u = 0;
    while (u === 0) u = this.random();
    const v = this.random();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return mean + std * r * Math.cos(2 * Math.PI * v);
  }

  /** Normal truncated to [a, b] by rejection (as torch.nn.init.trunc_normal_ bounds it). */
  truncNormal(mean: number, std: number, a: number, b: number): number {
    if (!(a < b)) throw new ArgumentError(`truncNormal: empty interval [${a}, ${b}]`);
    for (let i = 0; i < 1000; i++) {
      const x = this.normal(mean, std);
      if (x >= a && x <= b) return x;
    }
    return Math.min(b, Math.max(a, mean));
  }

  getState(): { s: number[]; spare: number | null } {
    return { s: [...this.s], spare: this.spareNormal };
  }

  setState(state: { s: number[]; spare: number | null }): void {
    if (!Array.isArray(state.s) || state.s.length !== 4) throw new ArgumentError('invalid generator state');
    this.s.set(state.s.map((x) => x >>> 0));
    this.spareNormal = state.spare;
  }

  fillNormal(out: Float32Array, mean = 0, std = 1): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.normal(mean, std);
    return out;
  }

  fillTruncNormal(out: Float32Array, mean: number, std: number, a: number, b: number): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.truncNormal(mean, std, a, b);
    return out;
  }

  fillUniform(out: Float32Array, low = 0, high = 1): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.uniform(low, high);
    return out;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

function sized(shape: readonly number[]): Float32Array {
  return new Float32Array(shape.reduce((a, b) => a * b, 1));
}

export function randn(shape: readonly number[], gen: Generator, opts: TensorOptions & { mean?: number; std?: number } = {}): Tensor {
  return tensor(gen.fillNormal(sized(shape), opts.mean ?? 0, opts.std ?? 1), { ...opts, shape });
}

export function rand(shape: readonly number[], gen: Generator, opts: TensorOptions & { low?: number; high?: number } = {}): Tensor {
  return tensor(gen.fillUniform(sized(shape), opts.low ?? 0, opts.high ?? 1), { ...opts, shape });
}

export function truncNormal(shape: readonly number[], gen: Generator, opts: TensorOptions & { mean?: number; std: number; a: number; b: number }): Tensor {
  return tensor(gen.fillTruncNormal(sized(shape), opts.mean ?? 0, opts.std, opts.a, opts.b), { ...opts, shape });
}
