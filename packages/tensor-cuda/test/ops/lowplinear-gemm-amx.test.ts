// The AMX prefill GEMMs (native/cpu/lowplinear_gemm_amx.cc, M > 16) for bf16 and q8_0 weights:
// against float64 products of the operands they multiply and against the AVX-512 kernels they
// replace, at the edges of their blocking — x rows in 16-row tiles taken two at a time (M 17, 31,
// 32, 33, 64, 100), W rows in 16-row tiles taken two at a time (N 1, 13, 16, 17, 33, 37, 50), k
// blocks of 32 (bf16: K 7, 33, 63, 255, 1100 — odd K, a zero-padded last block; q8_0: K 32, 256,
// 544, 2048) — and the switches that turn the path off. On a CPU without AMX (or a kernel that
// refuses the tile permission) the AMX tests print why and return.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import { Generator, lowpIsa, lowpLinear, lowpLinearMulti, quantize, setLowpIsa, tensor, tidy } from '../../src/index.js';
import { bf16BitsToF32, f32ToBf16Bits } from '../../src/dtype.js';
import { randomArray } from '../helpers.js';
import { gamma, refProduct, refQ8 } from './q8-reference.js';

const require = createRequire(import.meta.url);
const hasAmx = setLowpIsa('native', true).startsWith('amx');
const noAmx = (): boolean => {
  if (hasAmx) return false;
  console.log(`skipped: no AMX path on this machine (lowpIsa() = ${lowpIsa()}: CPU without AMX-TILE/BF16/INT8, no kernel tile permission, or OLMO_AMX=0 / OLMO_CPU_ISA set)`);
  return true;
};

const M_VALUES = [17, 31, 32, 33, 64, 100];

describe('lowplinear AMX GEMM (M > 16)', () => {
  afterAll(() => setLowpIsa('native'));

  it('is reported as "amx" only when selected, and OLMO_AMX=0 / the avx512bf16 cap turn it off', () => {
    expect(setLowpIsa('avx512bf16', true)).not.toMatch(/^amx/);
    expect(setLowpIsa('avx512', true)).not.toMatch(/^amx/);
    const addon = require.resolve('../../build/Release/olmo_native.node');
    const startup = (env: Record<string, string>) => execFileSync(process.execPath, ['-e', `console.log(require(${JSON.stringify(addon)}).lowpIsa())`],
      { env: { ...process.env, OLMO_CPU_ISA: '', ...env } }).toString().trim();
    expect(startup({ OLMO_AMX: '0' })).not.toMatch(/^amx/);
    expect(startup({ OLMO_CPU_ISA: 'avx512bf16' })).not.toMatch(/^amx/);
    expect(startup({}).startsWith('amx')).toBe(hasAmx);
    const prev = process.env.OLMO_AMX;
    try {
      process.env.OLMO_AMX = '0'; // read at every selection, so a running process can switch too
      expect(setLowpIsa('native', true)).not.toMatch(/^amx/);
    } finally {
      if (prev === undefined) delete process.env.OLMO_AMX; else process.env.OLMO_AMX = prev;
    }
    expect(setLowpIsa('native', true).startsWith('amx')).toBe(hasAmx);
  });

  it('bf16 weights: within the split + float32 bound of the float64 product, and of the avx512 kernel', () => {
    if (noAmx()) return;
    const gen = new Generator(31);
    const shapes: Array<[number, number]> = [[1, 7], [13, 33], [16, 63], [17, 255], [33, 1100], [37, 64], [50, 96]];
    for (const M of M_VALUES) for (const [N, K] of shapes) tidy(() => {
      const bits = Uint16Array.from(randomArray(N * K, gen, 0.5), (v) => f32ToBf16Bits(v));
      const wv = Float64Array.from(bits, (b) => bf16BitsToF32(b));
      const x = randomArray(M * K, gen);
      const xt = tensor(x, { shape: [M, K] }), w = tensor(bits, { shape: [N, K], dtype: 'bfloat16' });
      setLowpIsa('native', true);
      const ya = lowpLinear(xt, w).toFloat32Array();
      setLowpIsa('avx512bf16', true);
      const yv = lowpLinear(xt, w).toFloat32Array();
      const { y: ref, mag } = refProduct(Float64Array.from(x), wv, M, N, K);
      // x = xh + xl + r with |r| ≤ 2^-16·|x| (two roundings to bf16's 8-bit significand); the bf16
      // products are exact in float32 and TDPBF16PS adds them one at a time: 2K roundings over
      // Σ(|xh·w| + |xl·w|) ≤ (1 + 2^-7)·Σ|x·w|. Dropping the xl pass alone leaves errors ~2^-9 of
      // Σ|x·w|, 100x this bound; a misplaced block or output, O(Σ|x·w|).
      const bAmx = (n: number) => (gamma(2 * K) * (1 + 2 ** -7) + 2 ** -16) * n, bVec = (n: number) => gamma(K) * n;
      for (let i = 0; i < M * N; i++) {
        const at = `M=${M} N=${N} K=${K} element ${i}`;
        expect(Math.abs(ya[i]! - ref[i]!), `amx vs float64, ${at}`).toBeLessThanOrEqual(bAmx(mag[i]!));
        expect(Math.abs(ya[i]! - yv[i]!), `amx vs avx512, ${at}`).toBeLessThanOrEqual(bAmx(mag[i]!) + bVec(mag[i]!));
      }
    });
  });

  it('q8_0 weights: the int8 block dots of the VNNI GEMM, within the float32 summation bound, at tile edges', () => {
    if (noAmx()) return;
    const shapes: Array<[number, number]> = [[1, 32], [13, 256], [17, 544], [33, 2048], [50, 96], [16, 64]];
    for (const M of M_VALUES) for (const [N, K] of shapes) tidy(() => {
      const gen = new Generator(M * 7919 + N * K);
      const w = randomArray(N * K, gen, 0.5), x = randomArray(M * K, gen);
      // blocks quantizing to ±127 everywhere (the largest int32 block dots) in a few rows
      for (let r = 0; r < N; r += 5) for (let k = 0; k < 32; k++) w[r * K + k] = k % 3 ? 0.75 : -0.75;
      for (let r = 0; r < M; r += 4) for (let k = 0; k < 32; k++) x[r * K + k] = k % 7 ? -1.5 : 1.5;
      const q = quantize(tensor(w, { shape: [N, K] }));
      const xt = tensor(x, { shape: [M, K] });
      setLowpIsa('native', true);
      const ya = lowpLinear(xt, q).toFloat32Array();
      setLowpIsa('avx512bf16', true);
      const yv = lowpLinear(xt, q).toFloat32Array();
      const { y: ref, mag } = refProduct(refQ8(x), refQ8(w), M, N, K);
      // Every block dot is an exact int32 (|dot| ≤ 32·127² < 2^24, so its float32 convert is exact too)
      // and dw·dx an exact float32; AMX sums the K/32 blocks with one FMA each: γ_{K/32}. The VNNI
      // GEMM's bound is γ_{ceil(K/256)+4} (lowplinear-gemm-q8.test.ts): the same dots, another order.
      const nAmx = K / 32, nVnni = Math.ceil(K / 256) + 4;
      for (let i = 0; i < M * N; i++) {
        const at = `M=${M} N=${N} K=${K} element ${i}`;
        expect(Math.abs(ya[i]! - ref[i]!), `amx vs float64, ${at}`).toBeLessThanOrEqual(gamma(nAmx) * mag[i]!);
        expect(Math.abs(ya[i]! - yv[i]!), `amx vs vnni, ${at}`).toBeLessThanOrEqual((gamma(nAmx) + gamma(nVnni)) * mag[i]!);
      }
      q.dispose();
    });
  });

  it('a fused call (bf16 and q8_0 weights sharing x) equals separate calls bit for bit', () => {
    if (noAmx()) return;
    setLowpIsa('native', true);
    tidy(() => {
      const gen = new Generator(41);
      const M = 45, K = 320;
      const ws = [
        tensor(Uint16Array.from(randomArray(37 * K, gen, 0.5), (v) => f32ToBf16Bits(v)), { shape: [37, K], dtype: 'bfloat16' }),
        quantize(tensor(randomArray(50 * K, gen, 0.5), { shape: [50, K] })),
        tensor(Uint16Array.from(randomArray(16 * K, gen, 0.5), (v) => f32ToBf16Bits(v)), { shape: [16, K], dtype: 'bfloat16' }),
      ] as const;
      const x = tensor(randomArray(M * K, gen), { shape: [M, K] });
      const fused = lowpLinearMulti(x, [...ws]);
      ws.forEach((w, i) => expect(fused[i]!.toFloat32Array(), `weight ${i}`).toEqual(lowpLinear(x, w).toFloat32Array()));
    });
  });
});
