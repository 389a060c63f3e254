/**
 * bf16 GEMMs (amp_bf16 numerics): operands rounded to bfloat16 (nearest even), float32
 * accumulation. Checked against a float64 product of the bf16-rounded operands, on both CPU
 * kernels (AVX512-BF16 vdpbf16ps where the CPU has it, and the forced avx2 rounding+sgemm path).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Generator, Tensor, bf16BitsToF32, f32ToBf16Bits, gemmBf16Isa, gemmInto, linear, matmul, roundBf16Into, roundedBf16F32, tensor, withAutocast, zeros } from '../../src/index.js';
import { expectClose, projectionWeights, randomTensor, relErr, toF64 } from '../helpers.js';

const bf = (x: number) => bf16BitsToF32(f32ToBf16Bits(x));
const roundBf16 = (xs: Float64Array) => xs.map(bf);

/** float64 C[b] = op(A[b]) op(B[b]); A, B already rounded as wanted. */
function ref(a: Float64Array, b: Float64Array, batch: number, M: number, N: number, K: number, ta: boolean, tb: boolean, bShared = false): Float64Array {
  const c = new Float64Array(batch * M * N);
  for (let z = 0; z < batch; z++) {
    const ao = z * M * K, bo = bShared ? 0 : z * K * N;
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[ao + (ta ? k * M + i : i * K + k)]! * b[bo + (tb ? j * K + k : k * N + j)]!;
        c[z * M * N + i * N + j] = s;
      }
  }
  return c;
}

const hasBf16Isa = (() => { const prev = process.env.OLMO_CPU_GEMM_BF16; delete process.env.OLMO_CPU_GEMM_BF16; const r = gemmBf16Isa() === 'avx512bf16'; if (prev !== undefined) process.env.OLMO_CPU_GEMM_BF16 = prev; return r; })();
const isas: Array<'avx512bf16' | 'avx2'> = hasBf16Isa ? ['avx512bf16', 'avx2'] : ['avx2'];
if (!hasBf16Isa) console.log('[matmul-bf16] this CPU has no AVX512-BF16: only the avx2 path is tested');

function useIsa(isa: 'avx512bf16' | 'avx2') {
  if (isa === 'avx2') process.env.OLMO_CPU_GEMM_BF16 = 'avx2';
  else delete process.env.OLMO_CPU_GEMM_BF16;
  expect(gemmBf16Isa()).toBe(isa);
}
afterEach(() => { delete process.env.OLMO_CPU_GEMM_BF16; });

describe.each(isas)('bf16 GEMM on CPU (%s)', (isa) => {
  // M not a multiple of the 6-row tile, N not of the 32-column tile, K odd and over one 512 K-block
  for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]] as const) {
    it(`forward and backward under autocast, transA=${ta} transB=${tb}, batched, edge shapes`, () => {
      useIsa(isa);
      const gen = new Generator(3);
      const B = 2, M = 13, N = 37, K = 1031;
      const a = randomTensor(ta ? [B, K, M] : [B, M, K], gen);
      const b = randomTensor(tb ? [B, N, K] : [B, K, N], gen);
      const c = withAutocast('bfloat16', () => matmul(a, b, { transA: ta, transB: tb }));
      const A = toF64(a), Bv = toF64(b);
      const want = ref(roundBf16(A), roundBf16(Bv), B, M, N, K, ta, tb);
      const got = c.toFloat32Array();
      expectClose(got, want, 2e-6, 'forward vs float64 of bf16-rounded operands');
      // the rounding really happened: the unrounded product is ~2^-9 away
      expect(relErr(got, ref(A, Bv, B, M, N, K, ta, tb))).toBeGreaterThan(5e-4);
      // backward (outside the autocast scope: the node keeps the forward's precision)
      const g = projectionWeights(B * M * N);
      c.backward(tensor(Float32Array.from(g), { shape: [B, M, N] }));
      const G = roundBf16(Float64Array.from(Float32Array.from(g)));
      // dop(A) = g op(B)^T ; dop(B) = op(A)^T g — computed in op space, then laid out like A / B
      const dOpA = new Float64Array(B * M * K), dOpB = new Float64Array(B * K * N);
      const Ar = roundBf16(A), Br = roundBf16(Bv);
      for (let z = 0; z < B; z++)
        for (let i = 0; i < M; i++)
          for (let k = 0; k < K; k++) {
            let s = 0;
            for (let j = 0; j < N; j++) s += G[z * M * N + i * N + j]! * Br[z * K * N + (tb ? j * K + k : k * N + j)]!;
            dOpA[z * M * K + (ta ? k * M + i : i * K + k)] = s;
          }
      for (let z = 0; z < B; z++)
        for (let k = 0; k < K; k++)
          for (let j = 0; j < N; j++) {
            let s = 0;
            for (let i = 0; i < M; i++) s += Ar[z * M * K + (ta ? k * M + i : i * K + k)]! * G[z * M * N + i * N + j]!;
            dOpB[z * K * N + (tb ? j * K + k : k * N + j)] = s;
          }
      expectClose(a.grad!.toFloat32Array(), dOpA, 2e-6, 'dA');
      expectClose(b.grad!.toFloat32Array(), dOpB, 2e-6, 'dB');
      for (const t of [a, b, c]) t.dispose();
    });
  }

  it('linear with a shared weight (dW summed over the batch), bf16 weight operand, wide N over one column block', () => {
    useIsa(isa);
    const gen = new Generator(5);
    const x = randomTensor([3, 4, 24], gen);
    const w = randomTensor([2100, 24], gen); // N = 2100 > the 2048-column B block
    const y = withAutocast('bfloat16', () => linear(x, w));
    const want = ref(roundBf16(toF64(x)), roundBf16(toF64(w)), 1, 12, 2100, 24, false, true);
    expectClose(y.toFloat32Array(), want, 2e-6, 'linear forward');
    // a bfloat16 tensor as the weight gives the same result (no autocast needed)
    const wb = w.to('bfloat16');
    const out = zeros([12, 2100]);
    const x2 = x.reshape([12, 24]);
    gemmInto(out, x2, wb, { transB: true });
    expect(relErr(out.toFloat32Array(), y.toFloat32Array())).toBeLessThanOrEqual(1e-6);
    // beta accumulates: out = 2·x@wᵀ + out
    gemmInto(out, x2, w, { transB: true, alpha: 2, beta: 1, precision: 'bf16' });
    expectClose(out.toFloat32Array(), want.map((v) => 3 * v), 2e-6, 'alpha/beta');
    for (const t of [x, w, y, wb, out, x2] as Tensor[]) t.dispose();
  });

  it('K = 0 writes beta·C (zeros for beta 0) and M = 1 works', () => {
    useIsa(isa);
    const a = zeros([4, 0]), b = zeros([0, 5]);
    const c = tensor(new Float32Array(20).fill(Number.NaN), { shape: [4, 5] });
    gemmInto(c, a, b, { precision: 'bf16' });
    expect(Array.from(c.toFloat32Array())).toEqual(new Array(20).fill(0));
    const gen = new Generator(9);
    const x = randomTensor([1, 77], gen, 1, false), w = randomTensor([77, 40], gen, 1, false);
    const y = withAutocast('bfloat16', () => matmul(x, w));
    expectClose(y.toFloat32Array(), ref(roundBf16(toF64(x)), roundBf16(toF64(w)), 1, 1, 40, 77, false, false), 2e-6, 'M=1');
    for (const t of [a, b, c, x, w, y]) t.dispose();
  });
});

describe('bf16 GEMM paths agree', () => {
  it('OLMO_CPU_ISA below avx512bf16 selects the avx2 path, like OLMO_CPU_GEMM_BF16=avx2', () => {
    const prev = process.env.OLMO_CPU_ISA;
    try {
      for (const cap of ['avx2', 'avx512', 'scalar']) {
        process.env.OLMO_CPU_ISA = cap;
        expect(gemmBf16Isa(), cap).toBe('avx2');
      }
      process.env.OLMO_CPU_ISA = 'avx512bf16';
      expect(gemmBf16Isa()).toBe(hasBf16Isa ? 'avx512bf16' : 'avx2');
    } finally {
      if (prev === undefined) delete process.env.OLMO_CPU_ISA; else process.env.OLMO_CPU_ISA = prev;
    }
  });
  it.skipIf(!hasBf16Isa)('avx512bf16 and avx2 give the same result to float32 rounding (needs AVX512-BF16)', () => {
    const gen = new Generator(11);
    const a = randomTensor([50, 700], gen, 1, false), b = randomTensor([700, 70], gen, 1, false);
    useIsa('avx512bf16');
    const c1 = withAutocast('bfloat16', () => matmul(a, b));
    useIsa('avx2');
    const c2 = withAutocast('bfloat16', () => matmul(a, b));
    expect(relErr(c1.toFloat32Array(), c2.toFloat32Array())).toBeLessThanOrEqual(1e-6);
    for (const t of [a, b, c1, c2]) t.dispose();
  });
});

describe('bf16 compute copy of the weight (amp_bf16 parameter copies)', () => {
  it('linear with a bf16 copy = linear rounding the float32 weight, forward and both gradients; the master gets the gradient', () => {
    const gen = new Generator(21);
    const x1 = randomTensor([5, 33], gen), w1 = randomTensor([19, 33], gen);
    const x2 = tensor(x1.toFloat32Array(), { shape: [5, 33] }).requiresGrad_(true), w2 = tensor(w1.toFloat32Array(), { shape: [19, 33] }).requiresGrad_(true);
    const copy = w2.detach().to('bfloat16');
    const y1 = withAutocast('bfloat16', () => linear(x1, w1));
    const y2 = withAutocast('bfloat16', () => linear(x2, w2, copy));
    expect(Array.from(y2.toFloat32Array())).toEqual(Array.from(y1.toFloat32Array()));
    const g = tensor(Float32Array.from(projectionWeights(5 * 19)), { shape: [5, 19] });
    y1.backward(g); y2.backward(g);
    expect(Array.from(x2.grad!.toFloat32Array())).toEqual(Array.from(x1.grad!.toFloat32Array()));
    expect(Array.from(w2.grad!.toFloat32Array())).toEqual(Array.from(w1.grad!.toFloat32Array()));
    expect(() => withAutocast('bfloat16', () => linear(x1, w1, zeros([19, 32])))).toThrow(/computeB/);
    expect(() => withAutocast('bfloat16', () => linear(x1, w1, zeros([19, 33], { dtype: 'int32' })))).toThrow(/computeB/);
    // outside autocast the copy is ignored: plain float32
    const y3 = linear(x1.detach(), w1.detach(), copy);
    expect(relErr(y3.toFloat32Array(), y1.toFloat32Array())).toBeGreaterThan(1e-4);
  });

  // The avx2 form of the copy (OLMo.enableComputeCopies on CPUs without AVX512-BF16): float32 holding
  // the bf16 values, read in place by the rounding + sgemm path (and the rounded output gradient,
  // rounded once — in place when the backward owns it). Same products and float32 sums as the bf16
  // copy on the same path, so the results must be identical bit for bit, on both kernels.
  it.each(isas)('a float32 copy holding the bf16 values = the bf16 copy, forward and both gradients (%s)', (isa) => {
    useIsa(isa);
    const gen = new Generator(22);
    const x0 = randomTensor([3, 7, 40], gen), w0 = randomTensor([24, 40], gen);
    const run = (copy: Tensor) => {
      const x = tensor(x0.toFloat32Array(), { shape: [3, 7, 40] }).requiresGrad_(true), w = tensor(w0.toFloat32Array(), { shape: [24, 40] }).requiresGrad_(true);
      const y = withAutocast('bfloat16', () => linear(x, w, copy));
      y.backward(tensor(Float32Array.from(projectionWeights(3 * 7 * 24)), { shape: [3, 7, 24] }));
      const r = [y, x.grad!, w.grad!].map((t) => Array.from(t.toFloat32Array()));
      for (const t of [x, w, y]) t.dispose();
      return r;
    };
    const f32Copy = roundedBf16F32(w0);
    expect(Array.from(f32Copy.toFloat32Array())).toEqual(Array.from(w0.toFloat32Array()).map((v) => bf16BitsToF32(f32ToBf16Bits(v))));
    const inPlace = tensor(w0.toFloat32Array(), { shape: [24, 40] });
    roundBf16Into(inPlace, inPlace);
    expect(Array.from(inPlace.toFloat32Array())).toEqual(Array.from(f32Copy.toFloat32Array()));
    expect(run(f32Copy)).toEqual(run(w0.detach().to('bfloat16')));
    expect(() => roundBf16Into(zeros([2, 3], { dtype: 'bfloat16' }), zeros([2, 3]))).toThrow(/float32/);
    expect(() => roundBf16Into(zeros([2, 3]), zeros([3, 2]))).toThrow(/shapes/);
    for (const t of [x0, w0, f32Copy, inPlace]) t.dispose();
  });
});

describe.each(isas)('bf16 GEMM packing and blocking (%s)', (isa) => {
  it('rounds exact ties to even, the largest floats to infinity and keeps signs, in every operand layout', () => {
    useIsa(isa);
    // Ties between two bf16 neighbours (1 + 2^-8: down to 1; 1 + 3·2^-8: up to 1 + 2^-6), values just
    // above / below a tie, negative ties, and 2^128 - 2^104 (rounds to +inf) — then C = op(A) · I shows
    // each rounded element of op(A), and C = I · op(B) each element of op(B).
    const vals = [1 + 2 ** -8, 1 + 3 * 2 ** -8, -(1 + 2 ** -8), 1 + 2 ** -8 + 2 ** -20, 1 + 2 ** -8 - 2 ** -20, 3.3895313892515355e38, 0.1, -7.25];
    const M = 19, K = 37;  // K odd: the last k-pair has no partner; M > 16 lanes
    const x = Float32Array.from({ length: M * K }, (_, i) => vals[i % vals.length]!);
    const want = Array.from(x, (v) => bf(v));
    const eye = (n: number) => tensor(Float32Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0)), { shape: [n, n] });
    const iK = eye(K), iM = eye(M);
    for (const trans of [false, true]) {
      // op(A) = X [M, K]: stored X, or X^T with transA
      const xt = Float32Array.from({ length: M * K }, (_, i) => x[(i % M) * K + Math.floor(i / M)]!);
      const a = tensor(trans ? xt : x, { shape: trans ? [K, M] : [M, K] });
      const c = zeros([M, K]);
      gemmInto(c, a, iK, { transA: trans, precision: 'bf16' });
      expect(Array.from(c.toFloat32Array()), `op(A), transA=${trans}`).toEqual(want);
      // op(B) = X [M, K] as the right operand: C = I_M · op(B)
      const c2 = zeros([M, K]);
      gemmInto(c2, iM, a, { transB: trans, precision: 'bf16' });
      expect(Array.from(c2.toFloat32Array()), `op(B), transB=${trans}`).toEqual(want);
      for (const t of [a, c, c2]) t.dispose();
    }
    iK.dispose(); iM.dispose();
  });

  // The same nearest-even rounding as f32ToBf16Bits without its per-call cost (these operands have
  // millions of elements); checked against it on every operand's first 4096 elements below.
  const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
  const bfFast = (x: number) => {
    f32[0] = x;
    const u = u32[0]!;
    u32[0] = ((u + 0x7fff + ((u >>> 16) & 1)) & 0xffff0000) >>> 0;  // finite inputs only (random normals)
    return f32[0]!;
  };
  const roundFast = (xs: Float64Array) => {
    for (let i = 0; i < Math.min(4096, xs.length); i++) if (bfFast(xs[i]!) !== bf(xs[i]!)) throw new Error(`bfFast(${xs[i]}) != bf`);
    return xs.map(bfFast);
  };
  // Shapes past the kernels' blocks: M over several row blocks (split across threads), N over a 2048
  // column block, K over 2^14 (the avx2 path then copies and multiplies K in slabs of a bounded size,
  // accumulating into C), and M or N over 2^22 / K rows or columns (the avx2 path splits M and N).
  for (const [M, N, K] of [[200, 2100, 60], [24, 20, 17000], [14000, 6, 301], [5, 14100, 300]] as const) {
    it(`M ${M} N ${N} K ${K}, every transpose, alpha 0.5 and beta 2 against float64`, () => {
      useIsa(isa);
      // One set of values per shape (a cheap LCG: millions of elements), read as A or A^T etc.
      let state = (M * 31 + N * 7 + K) >>> 0;
      const fill = (n: number) => Float32Array.from({ length: n }, () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1);
      const av = fill(M * K), bv = fill(K * N), c0 = fill(M * N);
      const ar = roundFast(Float64Array.from(av)), br = roundFast(Float64Array.from(bv));
      for (const [ta, tb] of [[false, false], [true, true], [false, true], [true, false]] as const) {
        const a = tensor(av, { shape: ta ? [K, M] : [M, K] }), b = tensor(bv, { shape: tb ? [N, K] : [K, N] });
        const c = tensor(c0, { shape: [M, N] });
        gemmInto(c, a, b, { transA: ta, transB: tb, alpha: 0.5, beta: 2, precision: 'bf16' });
        const prod = ref(ar, br, 1, M, N, K, ta, tb);
        expectClose(c.toFloat32Array(), prod.map((v, i) => 0.5 * v + 2 * c0[i]!), 2e-6, `transA=${ta} transB=${tb}`);
        for (const t of [a, b, c]) t.dispose();
      }
    });
  }
});
