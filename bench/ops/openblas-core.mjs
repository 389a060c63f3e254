#!/usr/bin/env node
// Which kernels OpenBLAS runs here and what its sgemm does at prefill shapes (M = 32, the GGUF
// bench's prompt): x[M,K]·W[K,N] through cblas_sgemm (matmul without transB never takes our panel
// GEMM), wall and process CPU per call, median of --reps rounds of 200 calls. Alternate it with
// OLMO_OPENBLAS_CORETYPE_FIX=0 (OpenBLAS's own pick, e.g. its SSE3 "Prescott" fallback on a CPU model
// newer than the library: native/cpu/blas_loader.cc) and OPENBLAS_NUM_THREADS=1 (the kernel alone,
// no pool; its spinning thread counts as CPU time otherwise).
//
// Usage: node bench/ops/openblas-core.mjs [--reps 9] [--shapes 32x768x256,32x2048x256,32x256x1024]
import { tensor, matmul, blasState, tidy, noGrad } from '../../packages/tensor-cuda/dist/index.js';
import { arg, median, loadavg } from './common.mjs';

const reps = Number(arg('reps', 9));
const shapes = arg('shapes', '32x768x256,32x2048x256,32x256x1024').split(',').map((s) => s.split('x').map(Number));
const rows = [];
noGrad(() => {
  for (const [M, N, K] of shapes) {
    const a = tensor(Float32Array.from({ length: M * K }, (_, i) => (i % 7) / 7), { shape: [M, K] });
    const b = tensor(Float32Array.from({ length: K * N }, (_, i) => (i % 5) / 5), { shape: [K, N] });
    const ts = [], cs = [];
    for (let r = 0; r < reps + 1; r++) {
      const c0 = process.cpuUsage(), t0 = process.hrtime.bigint();
      for (let i = 0; i < 200; i++) tidy(() => { matmul(a, b); });
      const c = process.cpuUsage(c0);
      if (r === 0) continue; // warm-up (OpenBLAS loads on the first call)
      ts.push(Number(process.hrtime.bigint() - t0) / 1e6 / 200);
      cs.push((c.user + c.system) / 1e3 / 200);
    }
    const t = median(ts), c = median(cs);
    rows.push(`| ${M}x${N}x${K} | ${t.toFixed(3)} | ${c.toFixed(3)} | ${(2 * M * N * K / c / 1e6).toFixed(1)} |`);
    a.dispose(); b.dispose();
  }
});
const s = blasState();
console.log(`# OpenBLAS sgemm: core ${s.core}${s.coreForced ? ' (forced by the loader)' : ''}, ${s.threads} thread(s), ${reps} x 200 calls, load ${loadavg()}`);
console.log('| M x N x K | wall ms / call | CPU ms / call | GFLOP per CPU-second |\n|---|---|---|---|');
for (const r of rows) console.log(r);
