/**
 * Pure-TS (BigInt) reference of numpy's `Generator(PCG64(seed)).shuffle`, following
 * ../shared/specs/numpy-pcg64-shuffle.md. Slow (BigInt 128-bit arithmetic): used by tests to check
 * the native kernel, and as a fallback for small N when the native addon is missing.
 */
const M32 = 0xffffffffn;
const M64 = (1n << 64n) - 1n;
const M128 = (1n << 128n) - 1n;
const INIT_A = 0x43b0d7e5n, MULT_A = 0x931e8875n, INIT_B = 0x8b51f9ddn, MULT_B = 0x58f38dedn;
const MIX_L = 0xca01f9ddn, MIX_R = 0x4973f715n;
const PCG_MULT = (2549297995355413924n << 64n) | 4865540595714422341n;

export type Seed = number | bigint;

export function toSeedBigInt(seed: Seed): bigint {
  if (typeof seed === 'number' && (!Number.isSafeInteger(seed) || seed < 0)) {
    throw new RangeError(`seed must be a non-negative safe integer or bigint, got ${seed}`);
  }
  const s = BigInt(seed);
  if (s < 0n) throw new RangeError(`seed must be non-negative, got ${s}`);
  return s;
}

/** numpy's _int_to_uint32_array: 32-bit words, least significant first; seed 0 → [0]. */
export function seedWords(seed: Seed): Uint32Array {
  let s = toSeedBigInt(seed);
  if (s === 0n) return new Uint32Array([0]);
  const w: number[] = [];
  while (s > 0n) {
    w.push(Number(s & M32));
    s >>= 32n;
  }
  return new Uint32Array(w);
}

export function seedSequenceState(seed: Seed): bigint[] {
  const words = Array.from(seedWords(seed), (x) => BigInt(x));
  let k = INIT_A;
  const hashmix = (v: bigint) => {
    v = (v ^ k) & M32;
    k = (k * MULT_A) & M32;
    v = (v * k) & M32;
    return v ^ (v >> 16n);
  };
  const mix = (x: bigint, y: bigint) => {
    const r = (MIX_L * x - MIX_R * y) & M32;
    return r ^ (r >> 16n);
  };
  const pool = [0, 1, 2, 3].map((i) => hashmix(i < words.length ? words[i]! : 0n));
  for (let s = 0; s < 4; s++) for (let d = 0; d < 4; d++) if (s !== d) pool[d] = mix(pool[d]!, hashmix(pool[s]!));
  for (let s = 4; s < words.length; s++) for (let d = 0; d < 4; d++) pool[d] = mix(pool[d]!, hashmix(words[s]!));
  let kb = INIT_B;
  const w32: bigint[] = [];
  for (let t = 0; t < 8; t++) {
    let v = pool[t % 4]! ^ kb;
    kb = (kb * MULT_B) & M32;
    v = (v * kb) & M32;
    w32.push(v ^ (v >> 16n));
  }
  return [0, 1, 2, 3].map((i) => w32[2 * i]! | (w32[2 * i + 1]! << 32n));
}

export class Pcg64Ref {
  state: bigint;
  inc: bigint;
  private has32 = false;
  private u32 = 0n;

  constructor(seed: Seed) {
    const s = seedSequenceState(seed);
    const initstate = (s[0]! << 64n) | s[1]!;
    const initseq = (s[2]! << 64n) | s[3]!;
    this.inc = ((initseq << 1n) | 1n) & M128;
    this.state = 0n;
    this.step();
    this.state = (this.state + initstate) & M128;
    this.step();
  }

  private step(): void {
    this.state = (this.state * PCG_MULT + this.inc) & M128;
  }

  next64(): bigint {
    this.step();
    const hi = this.state >> 64n;
    const x = (hi ^ this.state) & M64;
    const rot = hi >> 58n;
    return ((x >> rot) | (x << ((64n - rot) & 63n))) & M64;
  }

  next32(): bigint {
    if (this.has32) {
      this.has32 = false;
      return this.u32;
    }
    const r = this.next64();
    this.has32 = true;
    this.u32 = r >> 32n;
    return r & M32;
  }

  /** numpy random_interval: uniform in [0, max] by masked rejection. */
  interval(max: bigint): bigint {
    if (max === 0n) return 0n;
    const mask = (1n << BigInt(max.toString(2).length)) - 1n;
    if (max <= M32) {
      for (;;) {
        const v = this.next32() & mask;
        if (v <= max) return v;
      }
    }
    for (;;) {
      const v = this.next64() & mask;
      if (v <= max) return v;
    }
  }
}

/** First `count` 64-bit outputs (numpy's PCG64(seed).random_raw(count)). */
export function pcg64RawRef(seed: Seed, count: number): bigint[] {
  const g = new Pcg64Ref(seed);
  return Array.from({ length: count }, () => g.next64());
}

/** In-place Fisher–Yates exactly as numpy's Generator.shuffle (reference, BigInt). */
export function shuffleRef<T extends { length: number; [i: number]: number }>(a: T, seed: Seed): T {
  const g = new Pcg64Ref(seed);
  for (let i = a.length - 1; i >= 1; i--) {
    const j = Number(g.interval(BigInt(i)));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}

/** np.arange(n, dtype=uint32) shuffled with PCG64(seed) — reference implementation. */
export function globalOrderRef(n: number, seed: Seed): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return shuffleRef(a, seed);
}
