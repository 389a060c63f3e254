// argmaxRows (native/cpu/argmax.cc) against the sequential JS loop greedy decoding used before it
// (`if (v > best)` from best = -Infinity, index 0): every index must be identical, including the
// cases a vectorised max gets wrong easily — ties across SIMD lanes and the tail, NaN, ±0, ±inf,
// rows shorter than one vector — for lengths around the 16-lane chunks and a 50304 vocabulary.
import { describe, expect, it } from 'vitest';
import { Generator, OlmoError, argmaxRows, tensor } from '../../src/index.js';

function expectCode(fn: () => unknown, code: string): void {
  let err: unknown;
  try { fn(); } catch (e) { err = e; }
  expect(err, `expected ${code}`).toBeInstanceOf(OlmoError);
  expect((err as OlmoError).code).toBe(code);
}

/** The reference: @olmo/model's greedy loop (sampleNext with temperature 0), on float32 values. */
function refArgmax(v: Float32Array, n = v.length): number {
  let best = 0, bv = -Infinity;
  for (let i = 0; i < n; i++) if (v[i]! > bv) { bv = v[i]!; best = i; }
  return best;
}

const one = (v: Float32Array, n?: number) => argmaxRows(tensor(v, { shape: [v.length] }), n)[0];

describe('argmaxRows', () => {
  const gen = new Generator(7);
  const lengths = [1, 2, 15, 16, 17, 31, 32, 33, 47, 100, 255, 256, 257, 1000, 50304];

  it('random rows of every length: the same index as the JS loop', () => {
    for (const n of lengths) {
      for (let rep = 0; rep < 5; rep++) {
        const v = new Float32Array(n);
        for (let i = 0; i < n; i++) v[i] = gen.normal();
        expect(one(v), `n=${n}`).toBe(refArgmax(v));
      }
    }
  });

  it('ties: the first maximum wins, wherever the copies sit (lanes, chunks, tail)', () => {
    for (const n of lengths) {
      for (let rep = 0; rep < 8; rep++) {
        // few distinct values, so the maximum repeats in several lanes and possibly in the tail
        const v = new Float32Array(n);
        for (let i = 0; i < n; i++) v[i] = Math.floor(gen.uniform() * 4);
        expect(one(v), `n=${n}`).toBe(refArgmax(v));
        // exactly two copies of a clear maximum: one late, one early in a later lane
        if (n >= 3) {
          const w = new Float32Array(n).fill(-1);
          const a = Math.floor(gen.uniform() * n), b = Math.floor(gen.uniform() * n);
          w[a] = 5; w[b] = 5;
          expect(one(w), `n=${n} a=${a} b=${b}`).toBe(Math.min(a, b));
        }
      }
    }
  });

  it('NaN never wins, ±0 tie, ±inf and rows with nothing above -inf', () => {
    for (const n of lengths) {
      const nan = new Float32Array(n).fill(NaN);
      expect(one(nan), `all NaN n=${n}`).toBe(0);
      const ninf = new Float32Array(n).fill(-Infinity);
      expect(one(ninf), `all -inf n=${n}`).toBe(0);
      // NaN / -inf everywhere but one finite value
      const mixed = new Float32Array(n);
      for (let i = 0; i < n; i++) mixed[i] = i % 3 === 0 ? NaN : -Infinity;
      const k = Math.floor(gen.uniform() * n);
      mixed[k] = -1e30;
      expect(one(mixed), `one finite n=${n}`).toBe(refArgmax(mixed));
      // NaN sprinkled among normals (including at the true maximum's neighbours)
      const sprinkled = new Float32Array(n);
      for (let i = 0; i < n; i++) sprinkled[i] = gen.uniform() < 0.3 ? NaN : gen.normal();
      expect(one(sprinkled), `sprinkled n=${n}`).toBe(refArgmax(sprinkled));
      // -0 before +0 (and the reverse) as the maximum
      const zeros = new Float32Array(n).fill(-2);
      const z1 = Math.floor(gen.uniform() * n), z2 = Math.floor(gen.uniform() * n);
      zeros[z1] = -0; zeros[z2] = 0;
      expect(one(zeros), `±0 n=${n}`).toBe(refArgmax(zeros));
      // +inf twice
      const pinf = new Float32Array(n);
      for (let i = 0; i < n; i++) pinf[i] = gen.normal();
      pinf[n - 1] = Infinity; pinf[Math.floor(n / 2)] = Infinity;
      expect(one(pinf), `+inf n=${n}`).toBe(refArgmax(pinf));
    }
  });

  it('count: only the first count values compete (vocabulary padding)', () => {
    const v = new Float32Array(300);
    for (let i = 0; i < v.length; i++) v[i] = gen.normal();
    v[290] = 100;  // in the padding: must be ignored
    for (const n of [0, 1, 17, 250, 289, 291, 300]) expect(one(v, n), `count ${n}`).toBe(refArgmax(v, n));
  });

  it('rows of a 3-D tensor and of a strided (non-contiguous) view', () => {
    const B = 3, T = 4, V = 77;
    const data = new Float32Array(B * T * V);
    for (let i = 0; i < data.length; i++) data[i] = Math.floor(gen.uniform() * 6);
    const x = tensor(data, { shape: [B, T, V] });
    const want = (b: number, t: number, n = V) => refArgmax(data.subarray((b * T + t) * V, (b * T + t) * V + V), n);
    expect(argmaxRows(x)).toEqual(Array.from({ length: B * T }, (_, r) => want(Math.floor(r / T), r % T)));
    const last = x.slice(1, T - 1, T);  // [B, 1, V]: strided over the batch
    expect(argmaxRows(last, 50)).toEqual([0, 1, 2].map((b) => want(b, T - 1, 50)));
    const xt = x.transpose(1, 2);  // [B, V, T]: rows of length T, gathered through contig()
    const ref: number[] = [];
    for (let b = 0; b < B; b++) for (let c = 0; c < V; c++) {
      const col = new Float32Array(T);
      for (let t = 0; t < T; t++) col[t] = data[(b * T + t) * V + c]!;
      ref.push(refArgmax(col));
    }
    expect(argmaxRows(xt)).toEqual(ref);
    expect(argmaxRows(tensor(new Float32Array(0), { shape: [3, 0] }))).toEqual([0, 0, 0]);
    expect(argmaxRows(tensor(new Float32Array(0), { shape: [0, 5] }))).toEqual([]);
  });

  it('bad input: typed errors', () => {
    expectCode(() => argmaxRows(tensor([1, 2, 3], { dtype: 'int32' })), 'DTYPE_UNSUPPORTED');
    const x = tensor([1, 2, 3]);
    expectCode(() => argmaxRows(x, 4), 'INVALID_ARGUMENT');
    expectCode(() => argmaxRows(x, -1), 'INVALID_ARGUMENT');
    expectCode(() => argmaxRows(x, 1.5), 'INVALID_ARGUMENT');
    expectCode(() => argmaxRows(tensor(5)), 'INVALID_ARGUMENT');
    x.dispose();
    expectCode(() => argmaxRows(x), 'TENSOR_DISPOSED');
  });
});
