// The q8_0 int8 prefill GEMM (native/cpu/lowplinear_gemm_q8.cc, M > 16, int8 activations) at the
// edges of its packing: 16-block wide groups, an 8-block narrow tail, zero-padded wide groups,
// partial W panels (24 rows on AVX512-VNNI, 16 on AVX2), partial register tiles (4x3 / 2x2), and
// extreme int8 operands, on both kernel paths. Reference: the float64 product of the same
// quantized operands (refQ8 is the GEMV's quantizer), and the M = 1 GEMV per row.
import { afterAll, describe, expect, it } from 'vitest';
import { Generator, lowpIsa, lowpLinear, lowpLinearMulti, quantize, setLowpIsa, tensor, tidy } from '../../src/index.js';
import { randomArray } from '../helpers.js';
import { gamma, refProduct, refQ8 } from './q8-reference.js';

// [M, N, K]: K = 32 / 256: one narrow group (1 / 8 blocks); 512, 2048, 8192: 1 / 4 / 16 wide groups;
// 544 / 768: a wide group + a narrow one of 1 / 8 blocks; 800 / 992: a wide group + a zero-padded
// wide one of 9 / 15 blocks. M = 17..22, 33..35: every M % 4; N: panels of 24 / 16 + 1, tiles of 3 / 2
// + 1 or + 2, single rows.
const SHAPES = [[17, 1, 32], [18, 25, 256], [19, 49, 512], [20, 17, 544], [33, 50, 768], [21, 26, 800], [22, 23, 992],
  [32, 48, 2048], [35, 5, 8192]] as const;

/** W and x data: random, plus blocks that quantize to ±127 everywhere (the int32 lanes' largest |dot|). */
function operands(M: number, N: number, K: number, seed: number): { w: Float32Array; x: Float32Array } {
  const gen = new Generator(seed);
  const w = randomArray(N * K, gen, 0.5), x = randomArray(M * K, gen);
  const extreme = (a: Float32Array, rows: number, sign: (i: number) => number) => {
    for (let r = 0; r < rows; r += 3) for (let k = 0; k < 32; k++) a[r * K + k] = 0.75 * sign(k);
  };
  extreme(w, N, (k) => (k % 5 === 0 ? -1 : 1));
  extreme(x, M, (k) => (k % 7 === 0 ? -1 : 1));
  // Odd x rows: exact ties of the 1/d grid (x = (j + 0.5)·d), rounded half away from zero.
  for (let m = 1; m < M; m += 2) for (let k = 32; k < K; k++) {
    const i = m * K + k;
    x[i] = (k % 32 === 0 ? 127 : (Math.floor(gen.uniform() * 200) - 100) + 0.5) / 8 * (i % 3 === 1 ? -1 : 1);
  }
  return { w, x };
}

describe('lowplinear q8_0 int8 GEMM (M > 16)', () => {
  afterAll(() => setLowpIsa('native'));

  // native: the AMX GEMM on CPUs that have it (lowplinear_gemm_amx.cc), else AVX512-VNNI / AVX2;
  // avx512bf16: the VNNI GEMM on any AVX512-VNNI CPU.
  for (const path of ['native', 'avx512bf16', 'avx2'] as const) {
    it(`matches the float64 product of the quantized operands and the GEMV per row, at packing edges, on the ${path} path`, () => {
      const isa = setLowpIsa(path, true);
      expect(isa).toMatch(/\+q8act/);
      for (const [M, N, K] of SHAPES) tidy(() => {
        const { w, x } = operands(M, N, K, M * 1000 + K);
        const q = quantize(tensor(w, { shape: [N, K] }));
        const y = lowpLinear(tensor(x, { shape: [M, K] }), q).toFloat32Array();
        const { y: ref, mag } = refProduct(refQ8(x), refQ8(w), M, N, K);
        // Every block dot is an exact int32 and every dw·dx an exact float32, so only float32 sums
        // round. A term passes ≤ one FMA per 8 blocks per lane (AVX512-VNNI: one per 16-block group
        // or narrow tail; AVX2: one per 8-block half) and a 4-level lane tree (16 → 8, two hadds,
        // one add): n = ceil(K/256) + 4 roundings, |y − ref| ≤ γ_n · Σ|wq·xq|. The GEMV's bound is
        // lowplinear.test.ts's n = 2·blocks + 8. Misplacing one block or one scale breaks these by
        // orders of magnitude (activation quantization alone is ~1e-2 of Σ|wq·xq|).
        // AMX: the same exact block dots and scales, one FMA per block in order: n = K/32.
        const nGemm = isa.startsWith('amx') ? K / 32 : Math.ceil(K / 256) + 4, nGemv = 2 * (K / 32) + 8;
        for (let m = 0; m < M; m++) {
          const y1 = lowpLinear(tensor(x.slice(m * K, (m + 1) * K), { shape: [1, K] }), q).toFloat32Array();
          for (let n = 0; n < N; n++) {
            const i = m * N + n, at = `M=${M} N=${N} K=${K}, row ${m}, col ${n}`;
            expect(Math.abs(y[i]! - ref[i]!), `GEMM vs float64, ${at}`).toBeLessThanOrEqual(gamma(nGemm) * mag[i]!);
            expect(Math.abs(y1[n]! - ref[i]!), `GEMV vs float64, ${at}`).toBeLessThanOrEqual(gamma(nGemv) * mag[i]!);
            expect(Math.abs(y[i]! - y1[n]!), `GEMM vs GEMV, ${at}`).toBeLessThanOrEqual((gamma(nGemm) + gamma(nGemv)) * mag[i]!);
          }
        }
        q.dispose();
      });
    });

    it(`a fused call (three q8_0 weights, one x) equals separate calls bit for bit on the ${path} path`, () => {
      setLowpIsa(path, true);
      tidy(() => {
        const gen = new Generator(5);
        const M = 33, K = 800;
        const ws = [25, 3, 48].map((N) => quantize(tensor(randomArray(N * K, gen, 0.5), { shape: [N, K] })));
        const x = tensor(randomArray(M * K, gen), { shape: [M, K] });
        const fused = lowpLinearMulti(x, ws);
        ws.forEach((w, i) => expect(fused[i]!.toFloat32Array()).toEqual(lowpLinear(x, w).toFloat32Array()));
        for (const w of ws) w.dispose();
      });
    });
  }

  it('the AVX2 and AVX512-VNNI kernels agree within both bounds (when this CPU has VNNI)', () => {
    setLowpIsa('avx512bf16', true); // the VNNI GEMM (native may be AMX)
    if (!lowpIsa().includes('vnni')) {
      console.log(`skipped: no AVX512-VNNI here (${lowpIsa()}), the native path is the AVX2 one`);
      return;
    }
    tidy(() => {
      const [M, N, K] = [34, 40, 2080];
      const { w, x } = operands(M, N, K, 77);
      const q = quantize(tensor(w, { shape: [N, K] }));
      const xt = tensor(x, { shape: [M, K] });
      const yv = lowpLinear(xt, q).toFloat32Array();
      expect(setLowpIsa('avx2', true)).toBe('avx2+q8act');
      const ya = lowpLinear(xt, q).toFloat32Array();
      const { mag } = refProduct(refQ8(x), refQ8(w), M, N, K);
      const n = Math.ceil(K / 256) + 4;
      for (let i = 0; i < M * N; i++) expect(Math.abs(yv[i]! - ya[i]!), `element ${i}`).toBeLessThanOrEqual(2 * gamma(n) * mag[i]!);
      q.dispose();
    });
  });
});
