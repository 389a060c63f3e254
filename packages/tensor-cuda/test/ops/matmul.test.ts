import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { Generator, OlmoError, add, matmul, linear, linearMulti, noGrad, setLowpIsa, sum, tensor, tidy, withAutocast } from '../../src/index.js';
import { ensureFreshDist, repoRoot } from '../../../../test/support/fresh-dist.js';
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

describe('linearMulti (several float32 linears sharing x: one native linearF32 call on the CPU without autograd)', () => {
  // Shapes across gemm.cc's thresholds: M = 1 (GEMV), 2..16 (per-row GEMV kernels), 17..128 (the
  // in-place panel GEMM; 32-row blocks and a <= 16-row last block), 129 (sgemm); K 255 / 256 (the
  // panel's K threshold on Intel) and 1029 (k blocks of 256 plus a tail); N not a multiple of the
  // 24-row panel or the 12 / 6-row register tiles (the copied short last panel).
  const shapes = [[1, 256], [2, 300], [16, 256], [17, 256], [32, 256], [33, 1029], [128, 512], [129, 256], [32, 255], [5, 40]] as const;
  const Ns = [24, 7, 97, 256];

  it('gives every weight the bits of its own linear(), on every CPU kernel path, and matches the float64 reference', () => {
    const gen = new Generator(11);
    try {
      for (const isa of ['scalar', 'avx2', 'avx512', 'native'] as const) {
        setLowpIsa(isa);
        for (const [M, K] of shapes) {
          tidy(() => {
            const x = randomTensor([M, K], gen, 1, false);
            const ws = Ns.map((N) => randomTensor([N, K], gen, 1, false));
            const fused = linearMulti(x, ws);
            ws.forEach((w, i) => {
              const y = fused[i]!.toFloat32Array();
              expect(fused[i]!.shape).toEqual([M, Ns[i]]);
              expect(y, `${isa} M=${M} K=${K} weight ${i}`).toEqual(linear(x, w).toFloat32Array());
              expectClose(y, refMatmul(toF64(x), toF64(w), M, Ns[i]!, K, false, true), 1e-6, `${isa} M=${M} K=${K} N=${Ns[i]}`);
            });
          });
        }
      }
    } finally {
      setLowpIsa('native');
    }
  });

  it('keeps the leading dims of x, reads a non-contiguous x, and takes weight views at an offset', () => {
    tidy(() => {
      const gen = new Generator(12);
      const x = randomTensor([2, 20, 256], gen, 1, false);
      const xt = randomTensor([256, 40], gen, 1, false).transpose(0, 1);  // [40, 256], not contiguous
      const big = randomTensor([100, 256], gen, 1, false);
      const wa = big.slice(0, 30, 70), wb = randomTensor([50, 256], gen, 1, false);  // rows 30..69 of big: byte offset
      const [ya, yb] = linearMulti(x, [wa, wb]);
      expect(ya!.shape).toEqual([2, 20, 40]);
      expect(ya!.toFloat32Array()).toEqual(linear(x, wa).toFloat32Array());
      expect(yb!.toFloat32Array()).toEqual(linear(x, wb).toFloat32Array());
      const [yt] = linearMulti(xt, [wb]);
      expect(yt!.toFloat32Array()).toEqual(linear(xt, wb).toFloat32Array());
    });
  });

  it('falls back to separate linears with autograd (gradients flow), under bf16 autocast, and for a non-contiguous weight', () => {
    tidy(() => {
      const gen = new Generator(13);
      const x = randomTensor([32, 256], gen, 1, true);
      const ws = [randomTensor([24, 256], gen, 1, true), randomTensor([40, 256], gen, 1, true)];
      const ys = linearMulti(x, ws);
      const sep = ws.map((w) => linear(x, w));
      ys.forEach((y, i) => expect(y.toFloat32Array()).toEqual(sep[i]!.toFloat32Array()));
      const loss = add(sum(ys[0]!), sum(ys[1]!));
      loss.backward();
      expect(x.grad).toBeTruthy();
      expect(ws[0]!.grad).toBeTruthy();
      // the fused no-grad call gives the same forward values
      const ng = noGrad(() => linearMulti(x, ws));
      ng.forEach((y, i) => expect(y.toFloat32Array()).toEqual(sep[i]!.toFloat32Array()));
      // amp: bf16-rounded operands as linear() under autocast (not the float32 kernel)
      const xs = randomTensor([32, 256], gen, 1, false), w2 = randomTensor([24, 256], gen, 1, false);
      const amp = noGrad(() => withAutocast('bfloat16', () => [linearMulti(xs, [w2])[0]!, linear(xs, w2)]));
      expect(amp[0]!.toFloat32Array()).toEqual(amp[1]!.toFloat32Array());
      expect(amp[0]!.toFloat32Array()).not.toEqual(linear(xs, w2).toFloat32Array());
      // a transposed weight view runs linear() on it
      const wt = randomTensor([256, 24], gen, 1, false).transpose(0, 1);
      expect(noGrad(() => linearMulti(xs, [wt, w2]))[0]!.toFloat32Array()).toEqual(linear(xs, wt).toFloat32Array());
    });
  });

  it('OLMO_PANEL_POOL=0 (panels on the OpenMP team), OLMO_LINEAR_MULTI=0 (separate linears) and OLMO_F32_PANEL_GEMM=0 (sgemm) give the values of the default path', () => {
    ensureFreshDist(['tensor-cuda']);
    // The same seeded inputs in a child process per setting (the switches are read once per process).
    const script = `
      import { Generator, linearMulti, randn } from ${JSON.stringify(`${repoRoot}/packages/tensor-cuda/dist/index.js`)};
      const gen = new Generator(21);
      const r = (shape) => randn(shape, gen);
      const out = [];
      for (const [M, K] of [[32, 256], [33, 1029], [64, 512]]) {
        const x = r([M, K]);
        out.push(...linearMulti(x, [r([256, K]), r([97, K])]).map((y) => Array.from(y.toFloat32Array())));
      }
      console.log(JSON.stringify(out));`;
    const run = (env: Record<string, string>) => {
      const c = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000 });
      expect(c.status, c.stderr).toBe(0);
      return JSON.parse(c.stdout.trim().split('\n').pop()!) as number[][];
    };
    const pool = run({}), omp = run({ OLMO_PANEL_POOL: '0' }), blas = run({ OLMO_F32_PANEL_GEMM: '0' });
    const separate = run({ OLMO_LINEAR_MULTI: '0' });
    expect(omp).toEqual(pool);
    expect(separate).toEqual(pool);
    pool.forEach((y, i) => expectClose(blas[i]!, y, 1e-5, `output ${i}`));
  });
});
