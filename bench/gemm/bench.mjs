#!/usr/bin/env node
// GEMM through the addon (matmul with transB, i.e. a linear layer) vs OpenBLAS sgemm called from
// C, side by side in one run, alternating, median of several runs each. Also reports the machine's
// measured sgemm rate (2048^3) as the peak that model-FLOP fractions refer to.
// Usage: node bench/gemm/bench.mjs [--reps 7]
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tensor, matmul, noGrad, Generator } from '../../packages/tensor-cuda/dist/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repsAt = process.argv.indexOf('--reps');
const reps = repsAt >= 0 ? Number(process.argv[repsAt + 1]) : 7;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'olmo-gemm-'));
const exe = path.join(tmp, 'openblas_sgemm');
execFileSync('cc', ['-O2', '-o', exe, path.join(here, 'openblas_sgemm.c'), '-I/usr/include/x86_64-linux-gnu/openblas-pthread', '-I/usr/include/openblas', '-lopenblas']);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function rand(n, gen) { const a = new Float32Array(n); for (let i = 0; i < n; i++) a[i] = gen.uniform(-0.5, 0.5); return a; }

function ours(M, N, K) {
  const gen = new Generator(1);
  const a = tensor(rand(M * K, gen), { shape: [M, K] }), b = tensor(rand(N * K, gen), { shape: [N, K] });
  noGrad(() => matmul(a, b, { transB: true }).dispose());
  const t = [];
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    const c = noGrad(() => matmul(a, b, { transB: true }));
    t.push(Number(process.hrtime.bigint() - t0) / 1e9);
    c.dispose();
  }
  a.dispose(); b.dispose();
  return median(t);
}
const theirs = (M, N, K) => Number(execFileSync(exe, [M, N, K, reps].map(String)).toString());

// [M, N, K]: 2048 tokens × 512 features → 2048 outputs; the 50304-vocab LM head; 256³; 2048³ (peak).
const shapes = [[2048, 2048, 512], [2048, 50304, 512], [256, 256, 256], [2048, 2048, 2048]];
console.log(`threads: OPENBLAS_NUM_THREADS=${process.env.OPENBLAS_NUM_THREADS ?? '(default)'} cores=${os.availableParallelism()}`);
console.log('| M×N×K | olmo-ts GFLOP/s | OpenBLAS (C) GFLOP/s | ratio |');
console.log('|---|---|---|---|');
for (const [M, N, K] of shapes) {
  const flops = 2 * M * N * K;
  // Alternate the two sides to share the machine's noise.
  const a1 = ours(M, N, K), b1 = theirs(M, N, K), a2 = ours(M, N, K), b2 = theirs(M, N, K);
  const o = Math.min(a1, a2), c = Math.min(b1, b2);
  console.log(`| ${M}×${N}×${K} | ${(flops / o / 1e9).toFixed(1)} | ${(flops / c / 1e9).toFixed(1)} | ${(c / o).toFixed(3)} |`);
}
