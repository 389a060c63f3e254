#!/usr/bin/env node
// Low-precision GEMM (prefill / batch shapes, M > 16) per kernel path, alternated in one run,
// median of --reps rounds, as GFLOP/s: float32 x float32 through OpenBLAS sgemm (matmul x·W with W
// stored [K, N], which never takes the panel path) vs our panel GEMM (native/cpu/lowplinear_gemm.cc)
// for float32 weights (linear x·Wᵀ: 16 < M <= 128, K >= 256 on Intel / 512 elsewhere, see native/cpu/gemm.cc), bf16 and q8_0
// weights (lowpLinear) on every ISA path this CPU has. Shapes: the q/k/v-sized [d, d] and the
// SwiGLU [ffn, d] / [d, ffn] projections of the bench models tiny (d 256) and small (d 512) and of
// OLMo-1B (d 2048, ffn 8192), x = --m rows (default 32, the GGUF bench's prompt length).
//
// Usage: npx tsc -p packages/tensor-cuda/tsconfig.json && node bench/ops/lowplinear-gemm.mjs [--reps 7] [--m 32] [--shapes tiny,small,1b]
// OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1: one thread; BENCH_CPU_TIME=1: CPU seconds instead of wall
// time (GFLOP per CPU-second: the per-core rate, much less sensitive to a loaded machine).
import {
  tensor, linear, matmul, transpose, contiguous, lowpLinear, quantize, setLowpIsa, lowpIsa, Generator, tidy, noGrad,
} from '../../packages/tensor-cuda/dist/index.js';
import { arg, median, time, loadavg, sysInfo } from './common.mjs';

const reps = Number(arg('reps', 7));
const M = Number(arg('m', 32));
const SHAPES = {
  tiny: [[256, 256], [1024, 256], [256, 1024]],
  small: [[512, 512], [2048, 512], [512, 2048]],
  '1b': [[2048, 2048], [8192, 2048], [2048, 8192]],
};
const names = arg('shapes', 'tiny,small,1b').split(',');
const gen = new Generator(1);
const native = lowpIsa();
const paths = ['avx2', 'avx512', 'avx512bf16', 'native'].filter((p, i, a) => a.findIndex((q) => setLowpIsa(q, false) === setLowpIsa(p, false)) === i);
setLowpIsa('native');

const clock = process.env.BENCH_CPU_TIME === '1' ? 'CPU time' : 'wall time';
console.log(`# lowplinear GEMM, M = ${M}, ${reps} reps (median, ${clock}), load ${loadavg()}, native ISA ${native}`);
if (sysInfo) console.log(sysInfo());
console.log('| model | N x K | kernel | ms | GFLOP/s |\n|---|---|---|---|---|');
for (const name of names) {
  for (const [N, K] of SHAPES[name]) {
    const wf = new Float32Array(N * K);
    for (let i = 0; i < wf.length; i++) wf[i] = gen.normal(0, 0.02);
    const w32 = tensor(wf, { shape: [N, K] });
    const w16 = w32.to('bfloat16');
    const wq = quantize(w32);
    const x = tensor(Float32Array.from({ length: M * K }, () => gen.normal(0, 1)), { shape: [M, K] });
    const w32t = contiguous(transpose(w32, 0, 1)); // [K, N]: x·W is OpenBLAS sgemm on every path
    const cases = [['f32 OpenBLAS sgemm', () => matmul(x, w32t), null]];
    const panelF32 = M > 16 && M <= 128 && K >= Number(process.env.OLMO_F32_PANEL_MIN_K || 256); // gemm.cc's panel-path condition for x·Wᵀ
    for (const p of paths) {
      const isa = setLowpIsa(p, true);
      if (panelF32) cases.push([`f32 panel ${isa.split('+')[0]}`, () => linear(x, w32), [p, true]]);
      cases.push([`bf16 ${isa.split('+')[0]}`, () => lowpLinear(x, w16), [p, true]]);
      cases.push([`q8_0 ${isa}`, () => lowpLinear(x, wq), [p, true]]);
      // OLMO_Q8_ACT=f32: float32 x against dequantized panels (the q8_0 prefill GEMM before lowplinear_gemm_q8.cc)
      cases.push([`q8_0 ${isa.split('+')[0]} f32-act`, () => lowpLinear(x, wq), [p, false]]);
    }
    const times = cases.map(() => []);
    noGrad(() => {
      for (let r = 0; r < reps; r++) {
        cases.forEach(([, fn, isa], i) => {
          if (isa) setLowpIsa(isa[0], isa[1]);
          times[i].push(time(() => tidy(() => { fn(); })));
        });
      }
    });
    setLowpIsa('native');
    cases.forEach(([kname], i) => {
      const t = median(times[i]);
      console.log(`| ${name} | ${N} x ${K} | ${kname} | ${(t * 1e3).toFixed(3)} | ${(2 * M * N * K / t / 1e9).toFixed(1)} |`);
    });
    for (const t of [w32, w32t, w16, x]) t.dispose();
    wq.dispose();
  }
}
