#!/usr/bin/env node
// Low-precision GEMV (batch-1 decode shape) per kernel path, alternated in one run, median of
// --reps rounds: float32 (OpenBLAS sgemv via linear) vs bf16 and q8_0 weights on every ISA path this
// CPU has (avx2 / avx512 / avx512bf16; q8_0 with float32 activations vs llama.cpp-style int8
// activations), as GB/s of weight bytes read. Also the machine's read-only streaming rate (a sum
// over a large float32 buffer), the floor every GEMV is bounded by.
//
// Usage: npx tsc -p packages/tensor-cuda/tsconfig.json && node bench/ops/lowplinear.mjs [--reps 9] [--n 2048] [--k 8192]
import {
  tensor, linear, lowpLinear, quantize, setLowpIsa, lowpIsa, Generator, sum, tidy, noGrad,
} from '../../packages/tensor-cuda/dist/index.js';
import { arg, median, time, loadavg, sysInfo } from './common.mjs';

const reps = Number(arg('reps', 9));
const N = Number(arg('n', 2048)), K = Number(arg('k', 8192));
const gen = new Generator(1);
const wf = new Float32Array(N * K);
for (let i = 0; i < wf.length; i++) wf[i] = gen.normal(0, 0.02);
const w32 = tensor(wf, { shape: [N, K] });
const w16 = w32.to('bfloat16');
const wq = quantize(w32);
const x = tensor(Float32Array.from({ length: K }, () => gen.normal(0, 1)), { shape: [1, K] });
const big = tensor(new Float32Array(64 << 20).fill(1), { shape: [64 << 20] });

const native = lowpIsa();
const paths = ['avx2', 'avx512', 'native'].filter((p, i, a) => a.findIndex((q) => setLowpIsa(q, false) === setLowpIsa(p, false)) === i);
setLowpIsa('native');
const cases = [['f32 sgemv', () => linear(x, w32), N * K * 4, null]];
for (const p of paths) {
  const isa = setLowpIsa(p, false);
  cases.push([`bf16 ${isa}`, () => lowpLinear(x, w16), N * K * 2, [p, false]]);
  cases.push([`q8_0 ${isa} (f32 activations)`, () => lowpLinear(x, wq), wq.nbytes, [p, false]]);
  cases.push([`q8_0 ${setLowpIsa(p, true)}`, () => lowpLinear(x, wq), wq.nbytes, [p, true]]);
}
cases.push(['read-only stream (sum)', () => sum(big), big.size * 4, null]);
const times = cases.map(() => []);
noGrad(() => {
  for (let r = 0; r < reps; r++) {
    cases.forEach(([, fn, , isa], i) => {
      if (isa) setLowpIsa(isa[0], isa[1]);
      times[i].push(time(() => tidy(() => { fn(); })));
    });
  }
});
setLowpIsa('native');
console.log(`# lowplinear GEMV ${N}x${K}, batch 1, ${reps} reps (median), load ${loadavg()}, native ISA ${native}`);
console.log(sysInfo ? sysInfo() : '');
console.log('| kernel | ms | weight GB/s |\n|---|---|---|');
cases.forEach(([name, , bytes], i) => {
  const t = median(times[i]);
  console.log(`| ${name} | ${(t * 1e3).toFixed(3)} | ${(bytes / t / 1e9).toFixed(1)} |`);
});
