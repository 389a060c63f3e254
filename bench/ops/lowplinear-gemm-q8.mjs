#!/usr/bin/env node
// q8_0 prefill GEMM (lowplinear_gemm_q8.cc: int8 activations, M > 16) at the bench models' shapes,
// as int8 GOP/s (2·M·N·K per second), for one or more builds of the addon alternated round by
// round: each round runs every --addons entry in a fresh child process (OLMO_NATIVE_PATH), so the
// previous commit's kernel and ours see the same machine state. Per addon and shape: median over
// rounds of each child's median of --reps calls; the last column is the per-round ratio
// (first addon / second addon) median. Time is wall time, or CPU seconds with BENCH_CPU_TIME=1
// (use with OMP_NUM_THREADS=1 on a loaded machine). Paths: --isa native (AMX where the CPU has it,
// lowplinear_gemm_amx.cc, else AVX512-VNNI) / avx512bf16 (the AVX512-VNNI GEMM below AMX) / avx2.
//
// Shapes (N x K): OLMo-1B's fused att_proj [6144, 2048], attn_out [2048, 2048], fused ff_proj
// [16384, 2048] and ff_out [2048, 8192]; small's [512, 512], [2048, 512], [512, 2048]; tiny's
// [256, 256], [1024, 256], [256, 1024].
//
// Usage: npx tsc -p packages/tensor-cuda/tsconfig.json &&
//   cp packages/tensor-cuda/build/Release/olmo_native.node /tmp/base.node   # (at the old commit)
//   OMP_NUM_THREADS=1 node bench/ops/lowplinear-gemm-q8.mjs --addons packages/tensor-cuda/build/Release/olmo_native.node,/tmp/base.node
//     [--shapes 1b,small,tiny] [--isa native,avx512bf16,avx2] [--rounds 5] [--reps 5] [--m 32]
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg, median, loadavg, sysInfo } from './common.mjs';

const SHAPES = {
  '1b': [[6144, 2048], [2048, 2048], [16384, 2048], [2048, 8192]],
  small: [[512, 512], [2048, 512], [512, 2048]],
  tiny: [[256, 256], [1024, 256], [256, 1024]],
};
const M = Number(arg('m', 32));
const reps = Number(arg('reps', 5));
const shapes = arg('shapes', '1b').split(',').flatMap((s) => SHAPES[s].map(([N, K]) => ({ model: s, N, K })));
const isas = arg('isa', 'native,avx512bf16,avx2').split(',');

if (process.argv.includes('--child')) {
  const { tensor, lowpLinear, quantize, setLowpIsa, Generator, tidy, noGrad } = await import('../../packages/tensor-cuda/dist/index.js');
  const { time } = await import('./common.mjs');
  const gen = new Generator(1);
  const out = {};
  noGrad(() => {
    for (const { N, K } of shapes) {
      const wq = tidy(() => quantize(tensor(Float32Array.from({ length: N * K }, () => gen.normal(0, 0.02)), { shape: [N, K] })));
      const x = tensor(Float32Array.from({ length: M * K }, () => gen.normal(0, 1)), { shape: [M, K] });
      for (const isa of isas) {
        setLowpIsa(isa, true);
        tidy(() => { lowpLinear(x, wq); }); // warm-up: page in W, grow the allocator
        const ts = [];
        for (let r = 0; r < reps; r++) ts.push(time(() => tidy(() => { lowpLinear(x, wq); })));
        out[`${N}x${K} ${isa}`] = median(ts);
      }
      x.dispose();
      wq.dispose();
    }
  });
  console.log(JSON.stringify(out));
  process.exit(0);
}

const addons = arg('addons', path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../packages/tensor-cuda/build/Release/olmo_native.node')).split(',');
const rounds = Number(arg('rounds', 5));
console.log(`# q8_0 int8 GEMM, M = ${M}, ${rounds} rounds x ${reps} reps, ${process.env.BENCH_CPU_TIME === '1' ? 'CPU' : 'wall'} time, load at start ${loadavg()}`);
console.log(sysInfo());
const res = addons.map(() => ({}));
const loads = [];
for (let r = 0; r < rounds; r++) {
  addons.forEach((a, i) => {
    const order = r % 2 === 0 ? i : addons.length - 1 - i; // alternate which build runs first
    const addon = addons[order];
    const json = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', ...process.argv.slice(2)],
      { env: { ...process.env, OLMO_NATIVE_PATH: path.resolve(addon) } }).toString();
    const o = JSON.parse(json.trim().split('\n').at(-1));
    for (const [k, t] of Object.entries(o)) (res[order][k] ??= []).push(t);
  });
  loads.push(loadavg().split(' ')[0]);
}
console.log(`load (1-min) after each round: ${loads.join(', ')}`);
const head = addons.map((a, i) => `#${i} ${path.basename(path.dirname(a))}/${path.basename(a)} ms | #${i} GOP/s`).join(' | ');
console.log(`| shape N x K | isa | ${head} |${addons.length > 1 ? ' #0 / #1 speed (median of rounds) |' : ''}`);
console.log(`|---|---|${addons.map(() => '---|---|').join('')}${addons.length > 1 ? '---|' : ''}`);
for (const { N, K } of shapes) for (const isa of isas) {
  const k = `${N}x${K} ${isa}`;
  const cells = res.map((r) => { const t = median(r[k]); return `${(t * 1e3).toFixed(2)} | ${(2 * M * N * K / t / 1e9).toFixed(0)}`; });
  const ratio = addons.length > 1 ? ` ${median(res[0][k].map((t, i) => res[1][k][i] / t)).toFixed(2)}× |` : '';
  console.log(`| ${N} x ${K} | ${isa} | ${cells.join(' | ')} |${ratio}`);
}
