#!/usr/bin/env node
// Times every CUDA kernel of the native addon against its bytes / FLOPs floor.
// Plain Node (no TypeScript loader, no npm packages): loads packages/tensor-cuda/build/Release/olmo_native.node
// directly and calls the raw bindings (argument orders documented in native/addon/<family>.cc).
//
//   node bench/cuda/kernels.mjs [--quick] [--only name,name]
//
// For each kernel: median time of `iters` back-to-back launches (synchronised), the bytes it must
// move at least (every input read once, every output written once) or the FLOPs it must do, the
// achieved GB/s or TFLOP/s, and the % of the device peak (defaults: H200, 4.8 TB/s HBM3e,
// 67 TFLOP/s fp32 non-tensor; override with OLMO_PEAK_GBS / OLMO_PEAK_TFLOPS).
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);
const addonPath = process.env.OLMO_NATIVE_PATH ?? path.join(root, 'packages/tensor-cuda/build/Release/olmo_native.node');
const n = require(addonPath);
const info = n.buildInfo();
// OLMO_BENCH_DEVICE=-1 runs the same script on the CPU kernels (a dry run of the argument lists).
const DEV = Number(process.env.OLMO_BENCH_DEVICE ?? 0);
if (DEV >= 0 && (!info.cudaCompiled || info.cudaDevices < 1)) {
  console.log(`[bench/cuda] skipped: ${!info.cudaCompiled ? 'addon built without CUDA' : 'no CUDA device visible'}`);
  process.exit(0);
}
const PEAK_BPS = Number(process.env.OLMO_PEAK_GBS ?? 4800) * 1e9;
const PEAK_FLOPS = Number(process.env.OLMO_PEAK_TFLOPS ?? 67) * 1e12;
const quick = process.argv.includes('--quick');
const onlyArg = process.argv.indexOf('--only');
const only = onlyArg > 0 ? new Set(process.argv[onlyArg + 1].split(',')) : null;
console.log(`[bench/cuda] device: ${DEV < 0 ? 'cpu' : n.cudaDeviceName ? n.cudaDeviceName(DEV) : `cuda:${DEV}`}; peaks ${PEAK_BPS / 1e12} TB/s, ${PEAK_FLOPS / 1e12} TFLOP/s fp32`);

// ---- buffers --------------------------------------------------------------------------------
let seed = 12345;
function rnd() {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return seed / 4294967296;
}
const live = [];
function fbuf(count, fill = 'rand', scale = 1) {
  const b = new n.NativeBuffer(Math.max(4, count * 4), DEV, true);
  live.push(b);
  if (fill === 'rand') {
    const chunk = 1 << 22;
    for (let s = 0; s < count; s += chunk) {
      const m = Math.min(chunk, count - s);
      const a = new Float32Array(m);
      for (let i = 0; i < m; i++) a[i] = (rnd() * 2 - 1) * scale;
      b.write(s * 4, a);
    }
  }
  return b;
}
function ibuf(count, hi) {
  const b = new n.NativeBuffer(Math.max(4, count * 4), DEV, true);
  live.push(b);
  const a = new Int32Array(count);
  for (let i = 0; i < count; i++) a[i] = Math.floor(rnd() * hi);
  b.write(0, a);
  return b;
}
function freeAll() {
  while (live.length) live.pop().free();
}

// ---- timing ---------------------------------------------------------------------------------
const rows = [];
function time(name, shape, fn, { bytes = 0, flops = 0, iters = quick ? 3 : 10 } = {}) {
  if (only && !only.has(name)) return;
  try {
    fn();
    n.synchronize(DEV);
    const ts = [];
    for (let r = 0; r < 3; r++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < iters; i++) fn();
      n.synchronize(DEV);
      ts.push(Number(process.hrtime.bigint() - t0) / 1e9 / iters);
    }
    ts.sort((a, b) => a - b);
    const t = ts[1];
    const row = { kernel: name, shape, 'time us': (t * 1e6).toFixed(1) };
    if (flops) {
      row.achieved = `${(flops / t / 1e12).toFixed(2)} TFLOP/s`;
      row['% peak'] = `${((100 * flops) / t / PEAK_FLOPS).toFixed(1)}%`;
    } else {
      row.achieved = `${(bytes / t / 1e9).toFixed(0)} GB/s`;
      row['% peak'] = `${((100 * bytes) / t / PEAK_BPS).toFixed(1)}%`;
    }
    rows.push(row);
    console.log(`  ${name.padEnd(22)} ${shape.padEnd(30)} ${row['time us'].padStart(10)} us  ${row.achieved.padStart(16)}  ${row['% peak'].padStart(6)}`);
  } catch (e) {
    rows.push({ kernel: name, shape, error: String(e.code ?? '') + ' ' + e.message });
    console.log(`  ${name.padEnd(22)} ${shape.padEnd(30)} ERROR ${e.code ?? ''} ${e.message}`);
  }
}

const F = 4;
// ---- elementwise ----------------------------------------------------------------------------
{
  const N = quick ? 1 << 22 : 1 << 26;
  const a = fbuf(N), b = fbuf(N), o = fbuf(N, 'zero');
  time('add', `n=${N}`, () => n.add(o, 0, a, 0, b, 0, N, 1, 1), { bytes: 3 * N * F });
  time('mul', `n=${N}`, () => n.mul(o, 0, a, 0, b, 0, N), { bytes: 3 * N * F });
  time('scale', `n=${N}`, () => n.scale(o, 0, a, 0, N, 0.5), { bytes: 2 * N * F });
  time('swigluFwd', `n=${N}`, () => n.swigluFwd(o, 0, a, 0, b, 0, N), { bytes: 3 * N * F });
  const dg = fbuf(N, 'zero');
  time('swigluBwd', `n=${N}`, () => n.swigluBwd(dg, 0, o, 0, a, 0, a, 0, b, 0, N), { bytes: 5 * N * F });
  time('clampFwd', `n=${N}`, () => n.clampFwd(o, 0, a, 0, N, -0.5, 0.5), { bytes: 2 * N * F });
  time('clampBwd', `n=${N}`, () => n.clampBwd(o, 0, b, 0, a, 0, N, -0.5, 0.5), { bytes: 3 * N * F });
  const s = fbuf(1, 'zero');
  time('sum', `n=${N}`, () => n.sum(s, 0, a, 0, N, 1), { bytes: N * F });
  time('sumSquares', `n=${N}`, () => n.sumSquares(a, 0, N, b, 0, N), { bytes: 2 * N * F, iters: 5 });
  time('cast f32->bf16', `n=${N}`, () => n.cast(o, 0, 1, a, 0, 0, N), { bytes: 6 * N });
  freeAll();
}
// ---- gemm -----------------------------------------------------------------------------------
for (const [M, N, K] of quick ? [[1024, 1024, 1024]] : [[4096, 4096, 4096], [2048, 2048, 512], [8192, 2048, 2048], [2048, 50304, 512]]) {
  const a = fbuf(M * K), b = fbuf(K * N), c = fbuf(M * N, 'zero');
  time('gemm f32 (NT)', `${M}x${N}x${K}`, () => n.gemm(false, true, M, N, K, 1, a, 0, K, 0, b, 0, K, 0, 0, c, 0, N, 0, 1), { flops: 2 * M * N * K, iters: 3 });
  time('gemm f32 (NN)', `${M}x${N}x${K}`, () => n.gemm(false, false, M, N, K, 1, a, 0, K, 0, b, 0, N, 0, 0, c, 0, N, 0, 1), { flops: 2 * M * N * K, iters: 3 });
  freeAll();
}
// ---- embedding ------------------------------------------------------------------------------
{
  const Ntok = quick ? 2048 : 16384, V = 50304, C = 2048;
  const w = fbuf(V * C), ids = ibuf(Ntok, V), o = fbuf(Ntok * C, 'zero'), dw = fbuf(V * C, 'zero');
  time('embeddingFwd', `N=${Ntok} V=${V} C=${C}`, () => n.embeddingFwd(o, 0, ids, 0, w, 0, Ntok, V, C), { bytes: 2 * Ntok * C * F + Ntok * 4 });
  time('embeddingBwd', `N=${Ntok} V=${V} C=${C}`, () => n.embeddingBwd(dw, 0, ids, 0, o, 0, Ntok, V, C), { bytes: 3 * Ntok * C * F + Ntok * 4 });
  freeAll();
}
// ---- norms ----------------------------------------------------------------------------------
{
  const N = quick ? 2048 : 16384, C = 2048;
  const x = fbuf(N * C), o = fbuf(N * C, 'zero'), g = fbuf(N * C), dx = fbuf(N * C, 'zero');
  const w = fbuf(C), bias = fbuf(C), mean = fbuf(N, 'zero'), rstd = fbuf(N, 'zero'), dw = fbuf(C, 'zero'), db = fbuf(C, 'zero');
  time('layerNormFwd', `N=${N} C=${C}`, () => n.layerNormFwd(o, 0, mean, 0, rstd, 0, x, 0, w, 0, bias, 0, N, C, 1e-5), { bytes: 2 * N * C * F });
  time('layerNormBwd', `N=${N} C=${C}`, () => n.layerNormBwd(dx, 0, dw, 0, db, 0, g, 0, x, 0, w, 0, mean, 0, rstd, 0, N, C), { bytes: 3 * N * C * F });
  time('layerNormFwd (no affine)', `N=${N} C=${C}`, () => n.layerNormFwd(o, 0, mean, 0, rstd, 0, x, 0, null, 0, null, 0, N, C, 1e-5), { bytes: 2 * N * C * F });
  time('rmsNormFwd', `N=${N} C=${C}`, () => n.rmsNormFwd(o, 0, rstd, 0, x, 0, w, 0, N, C, 1e-6), { bytes: 2 * N * C * F });
  time('rmsNormBwd', `N=${N} C=${C}`, () => n.rmsNormBwd(dx, 0, dw, 0, g, 0, x, 0, w, 0, rstd, 0, N, C), { bytes: 3 * N * C * F });
  freeAll();
}
// ---- rope -----------------------------------------------------------------------------------
{
  const B = quick ? 1 : 8, T = 2048, NH = 16, HS = 128, cnt = B * T * NH * HS;
  const x = fbuf(cnt), o = fbuf(cnt, 'zero');
  time('rope', `B=${B} T=${T} NH=${NH} HS=${HS}`, () => n.rope(o, 0, x, 0, B, T, NH, HS, 10000, 0, false), { bytes: 2 * cnt * F });
  freeAll();
}
// ---- cross-entropy --------------------------------------------------------------------------
{
  const N = quick ? 1024 : 8192, V = 50304;
  const logits = fbuf(N * V, 'rand', 4), t = ibuf(N, V), loss = fbuf(N, 'zero'), lse = fbuf(N, 'zero'), z = fbuf(N, 'zero');
  const dl = fbuf(N * V, 'zero'), gl = fbuf(1);
  time('crossEntropyFwd', `N=${N} V=${V}`, () => n.crossEntropyFwd(loss, 0, lse, 0, logits, 0, t, 0, N, V, -100, z, 0, 1e-4), { bytes: N * V * F, iters: 5 });
  time('crossEntropyBwd', `N=${N} V=${V}`, () => n.crossEntropyBwd(dl, 0, logits, 0, lse, 0, t, 0, gl, 0, 0, 1 / N, null, 0, 0, 0, N, V, -100), { bytes: 2 * N * V * F, iters: 5 });
  freeAll();
}
// ---- attention ------------------------------------------------------------------------------
for (const [B, T, NH, NKV, HS] of quick ? [[1, 1024, 8, 8, 64]] : [[4, 2048, 16, 16, 128], [4, 2048, 32, 8, 64], [1, 4096, 16, 16, 128]]) {
  const nq = B * T * NH * HS, nk = B * T * NKV * HS;
  const q = fbuf(nq), k = fbuf(nk), v = fbuf(nk), o = fbuf(nq, 'zero'), lse = fbuf(B * NH * T, 'zero');
  const dout = fbuf(nq), dq = fbuf(nq, 'zero'), dk = fbuf(nk, 'zero'), dv = fbuf(nk, 'zero');
  const scale = 1 / Math.sqrt(HS);
  const fwdFlops = 4 * B * NH * T * T * HS / 2;  // causal: half of QK^T and PV
  const shape = `B=${B} T=${T} NH=${NH} NKV=${NKV} HS=${HS} causal`;
  time('attentionForward', shape, () => n.attentionForward(q, 0, k, 0, v, 0, o, 0, lse, 0, B, T, T, NH, NKV, HS, scale, true), { flops: fwdFlops, iters: 3 });
  time('attentionBackward', shape, () => n.attentionBackward(q, 0, k, 0, v, 0, o, 0, lse, 0, dout, 0, dq, 0, dk, 0, dv, 0, B, T, T, NH, NKV, HS, scale, true), { flops: 2.5 * fwdFlops, iters: 3 });
  freeAll();
}
// ---- optimizer / grad clipping ---------------------------------------------------------------
{
  const sizes = quick ? [1 << 20, 4096, 7] : [50304 * 2048, 2048 * 8192, 8192 * 2048, 2048, 7];
  const total = sizes.reduce((a, b) => a + b, 0);
  const P = sizes.map((s) => fbuf(s)), G = sizes.map((s) => fbuf(s, 'rand', 1e-3)), M = sizes.map((s) => fbuf(s, 'zero')), Vv = sizes.map((s) => fbuf(s, 'zero'));
  const offs = sizes.map(() => 0);
  let step = 1;
  time('adamwStep', `${sizes.length} tensors, ${total} params`, () => n.adamwStep(P, offs, G, offs, M, offs, Vv, offs, sizes, sizes.map(() => 1e-4), sizes.map(() => 0.1), 0.9, 0.95, 1e-8, step++),
    { bytes: (4 + 3) * total * F + total * F /* finiteness pre-check reads g */, iters: 3 });
  time('gradClipSumSquares', `${sizes.length} tensors, ${total} params`, () => n.gradClipSumSquares(G, offs, sizes), { bytes: total * F, iters: 3 });
  time('gradClipScale', `${sizes.length} tensors, ${total} params`, () => n.gradClipScale(G, offs, sizes, 0.999), { bytes: 2 * total * F, iters: 3 });
  freeAll();
}

if (process.env.OLMO_BENCH_JSON) {
  (await import('node:fs')).writeFileSync(process.env.OLMO_BENCH_JSON, JSON.stringify({ device: DEV < 0 ? 'cpu' : n.cudaDeviceName?.(DEV), rows }, null, 2));
}
