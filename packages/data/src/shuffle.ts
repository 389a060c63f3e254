/**
 * Native numpy-exact shuffle (native/cpu/shuffle.cc). Works in place on JS memory (Uint32Array,
 * ArrayBuffer) or a NativeBuffer — nothing is copied, so a 16 GB order for 2^32 instances needs
 * exactly one 16 GB buffer.
 */
import { fromNative, native } from '@olmo/tensor-cuda';
import { DataError } from './errors.js';
import { globalOrderRef, pcg64RawRef, seedWords, shuffleRef, type Seed } from './pcg64.js';

let nativeOk: boolean | undefined;

/** True when the native addon with the shuffle kernel is loadable. */
export function nativeShuffleAvailable(): boolean {
  if (nativeOk === undefined) {
    try {
      nativeOk = typeof native().shuffleU32 === 'function';
    } catch {
      nativeOk = false;
    }
  }
  return nativeOk;
}

function callNative<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw fromNative(e);
  }
}

/** Largest N for which the BigInt fallback is used silently when the addon is missing. */
const FALLBACK_MAX = 2_000_000;

export interface ShuffleOptions {
  /** Set the array to 0..n-1 first (one pass; default false). */
  arange?: boolean;
  /** Force the pure-TS reference (tests). */
  reference?: boolean;
}

/**
 * Shuffles `a` in place exactly as `np.random.Generator(np.random.PCG64(seed)).shuffle(a)`.
 * `a` may be a view into a larger buffer (only its elements are touched).
 */
export function shuffleU32(a: Uint32Array, seed: Seed, opts: ShuffleOptions = {}): Uint32Array {
  if (opts.arange) for (let i = 0; i < a.length; i++) a[i] = i;
  if (opts.reference) return shuffleRef(a, seed);
  const words = seedWords(seed);
  if (!nativeShuffleAvailable()) {
    if (a.length > FALLBACK_MAX) {
      throw new DataError('NATIVE_UNAVAILABLE', `shuffling ${a.length} indices needs the native addon`,
        'build it: cd packages/tensor-cuda && node scripts/build-native.mjs');
    }
    return shuffleRef(a, seed);
  }
  callNative(() => native().shuffleU32(a, 0, a.length, words, false));
  return a;
}

/** `np.arange(n, dtype=np.uint32)` shuffled with PCG64(seed), filled and shuffled natively in one pass. */
export function globalOrder(n: number, seed: Seed, into?: Uint32Array): Uint32Array {
  if (!Number.isSafeInteger(n) || n < 0 || n > 2 ** 32) throw new DataError('INVALID_ARGUMENT', `numInstances must be an integer in [0, 2^32], got ${n}`);
  const a = into ? into.subarray(0, n) : new Uint32Array(n);
  if (a.length !== n) throw new DataError('INVALID_ARGUMENT', `target holds ${a.length} < ${n} elements`);
  if (!nativeShuffleAvailable()) {
    if (n > FALLBACK_MAX) {
      throw new DataError('NATIVE_UNAVAILABLE', `shuffling ${n} indices needs the native addon`,
        'build it: cd packages/tensor-cuda && node scripts/build-native.mjs');
    }
    a.set(globalOrderRef(n, seed));
    return a;
  }
  callNative(() => native().shuffleU32(a, 0, n, seedWords(seed), true));
  return a;
}

/**
 * globalOrder on a libuv worker thread (the event loop keeps running; for orders of billions of
 * indices). Do not read or transfer `into` until the promise resolves.
 */
export async function globalOrderAsync(n: number, seed: Seed, into?: Uint32Array): Promise<Uint32Array> {
  if (!nativeShuffleAvailable() || typeof native().shuffleU32Async !== 'function') return globalOrder(n, seed, into);
  if (!Number.isSafeInteger(n) || n < 0 || n > 2 ** 32) throw new DataError('INVALID_ARGUMENT', `numInstances must be an integer in [0, 2^32], got ${n}`);
  const a = into ? into.subarray(0, n) : new Uint32Array(n);
  if (a.length !== n) throw new DataError('INVALID_ARGUMENT', `target holds ${a.length} < ${n} elements`);
  try {
    await (native().shuffleU32Async(a, 0, n, seedWords(seed), true) as Promise<void>);
  } catch (e) {
    throw fromNative(e);
  }
  return a;
}

/** Shuffles `n` uint32 values at `byteOffset` of a NativeBuffer in place (CPU buffers only). */
export function shuffleNativeBuffer(buf: unknown, byteOffset: number, n: number, seed: Seed, arange = false): void {
  callNative(() => native().shuffleU32(buf, byteOffset, n, seedWords(seed), arange));
}

/** numpy's PCG64(seed).random_raw(count), from the native generator (reference when native is missing). */
export function pcg64Raw(seed: Seed, count: number): bigint[] {
  if (!nativeShuffleAvailable()) return pcg64RawRef(seed, count);
  return Array.from(callNative(() => native().pcg64Raw(seedWords(seed), count) as BigUint64Array));
}

/** PCG64(seed).state after seeding: { state, inc } as 128-bit bigints. */
export function pcg64SeededState(seed: Seed): { state: bigint; inc: bigint } {
  const s = callNative(() => native().pcg64SeededState(seedWords(seed)) as BigUint64Array);
  return { state: (s[0]! << 64n) | s[1]!, inc: (s[2]! << 64n) | s[3]! };
}
