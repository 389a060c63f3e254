import { describe, expect, it } from 'vitest';
import { Generator, OlmoError, matmul, linear, setLowpIsa, tensor, tidy } from '../../src/index.js';
import { expectClose, finiteDiffGrad, projectionWeights, randomTensor, toF64 } from '../helpers.js';

/** float64 reference: C = op(A) op(B) for one batch entry. */
function refMatmul(a: Float64Array, b: Float64Array, M: number, N: number, K: number, ta: boolean, tb: boolean): Float64Array {
  const c = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += (ta ? a[k * M + i]! : a[i * K + k]!) * (tb ? b[j * K + k]! : b[k * N + j]!);
      c[i * N + j] = s;
    }
  return c;
}

describe('matmul', () => {
  for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]] as const) {
    it(`forward and gradients, transA=${ta} transB=${tb}, odd shapes, batched`, () => {
      const gen = new Generator(1);
      const B = 3, M = 5, N = 7, K = 9;
      const a = randomTensor(ta ? [B, K, M] : [B, M, K], gen);
      const b = randomTensor(tb ? [B, N, K] : [B, K, N], gen);
      const c = matmul(a, b, { transA: ta, transB: tb });
      expect(c.shape).toEqual([B, M, N]);
      const A = toF64(a), Bv = toF64(b);
      const ref = (xs: Float64Array[]) => {
        const out = new Float64Array(B * M * N);
        for (let z = 0; z < B; z++) out.set(refMatmul(xs[0]!.subarray(z * M * K, (z + 1) * M * K), xs[1]!.subarray(z * K * N, (z + 1) * K * N), M, N, K, ta, tb), z * M * N);
        return out;
      };
      expectClose(c.toFloat32Array(), ref([A, Bv]), 1e-6, 'forward');
      const w = projectionWeights(B * M * N);
      c.backward(tensor(Float32Array.from(w), { shape: [B, M, N] }));
      const [ga, gb] = finiteDiffGrad((xs) => ref(xs).reduce((s, v, i) => s + v * w[i]!, 0), [A, Bv]);
      expectClose(a.grad!.toFloat32Array(), ga!, 1e-5, 'dA');
      expectClose(b.grad!.toFloat32Array(), gb!, 1e-5, 'dB');
    });
  }

  it('linear with a shared weight over a batched input accumulates the weight gradient', () => {
    const gen = new Generator(2);
    const x = randomTensor([2, 3, 6], gen), w = randomTensor([4, 6], gen);
    const y = linear(x, w);
    expect(y.shape).toEqual([2, 3, 4]);
    const X = toF64(x), W = toF64(w);
    const ref = (xs: Float64Array[]) => refMatmul(xs[0]!, xs[1]!, 6, 4, 6, false, true);
    const refAll = (xs: Float64Array[]) => refMatmul(xs[0]!, xs[1]!, 6, 4, 6, false, true);
    void ref;
    expectClose(y.toFloat32Array(), refAll([X, W]), 1e-6);
    const g = projectionWeights(24);
    y.backward(tensor(Float32Array.from(g), { shape: [2, 3, 4] }));
    const [gx, gw] = finiteDiffGrad((xs) => refAll(xs).reduce((s, v, i) => s + v * g[i]!, 0), [X, W]);
    expectClose(x.grad!.toFloat32Array(), gx!, 1e-5, 'dx');
    expectClose(w.grad!.toFloat32Array(), gw!, 1e-5, 'dw');
  });

  it('rejects mismatched shapes with a typed error', () => {
    tidy(() => {
      const a = tensor([[1, 2, 3]]), b = tensor([[1, 2]]);
      let err: unknown;
      try { matmul(a, b); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(OlmoError);
      expect((err as OlmoError).code).toBe('SHAPE_MISMATCH');
    });
  });
});

describe('matmul decode shape (M = 1 uses GEMV)', () => {
  it('matches the float64 reference for x[1,K] @ W[N,K]^T and x[1,K] @ W[K,N]', () => {
    const gen = new Generator(3);
    const x = randomTensor([1, 33], gen, 1, false), w = randomTensor([17, 33], gen, 1, false), w2 = randomTensor([33, 17], gen, 1, false);
    const X = toF64(x), W = toF64(w), W2 = toF64(w2);
    expectClose(matmul(x, w, { transB: true }).toFloat32Array(), refMatmul(X, W, 1, 17, 33, false, true), 1e-6);
    expectClose(matmul(x, w2).toFloat32Array(), refMatmul(X, W2, 1, 17, 33, false, false), 1e-6);
  });

  it('the batch-1 x·Wᵀ GEMV (lowplinear F32 kernels) matches the reference on every CPU kernel path, tails included', () => {
    const gen = new Generator(4);
    try {
      for (const isa of ['scalar', 'avx2', 'avx512', 'native'] as const) {
        setLowpIsa(isa);
        for (const [N, K] of [[17, 33], [70, 300], [5, 64], [300, 1029]] as const) {
          const x = randomTensor([1, K], gen, 1, false), w = randomTensor([N, K], gen, 1, false);
          expectClose(matmul(x, w, { transB: true }).toFloat32Array(), refMatmul(toF64(x), toF64(w), 1, N, K, false, true), 1e-6, `${isa} N=${N} K=${K}`);
          x.dispose(); w.dispose();
        }
      }
    } finally {
      setLowpIsa('native');
    }
  });
});

describe('matmul short-prompt shape (1 < M <= 128, K >= 256 x·Wᵀ uses the lowplinear panel GEMM)', () => {
  // K = 255 / 256 straddle gemm.cc's panel threshold on Intel (256 since 2026-12-06), 300 and 512 the one elsewhere (512)
  it('matches the float64 reference on every CPU kernel path, across the M thresholds (16, 128) and the K threshold (256), tails included', () => {
    const gen = new Generator(5);
    try {
      for (const isa of ['scalar', 'avx2', 'avx512', 'native'] as const) {
        setLowpIsa(isa);
        for (const [M, N, K] of [[2, 17, 512], [16, 70, 600], [17, 70, 600], [17, 70, 300], [33, 129, 1029], [128, 40, 512], [129, 40, 512], [32, 40, 255], [32, 97, 256], [3, 40, 256], [128, 33, 256]] as const) {
          const x = randomTensor([M, K], gen, 1, false), w = randomTensor([N, K], gen, 1, false);
          expectClose(matmul(x, w, { transB: true }).toFloat32Array(), refMatmul(toF64(x), toF64(w), M, N, K, false, true), 1e-6, `${isa} M=${M} N=${N} K=${K}`);
          x.dispose(); w.dispose();
        }
      }
    } finally {
      setLowpIsa('native');
    }
  });
});
