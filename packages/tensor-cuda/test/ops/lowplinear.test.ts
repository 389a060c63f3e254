import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import {
  Generator, OlmoError, QTensor, cudaAvailable, dequantize, linear, lowpIsa, lowpLinear, lowpLinearMulti, noGrad, quantize, setLowpIsa, tensor, tidy,
  type Tensor,
} from '../../src/index.js';
import { bf16BitsToF32, f32ToBf16Bits } from '../../src/dtype.js';
import { expectClose, randomArray } from '../helpers.js';
import { refQ8 } from './q8-reference.js';

function expectCode(fn: () => unknown, code: string): void {
  let err: unknown;
  try { fn(); } catch (e) { err = e; }
  expect(err, `expected ${code}`).toBeInstanceOf(OlmoError);
  expect((err as OlmoError).code).toBe(code);
}

/** float64 reference y[m, n] = sum_k x[m, k] * w[n, k]. */
function refLinear(x: Float32Array, w: ArrayLike<number>, M: number, N: number, K: number): Float64Array {
  const y = new Float64Array(M * N);
  for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += x[m * K + k]! * w[n * K + k]!;
    y[m * N + n] = s;
  }
  return y;
}

function bf16Weight(N: number, K: number, gen: Generator): { t: Tensor; vals: Float64Array } {
  const f = randomArray(N * K, gen, 0.5);
  const bits = Uint16Array.from(f, (v) => f32ToBf16Bits(v));
  return { t: tensor(bits, { shape: [N, K], dtype: 'bfloat16' }), vals: Float64Array.from(bits, (b) => bf16BitsToF32(b)) };
}

const PATHS = ['native', 'avx512', 'avx2', 'scalar'] as const;

describe('lowplinear', () => {
  afterAll(() => setLowpIsa('native'));

  it(`reports the kernel set (${lowpIsa()}) and honours OLMO_CPU_ISA=avx2 at start-up`, () => {
    expect(lowpIsa()).toMatch(/^(amx|avx512bf16|avx512|avx2|scalar)(\+q8act(-vnni)?)?$/);
    const addon = require.resolve('../../build/Release/olmo_native.node');
    const out = execFileSync(process.execPath, ['-e', `console.log(require(${JSON.stringify(addon)}).lowpIsa())`],
      { env: { ...process.env, OLMO_CPU_ISA: 'avx2', OLMO_Q8_ACT: 'f32' } }).toString().trim();
    expect(['avx2', 'scalar']).toContain(out);
  });

  for (const path of PATHS) {
    it(`bf16 GEMV and GEMM match a float64 reference on the ${path} path`, () => {
      const name = setLowpIsa(path, false);
      expect(name.length).toBeGreaterThan(0);
      tidy(() => {
        const gen = new Generator(7);
        // K = 200 exercises the vector main loop, the 8/16 steps and the scalar tail.
        // M = 1: GEMV; M <= 16: GEMV kernels per x row; M > 16: the float32 panel GEMM (lowplinear_gemm.cc;
        // OpenBLAS on the scalar path). 131 rows: a partial 16-row panel and 4-row tile; M = 33: a
        // partial x-row tile; K = 1100: three 512-column panel blocks and a 12-column masked tail.
        for (const [M, N, K] of [[1, 37, 200], [1, 300, 512], [5, 150, 200], [3, 129, 64], [20, 131, 96], [33, 37, 1100], [17, 3, 16]] as const) {
          const { t: w, vals } = bf16Weight(N, K, gen);
          const x = randomArray(M * K, gen);
          const y = lowpLinear(tensor(x, { shape: [M, K] }), w);
          expect(y.shape).toEqual([M, N]);
          // every path widens the bf16 weights and FMAs them with float32 x, except the AMX GEMM (M > 16
          // on the native path of an AMX CPU), which drops at most 2^-16·|x| of x (lowplinear-gemm-amx.test.ts
          // holds it to that bound), far inside this norm-wise tolerance.
          expectClose(y.toFloat32Array(), refLinear(x, vals, M, N, K), 1e-5, `${name} M=${M} N=${N} K=${K}`);
        }
      });
    });

    it(`q8_0 GEMV and GEMM (OLMO_Q8_ACT=f32 path) match a float64 reference with the dequantized weights on the ${path} path`, () => {
      setLowpIsa(path, false);
      tidy(() => {
        const gen = new Generator(8);
        // [19, 45, 1056]: the GEMM over three column blocks (512, 512, 32) with partial tiles.
        for (const [M, N, K] of [[1, 41, 96], [1, 260, 512], [4, 70, 128], [18, 140, 64], [19, 45, 1056]] as const) {
          const f = randomArray(N * K, gen, 0.5);
          const q = quantize(tensor(f, { shape: [N, K] }));
          const deq = refQ8(f);
          const x = randomArray(M * K, gen);
          const y = lowpLinear(tensor(x, { shape: [M, K] }), q);
          expectClose(y.toFloat32Array(), refLinear(x, deq, M, N, K), 1e-5, `M=${M} N=${N} K=${K}`);
          q.dispose();
        }
      });
    });

    it(`q8_0 GEMM (M > 16) with int8 activations: the float64 product of the same quantized operands, and the M = 1 GEMV's result per row, on the ${path} path`, () => {
      // M > 16 quantizes x per row and 32-block exactly as the GEMV does (refQ8 is that quantizer:
      // d = amax/127 in float32, x·(1/d) rounded half away from zero, d stored as f16) and runs the
      // int8 GEMM (lowplinear_gemm_q8.cc: avx512vnni on 'native' / 'avx512' here, maddubs on
      // 'avx2'; the per-row GEMV kernels on 'scalar'). Every block dot is an exact int32 and every
      // scale dw·dx an exact float32 (two 11-bit significands), so the only error is float32
      // summation: at most n roundings along any path from a term s·I to y, n ≤ 2·blocks + 8 on
      // every kernel (GEMM: ≤ one FMA per 8 blocks and lane + a 4-level lane tree; GEMV: ≤ one
      // FMA per block and lane, or a multiply + add per block on the scalar path, + ≤ 6 levels of
      // accumulator / lane adds), hence |y − ref| ≤ γ_n · Σ|wq·xq| with γ_n = n·u / (1 − n·u),
      // u = 2^-24. The activation-quantization error itself is ~1e-2 of Σ|wq·xq|, so a GEMM that
      // kept float32 x, or misplaced a block's scale, fails this by orders of magnitude.
      setLowpIsa(path, true);
      const gamma = (n: number) => (n * 2 ** -24) / (1 - n * 2 ** -24);
      // [M, N, K]: K = 544 / 1056: whole 8-block groups + a partial one; K = 256: one group; K = 32:
      // one block. N = 37 / 131: partial 24- (16-) row panels and 3- (2-) row tiles; M = 33: a
      // partial 4-row x tile. Odd x rows hold exact ties of the 1/d grid (x = (k + 0.5)·d).
      for (const [M, N, K] of [[32, 50, 544], [17, 37, 256], [33, 131, 1056], [20, 3, 32]] as const) tidy(() => {
        const gen = new Generator(12);
        const f = randomArray(N * K, gen, 0.5);
        const q = quantize(tensor(f, { shape: [N, K] }));
        const x = randomArray(M * K, gen);
        for (let m = 1; m < M; m += 2) for (let k = 0; k < K; k++) {
          const i = m * K + k;
          x[i] = (k % 32 === 0 ? 127 : (Math.floor(gen.uniform() * 200) - 100) + 0.5) / 8 * (i % 3 === 1 ? -1 : 1);
        }
        const wq = refQ8(f), xq = refQ8(x);
        const y = lowpLinear(tensor(x, { shape: [M, K] }), q).toFloat32Array();
        const bound = gamma(2 * (K / 32) + 8);
        for (let m = 0; m < M; m++) {
          const y1 = lowpLinear(tensor(x.slice(m * K, (m + 1) * K), { shape: [1, K] }), q).toFloat32Array();
          for (let n = 0; n < N; n++) {
            let r = 0, mag = 0;
            for (let k = 0; k < K; k++) { r += wq[n * K + k]! * xq[m * K + k]!; mag += Math.abs(wq[n * K + k]! * xq[m * K + k]!); }
            expect(Math.abs(y[m * N + n]! - r), `GEMM vs float64, M=${M} N=${N} K=${K}, row ${m}, ${n}`).toBeLessThanOrEqual(bound * mag);
            expect(Math.abs(y1[n]! - r), `GEMV vs float64, K=${K}, row ${m}, ${n}`).toBeLessThanOrEqual(bound * mag);
            expect(Math.abs(y[m * N + n]! - y1[n]!), `GEMM vs GEMV, M=${M} N=${N} K=${K}, row ${m}, ${n}`).toBeLessThanOrEqual(2 * bound * mag);
          }
        }
        q.dispose();
      });
      setLowpIsa('native');
    });

    it(`q8_0 with int8 activations (llama.cpp's scheme) stays within the activation-quantization bound on the ${path} path`, () => {
      setLowpIsa(path, true);
      // K = 256: the 256-bit VNNI kernels; K = 544 / 800 (17 / 25 blocks: whole 8-block groups and a
      // partial one): the 512-bit two-blocks-per-dot kernel on AVX512-VNNI CPUs; K = 2080: its rows
      // of >= 2 KiB (per-row-stream prefetch).
      for (const K of [256, 544, 800, 2080]) tidy(() => {
        const gen = new Generator(9);
        const N = 64, M = 3;   // M = 3: the per-row GEMV path quantizes each x row the same way
        const f = randomArray(N * K, gen, 0.5);
        const q = quantize(tensor(f, { shape: [N, K] }));
        const deq = refQ8(f);
        const x = randomArray(M * K, gen);
        const y = lowpLinear(tensor(x, { shape: [M, K] }), q).toFloat32Array();
        const y1 = lowpLinear(tensor(x.slice(0, K), { shape: [1, K] }), q).toFloat32Array();
        expect(y.subarray(0, N)).toEqual(y1);
        const ref = refLinear(x, deq, M, N, K);
        // Per output: |Δ| ≤ Σ_blocks Σ_j |w_j| · |Δx_j| with |Δx_j| ≤ d_x/2 (+ f16 rounding of d_x,
        // relative 2^-11 of |x_j|), d_x = max|x_block| / 127.
        for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
          let bound = 0;
          for (let b = 0; b < K / 32; b++) {
            let amax = 0;
            for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[m * K + b * 32 + j]!));
            for (let j = 0; j < 32; j++) bound += Math.abs(deq[n * K + b * 32 + j]!) * (amax / 127 / 2 + Math.abs(x[m * K + b * 32 + j]!) * 2 ** -10);
          }
          expect(Math.abs(y[m * N + n]! - ref[m * N + n]!), `K ${K}, row ${m}, ${n}`).toBeLessThanOrEqual(bound * 1.01 + 1e-6);
        }
        q.dispose();
      });
      setLowpIsa('native');
    });

    it(`q8_0 int8 activations round ties half away from zero (llama.cpp's reference rounding) on the ${path} path`, () => {
      setLowpIsa(path, true);
      // Every x block has max|x| = 127/8, so d = 1/8 exactly and x·(1/d) = 8x: x = (k + 0.5)/8 are
      // exact ties. Half-away gives k + 1, ties-to-even k for even k: with positive weights a wrong
      // rule moves y by ~0.8% of Σ|w·x|, while float32 summation stays below 1e-5 of it.
      for (const K of [256, 800]) tidy(() => {
        const gen = new Generator(17);
        const N = 9, M = 3;
        const w = Float32Array.from(randomArray(N * K, gen, 0.5), (v) => Math.abs(v) + 0.05);
        const x = new Float32Array(M * K);
        for (let i = 0; i < x.length; i++) x[i] = (i % 32 === 0 ? 127 : (Math.floor(gen.uniform() * 200) - 100) + 0.5) / 8 * (i % 3 === 1 ? -1 : 1);
        const q = quantize(tensor(w, { shape: [N, K] }));
        const wq = refQ8(w), xq = refQ8(x);
        const y1 = lowpLinear(tensor(x.slice(0, K), { shape: [1, K] }), q).toFloat32Array();
        const y3 = lowpLinear(tensor(x, { shape: [M, K] }), q).toFloat32Array();
        for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
          let r = 0, mag = 0;
          for (let k = 0; k < K; k++) { r += wq[n * K + k]! * xq[m * K + k]!; mag += Math.abs(wq[n * K + k]! * xq[m * K + k]!); }
          expect(Math.abs(y3[m * N + n]! - r), `K ${K}, row ${m}, ${n}`).toBeLessThanOrEqual(1e-5 * mag);
          if (m === 0) expect(y1[n]).toBe(y3[n]);
        }
        q.dispose();
      });
      setLowpIsa('native');
    });
  }

  it('batch-1 q8_0 GEMV in 4-row groups (plus a partial group) equals the per-row kernels bit for bit, on every path', () => {
    // M = 1 runs rows 4 at a time (dot4_q8q8_*, summing in hsum256's order); M = 2 runs the
    // per-row kernels. Row counts 1..9 cover whole groups, partial groups and fused weights.
    // OLMO_VNNI256_MAXK (read when setLowpIsa re-detects): on AVX512-VNNI rows up to that K take
    // the 256-bit kernels, longer ones the 512-bit kernels — both families on any VNNI machine
    // (the default is 256 on AMD, 0 on Intel).
    const saved = process.env.OLMO_VNNI256_MAXK;
    for (const maxK of ['256', '0']) for (const path of PATHS) {
      process.env.OLMO_VNNI256_MAXK = maxK;
      setLowpIsa(path, true);
      tidy(() => {
        const gen = new Generator(21);
        // K = 96: 3 blocks; K = 256: one 8-block group (tiny's rows); K = 544: the 512-bit VNNI
        // kernel's whole groups plus a partial group; K = 2080: rows of >= 2 KiB, which that kernel
        // prefetches per row stream (65 blocks).
        for (const K of [96, 256, 544, 2080]) for (let N = 1; N <= 9; N++) {
          const q = quantize(tensor(randomArray(N * K, gen), { shape: [N, K] }));
          const q2 = quantize(tensor(randomArray(5 * K, gen), { shape: [5, K] }));
          const x = randomArray(2 * K, gen);
          const y2 = lowpLinear(tensor(x, { shape: [2, K] }), q).toFloat32Array();
          expect(lowpLinear(tensor(x.slice(0, K), { shape: [1, K] }), q).toFloat32Array(), `${path} N=${N}`).toEqual(y2.subarray(0, N));
          const [ya, yb] = lowpLinearMulti(tensor(x.slice(0, K), { shape: [1, K] }), [q, q2]);
          expect(ya!.toFloat32Array()).toEqual(y2.subarray(0, N));
          expect(yb!.toFloat32Array()).toEqual(lowpLinear(tensor(x, { shape: [2, K] }), q2).toFloat32Array().subarray(0, 5));
          q.dispose();
          q2.dispose();
        }
      });
    }
    if (saved === undefined) delete process.env.OLMO_VNNI256_MAXK;
    else process.env.OLMO_VNNI256_MAXK = saved;
    setLowpIsa('native');
  });

  it('batch-1 float32 / bf16 GEMV in 4-row groups (lowplinear_rows4.cc) equals the one-row kernels bit for bit, on every path', () => {
    // A weight's rows run 4 at a time except a last partial group, which runs the one-row kernel;
    // so row r of a [N, K] GEMV must equal the GEMV of the single row r ([1, K]: one-row kernel).
    // K covers the 64-column main loop, its 16- (AVX-512) / 8-column (AVX2) steps, and a K that
    // no group kernel takes (K % 16 != 0 on AVX-512: row by row). K = 1024 .. 8192: the AVX-512
    // groups of OLMo-1B-long rows (per-row-stream prefetch from 2 KiB rows; lowplinear_tune.h's
    // limits), 8208: past the default limit (one-row kernel), 2064: long rows with a 16-column tail.
    for (const path of PATHS) {
      setLowpIsa(path, true);
      tidy(() => {
        const gen = new Generator(31);
        for (const K of [64, 96, 136, 256, 512, 520, 1024, 2064, 8192, 8208]) for (const N of [4, 7, 12]) {
          const wf = tensor(randomArray(N * K, gen), { shape: [N, K] });
          const wb = bf16Weight(N, K, gen).t;
          const x = tensor(randomArray(K, gen), { shape: [1, K] });
          noGrad(() => {
            const yf = linear(x, wf).toFloat32Array(), yb = lowpLinear(x, wb).toFloat32Array();
            for (let r = 0; r < N; r++) {
              expect(linear(x, wf.slice(0, r, r + 1)).toFloat32Array()[0], `f32 ${path} K=${K} N=${N} row ${r}`).toBe(yf[r]);
              expect(lowpLinear(x, wb.slice(0, r, r + 1)).toFloat32Array()[0], `bf16 ${path} K=${K} N=${N} row ${r}`).toBe(yb[r]);
            }
          });
        }
      });
    }
    setLowpIsa('native');
  });

  it('batch-1 GEMVs large enough for the work pool (512 KiB .. 6 MiB) give the per-row results on every call', () => {
    // From 512 KiB of weights the rows are split in claimed chunks between the caller and the pool's
    // helper (work_pool.cc); which thread runs a chunk must not change a bit. Repeated calls catch
    // a chunk run twice or never (a missed chunk would leave the fresh output's garbage).
    tidy(() => {
      const gen = new Generator(32);
      for (const [N, K] of [[1040, 256], [2052, 256], [6144, 256]] as const) {
        const x2 = randomArray(2 * K, gen);
        const x1 = tensor(x2.slice(0, K), { shape: [1, K] }), xx = tensor(x2, { shape: [2, K] });
        const wb = bf16Weight(N, K, gen).t;
        const wq = quantize(tensor(randomArray(N * K, gen), { shape: [N, K] }));
        const wf = tensor(randomArray(N * K, gen), { shape: [N, K] });
        const refB = lowpLinear(xx, wb).toFloat32Array().subarray(0, N);  // M = 2: one-row kernels
        const refQ = lowpLinear(xx, wq).toFloat32Array().subarray(0, N);
        const refF = noGrad(() => linear(x1, wf).toFloat32Array());
        // float32 reference rows through the one-row kernel (a [1, K] weight), a sample of them
        for (let r = 0; r < N; r += 97) expect(noGrad(() => linear(x1, wf.slice(0, r, r + 1)).toFloat32Array()[0])).toBe(refF[r]);
        for (let rep = 0; rep < 40; rep++) {
          const [yb, yq] = lowpLinearMulti(x1, [wb, wq]);
          expect(yb!.toFloat32Array(), `bf16 N=${N} rep ${rep}`).toEqual(refB);
          expect(yq!.toFloat32Array(), `q8_0 N=${N} rep ${rep}`).toEqual(refQ);
          expect(noGrad(() => linear(x1, wf).toFloat32Array()), `f32 N=${N} rep ${rep}`).toEqual(refF);
          yb!.dispose();
          yq!.dispose();
        }
        wq.dispose();
      }
    });
  });

  it('fused call: several weights (bf16 and q8_0) sharing x equal separate calls', () => {
    tidy(() => {
      const gen = new Generator(10);
      const K = 128;
      const a = bf16Weight(48, K, gen), b = bf16Weight(16, K, gen);
      const c = quantize(tensor(randomArray(32 * K, gen), { shape: [32, K] }));
      setLowpIsa('native');
      for (const M of [1, 3, 17]) {
        const x = tensor(randomArray(M * K, gen), { shape: [M, K] });
        const [ya, yb, yc] = lowpLinearMulti(x, [a.t, b.t, c]);
        expect(ya!.toFloat32Array()).toEqual(lowpLinear(x, a.t).toFloat32Array());
        expect(yb!.toFloat32Array()).toEqual(lowpLinear(x, b.t).toFloat32Array());
        expect(yc!.toFloat32Array()).toEqual(lowpLinear(x, c).toFloat32Array());
      }
      c.dispose();
    });
  });

  it('linear() routes bf16 / q8_0 weights to lowpLinear, keeping leading dims; dequantize inverts the format', () => {
    tidy(() => {
      const gen = new Generator(11);
      const { t: w, vals } = bf16Weight(24, 64, gen);
      const x = randomArray(2 * 3 * 64, gen);
      const y = linear(tensor(x, { shape: [2, 3, 64] }), w);
      expect(y.shape).toEqual([2, 3, 24]);
      expectClose(y.toFloat32Array(), refLinear(x, vals, 6, 24, 64), 1e-5);
      const f = randomArray(24 * 64, gen);
      const q = quantize(tensor(f, { shape: [24, 64] }));
      expect(q).toBeInstanceOf(QTensor);
      expect(q.nbytes).toBe(24 * 2 * 34);
      expectClose(dequantize(q).toFloat32Array(), refQ8(f), 1e-7);
      // quantizing bf16 input equals quantizing its float32 value
      const qb = quantize(w), qf = quantize(tensor(Float32Array.from(vals), { shape: [24, 64] }));
      expect(qb.toBytes()).toEqual(qf.toBytes());
      for (const t of [q, qb, qf]) t.dispose();
    });
  });

  it.skipIf(!cudaAvailable())('cuda: bf16 and q8_0 weights (float32 activations) match the CPU with float32 activations', () => {
    setLowpIsa('native', false);
    tidy(() => {
      const gen = new Generator(13);
      const { t: w } = bf16Weight(70, 96, gen);
      const q = quantize(tensor(randomArray(70 * 96, gen), { shape: [70, 96] }));
      const qd = QTensor.allocate([70, 96], 0);
      qd.buf.write(0, q.toBytes());
      for (const M of [1, 4]) {
        const x = tensor(randomArray(M * 96, gen), { shape: [M, 96] });
        const xd = x.to('cuda:0');
        expectClose(lowpLinear(xd, w.to('cuda:0')).toFloat32Array(), Float64Array.from(lowpLinear(x, w).toFloat32Array()), 1e-5, `bf16 M=${M}`);
        expectClose(lowpLinear(xd, qd).toFloat32Array(), Float64Array.from(lowpLinear(x, q).toFloat32Array()), 1e-5, `q8_0 M=${M}`);
      }
      q.dispose();
      qd.dispose();
    });
    setLowpIsa('native');
  });
  if (!cudaAvailable()) console.warn('[lowplinear] CUDA variant skipped: no CUDA device (the kernel is checked by native/cuda/sim/run.sh lowplinear)');

  it('bad input: wrong in-features, wrong dtypes, K not divisible by 32, grads, disposed weights', () => {
    tidy(() => {
      const gen = new Generator(12);
      const { t: w } = bf16Weight(8, 64, gen);
      expectCode(() => lowpLinear(tensor(randomArray(32, gen), { shape: [1, 32] }), w), 'SHAPE_MISMATCH');
      expectCode(() => lowpLinear(tensor(randomArray(64, gen), { shape: [1, 64] }).to('bfloat16'), w), 'DTYPE_UNSUPPORTED');
      expectCode(() => lowpLinear(tensor(randomArray(64, gen), { shape: [1, 64] }), tensor(randomArray(8 * 64, gen), { shape: [8, 64] })), 'DTYPE_UNSUPPORTED');
      expectCode(() => quantize(tensor(randomArray(8 * 40, gen), { shape: [8, 40] })), 'SHAPE_MISMATCH');
      const xg = tensor(randomArray(64, gen), { shape: [1, 64] }).requiresGrad_(true);
      expectCode(() => lowpLinear(xg, w), 'DTYPE_UNSUPPORTED');
      expect(noGrad(() => lowpLinear(xg, w)).shape).toEqual([1, 8]);
      const q = quantize(tensor(randomArray(8 * 64, gen), { shape: [8, 64] }));
      q.dispose();
      expectCode(() => lowpLinear(tensor(randomArray(64, gen), { shape: [1, 64] }), q), 'TENSOR_DISPOSED');
    });
  });
});
