// The float32-activation panel GEMM (native/cpu/lowplinear_gemm.cc: x^T in 32-/16-row blocks, W
// panels of 24 rows x 256 columns converted to float32, outer-product register tiles) against a
// float64 product of the same operands, element by element, on every CPU kernel path, at the
// shapes where its blocking has edges: M around the 16/32-row x blocks, N around the 12/24-row
// tiles and panels, K around the 256-column panel blocks (and K < 16, odd K).
import { afterAll, describe, expect, it } from 'vitest';
import { Generator, dequantize, lowpLinear, lowpLinearMulti, matmul, quantize, setLowpIsa, tensor, tidy } from '../../src/index.js';
import { bf16BitsToF32, f32ToBf16Bits } from '../../src/dtype.js';
import { randomArray } from '../helpers.js';

// 'native' is the AMX GEMM for bf16 weights on CPUs that have it (its own bound below; float32 and
// q8_0-with-float32-x weights take the panel GEMM there too), 'avx512bf16' the best panel GEMM below it.
const PATHS = ['native', 'avx512bf16', 'avx512', 'avx2', 'scalar'] as const;

/**
 * |y - Σ x·w| ≤ γ_K · Σ|x·w| per output: every path sums K float32 products with at most K
 * roundings per output (one FMA or add each; the panel GEMM: an FMA chain per 256-column block,
 * then one add per block), so γ_K = K·u / (1 − K·u) with u = 2^-24 (Higham, recursive summation).
 * A wrong operand, a dropped or doubled column block or a misplaced output moves an element by
 * O(Σ|x·w|), far above this bound for the K used here.
 */
function checkAgainstFloat64(y: Float32Array, x: Float32Array, w: ArrayLike<number>, M: number, N: number, K: number, what: string, amx = false): void {
  const u = 2 ** -24, gammaK = (K * u) / (1 - K * u);
  // AMX (bf16 weights): x split into two bf16 halves dropping ≤ 2^-16·|x|, 2K float32 additions over
  // Σ(|xh·w| + |xl·w|) ≤ (1 + 2^-7)·Σ|x·w| (see lowplinear-gemm-amx.test.ts).
  const gamma = amx ? (2 * K * u) / (1 - 2 * K * u) * (1 + 2 ** -7) + 2 ** -16 : gammaK;
  for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
    let s = 0, mag = 0;
    for (let k = 0; k < K; k++) { const p = x[m * K + k]! * w[n * K + k]!; s += p; mag += Math.abs(p); }
    const err = Math.abs(y[m * N + n]! - s);
    if (!(err <= gamma * mag + 1e-30)) expect(err, `${what}: y[${m}][${n}] = ${y[m * N + n]} vs ${s} (Σ|xw| ${mag})`).toBeLessThanOrEqual(gamma * mag);
  }
}

// [M, N, K]: M 17 (one 32-row block, 15 zero rows), 31/32/33 (a 16-row last block), 48, 49 (two
// 32-row blocks), 100; N 1, 11, 12, 13 (partial tiles), 24, 25, 37, 131 (partial panels); K 1, 7,
// 255, 256, 257 (a one-column second block), 600, 1100.
const SHAPES: ReadonlyArray<readonly [number, number, number]> = [
  [17, 1, 7], [17, 13, 1], [31, 24, 255], [32, 25, 256], [33, 12, 257], [48, 37, 600], [49, 11, 64], [100, 131, 130], [33, 37, 1100],
];

describe('lowplinear panel GEMM (M > 16, float32 activations)', () => {
  afterAll(() => setLowpIsa('native'));

  for (const path of PATHS) {
    it(`bf16 weights: every output within the float32 summation bound of the float64 product, on the ${path} path`, () => {
      const amx = setLowpIsa(path, false).startsWith('amx');
      tidy(() => {
        const gen = new Generator(21);
        for (const [M, N, K] of SHAPES) {
          const bits = Uint16Array.from(randomArray(N * K, gen, 0.5), (v) => f32ToBf16Bits(v));
          const vals = Float64Array.from(bits, (b) => bf16BitsToF32(b));
          const x = randomArray(M * K, gen);
          const y = lowpLinear(tensor(x, { shape: [M, K] }), tensor(bits, { shape: [N, K], dtype: 'bfloat16' })).toFloat32Array();
          checkAgainstFloat64(y, x, vals, M, N, K, `${path} bf16 M=${M} N=${N} K=${K}`, amx);
        }
      });
    });

    it(`float32 weights (matmul x·Wᵀ, K >= 512) and q8_0 with float32 activations, within the same bound, on the ${path} path`, () => {
      tidy(() => {
        const gen = new Generator(22);
        setLowpIsa(path, false);
        for (const [M, N, K] of [[17, 25, 512], [33, 37, 600], [64, 24, 1029]] as const) {
          const wf = randomArray(N * K, gen, 0.5), x = randomArray(M * K, gen);
          const y = matmul(tensor(x, { shape: [M, K] }), tensor(wf, { shape: [N, K] }), { transB: true }).toFloat32Array();
          checkAgainstFloat64(y, x, wf, M, N, K, `${path} f32 M=${M} N=${N} K=${K}`);
        }
        for (const [M, N, K] of [[18, 25, 288], [33, 13, 544]] as const) {
          const wf = randomArray(N * K, gen, 0.5), x = randomArray(M * K, gen);
          const q = quantize(tensor(wf, { shape: [N, K] }));
          // the operand the kernel multiplies: d·q in float32, as dequantize() forms it
          const deq = dequantize(q).toFloat32Array();
          const y = lowpLinear(tensor(x, { shape: [M, K] }), q).toFloat32Array();
          checkAgainstFloat64(y, x, deq, M, N, K, `${path} q8_0 f32-act M=${M} N=${N} K=${K}`);
          q.dispose();
        }
      });
    });
  }

  it('a fused call (q/k/v-like: three weights, one pass over x) equals three separate calls bit for bit', () => {
    tidy(() => {
      const gen = new Generator(23);
      const K = 300, M = 40;
      const ws = [50, 24, 7].map((N) => tensor(Uint16Array.from(randomArray(N * K, gen, 0.5), (v) => f32ToBf16Bits(v)), { shape: [N, K], dtype: 'bfloat16' }));
      for (const path of PATHS) {
        setLowpIsa(path, false);
        const x = tensor(randomArray(M * K, gen), { shape: [M, K] });
        const fused = lowpLinearMulti(x, ws);
        ws.forEach((w, i) => expect(fused[i]!.toFloat32Array(), `${path} weight ${i}`).toEqual(lowpLinear(x, w).toFloat32Array()));
      }
    });
  });
});
