#!/usr/bin/env node
// Fused causal attention fwd+bwd (the `attention` op: flash-style, online softmax, saves out + lse)
// vs the NAIVE composition of our own ops vs PyTorch 1.13 CPU (HF eager composition), side by side
// in one run, alternating fused / naive / torch each round, median of --reps rounds.
//
// Naive path (autograd through our ops): q,k,v [B,T,NH,HS] -> permute+contiguous to [B,NH,T,HS]
//   -> matmul(q, k, transB) [B,NH,T,T] -> scale -> causal mask + softmax -> matmul(P, v)
//   -> permute+contiguous back; backward through the same tape. There is no exp/softmax op in
//   @olmo/tensor-cuda and the mask/softmax cannot be composed from add/sub/mul/scale, so the
//   masked softmax (and its backward dS = P * (dP - rowsum(dP * P))) is one autograd node written
//   here in JS on Float32Array copies (single-threaded); everything else is our native ops.
// Also measures the machine's sgemm rate (2048^3 through matmul) in the same rounds, so the
// attention GFLOP/s can be read as a fraction of it.
//
// Usage: npx tsc -p packages/tensor-cuda/tsconfig.json && node bench/ops/attention.mjs [--reps 7] [--threads 2]
import { fileURLToPath } from 'node:url';
import {
  tensor, attention, matmul, scale, noGrad, Generator, memoryStats, tidy, record, needsGrad,
} from '../../packages/tensor-cuda/dist/index.js';
import { arg, median, time, torchServer, torchMem, ourMem, memProbe, MiB, loadavg, sysInfo } from './common.mjs';

const SHAPES = [
  { name: 'tiny', B: 4, T: 256, NH: 4, HS: 64 },
  { name: 'small', B: 4, T: 512, NH: 8, HS: 64 },
];

function inputs({ B, T, NH, HS }) {
  const gen = new Generator(1);
  const mk = (grad) => tensor(gen.fillNormal(new Float32Array(B * T * NH * HS)), { shape: [B, T, NH, HS], requiresGrad: grad });
  return { q: mk(true), k: mk(true), v: mk(true), g: mk(false) };
}

/** Causal masked softmax over the last dim of x [.., T, T] as one autograd node (JS, see header). */
function maskedSoftmaxJS(x) {
  const T = x.shape[x.ndim - 1];
  const a = x.toFloat32Array();
  for (let r = 0, rows = a.length / T; r < rows; r++) {
    const o = r * T, last = r % T; // query row i attends to keys 0..i
    let m = -Infinity;
    for (let j = 0; j <= last; j++) if (a[o + j] > m) m = a[o + j];
    let s = 0;
    for (let j = 0; j <= last; j++) { const e = Math.exp(a[o + j] - m); a[o + j] = e; s += e; }
    const inv = 1 / s;
    for (let j = 0; j <= last; j++) a[o + j] *= inv;
    for (let j = last + 1; j < T; j++) a[o + j] = 0;
  }
  const p = tensor(a, { shape: x.shape });
  if (needsGrad(x)) {
    record(p, 'maskedSoftmaxJS', [x], [p], (g, [sp]) => {
      const d = g.toFloat32Array(), P = sp.toFloat32Array();
      for (let o = 0; o < d.length; o += T) {
        let dot = 0;
        for (let j = 0; j < T; j++) dot += d[o + j] * P[o + j];
        for (let j = 0; j < T; j++) d[o + j] = P[o + j] * (d[o + j] - dot);
      }
      return [tensor(d, { shape: g.shape })];
    });
  }
  return p;
}

function naiveForward(q, k, v, HS) {
  return tidy(() => {
    const qh = q.permute([0, 2, 1, 3]).contiguous(), kh = k.permute([0, 2, 1, 3]).contiguous(), vh = v.permute([0, 2, 1, 3]).contiguous();
    const s = scale(matmul(qh, kh, { transB: true }), 1 / Math.sqrt(HS));
    const p = maskedSoftmaxJS(s);
    return matmul(p, vh).permute([0, 2, 1, 3]).contiguous();
  });
}

function clearGrads({ q, k, v }) { for (const t of [q, k, v]) t.zeroGrad(true); }
const steps = {
  fused: ({ q, k, v, g }) => { const o = attention(q, k, v, { causal: true }); o.backward(g); o.dispose(); },
  naive: ({ q, k, v, g }) => { const o = naiveForward(q, k, v, q.shape[3]); o.backward(g); o.dispose(); },
};

// ---- fresh-process memory probe (see common.mjs) ----
if (process.argv.includes('--mem-probe')) {
  const impl = arg('mem-probe'), shape = JSON.parse(process.argv[process.argv.indexOf('--mem-probe') + 2]);
  memProbe(memoryStats, () => inputs(shape), (ctx) => steps[impl](ctx), clearGrads);
  process.exit(0);
}

const reps = Number(arg('reps', 7));
const threads = Number(arg('threads', 2));
const self = fileURLToPath(import.meta.url);
const torch = torchServer(threads);
// Useful FLOPs of causal attention fwd+bwd: fwd = 2 GEMMs (QK^T, PV), bwd = 4 (dV, dP, dQ, dK),
// each 2*B*NH*T*T*HS dense; the causal mask halves them. Recomputation (flash bwd) is not counted.
const flops = ({ B, T, NH, HS }) => 6 * 2 * B * NH * T * T * HS * 0.5;

console.log(`# bench/ops/attention.mjs — ${new Date().toISOString()}`);
console.log(sysInfo());
console.log(`load average at start: ${loadavg()} | reps=${reps} | torch threads=${threads} (jemalloc)`);

// Sanity: the naive path computes the same thing as the fused op (outputs and grads).
{
  const ctx = inputs({ B: 1, T: 37, NH: 2, HS: 16 });
  const grab = (impl) => { steps[impl](ctx); const r = [ctx.q, ctx.k, ctx.v].map((t) => t.grad.toFloat32Array()); clearGrads(ctx); return r; };
  const a = grab('fused'), b = grab('naive');
  let err = 0;
  a.forEach((x, i) => x.forEach((y, j) => { err = Math.max(err, Math.abs(y - b[i][j])); }));
  console.log(`check: max |grad fused - grad naive| = ${err.toExponential(2)}`);
  for (const t of Object.values(ctx)) t.dispose();
}

// sgemm reference (same rounds as the attention so it sees the same load).
const ga = tensor(new Generator(2).fillUniform(new Float32Array(2048 * 2048), -0.5, 0.5), { shape: [2048, 2048] });
const sgemm = () => time(() => noGrad(() => matmul(ga, ga, { transB: true })).dispose());
sgemm();

const rows = [];
const sgemmTimes = [];
for (const sh of SHAPES) {
  const ctx = inputs(sh);
  const req = { op: 'attn', B: sh.B, T: sh.T, NH: sh.NH, HS: sh.HS, reps: 1 };
  for (const impl of ['fused', 'naive']) { steps[impl](ctx); clearGrads(ctx); } // warm-up
  await torch.request(req); // builds the inputs and warms up on the torch side
  const t = { fused: [], naive: [], torch: [] };
  for (let r = 0; r < reps; r++) {
    for (const impl of ['fused', 'naive']) { t[impl].push(time(() => steps[impl](ctx))); clearGrads(ctx); }
    t.torch.push((await torch.request(req)).times[0]);
    sgemmTimes.push(sgemm());
  }
  for (const x of Object.values(ctx)) x.dispose();
  const mem = { fused: ourMem(self, 'fused', sh), naive: ourMem(self, 'naive', sh), torch: torchMem(req, threads) };
  rows.push({ sh, t: { fused: median(t.fused), naive: median(t.naive), torch: median(t.torch) }, mem, load: loadavg() });
}
torch.close();
ga.dispose();
const sgemmRate = (2 * 2048 ** 3) / median(sgemmTimes) / 1e9;

console.log(`\nsgemm 2048^3 through matmul (median over all rounds): ${sgemmRate.toFixed(1)} GFLOP/s`);
console.log('\n| shape | fused ms | naive ms | torch ms | naive/fused | torch/fused | fused GFLOP/s (% sgemm) | naive GFLOP/s | torch GFLOP/s |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const { sh, t } of rows) {
  const f = flops(sh) / 1e9;
  const g = (s) => (f / s).toFixed(1);
  console.log(`| ${sh.name} B=${sh.B} T=${sh.T} NH=${sh.NH} HS=${sh.HS} | ${(t.fused * 1e3).toFixed(1)} | ${(t.naive * 1e3).toFixed(1)} | ${(t.torch * 1e3).toFixed(1)} | ${(t.naive / t.fused).toFixed(2)} | ${(t.torch / t.fused).toFixed(2)} | ${g(t.fused)} (${((100 * f) / t.fused / sgemmRate).toFixed(0)}%) | ${g(t.naive)} | ${g(t.torch)} |`);
}
console.log('\nmemory of one fwd+bwd beyond the inputs (fresh process each; MiB):');
console.log('| shape | fused native peak | naive native peak | fused peak RSS | naive peak RSS | torch peak RSS | load avg after |');
console.log('|---|---|---|---|---|---|---|');
for (const { sh, mem, load } of rows) {
  console.log(`| ${sh.name} | ${MiB(mem.fused.nativePeakDelta)} | ${MiB(mem.naive.nativePeakDelta)} | ${MiB(mem.fused.peakRssDelta)} | ${MiB(mem.naive.peakRssDelta)} | ${MiB(mem.torch)} | ${load} |`);
  for (const impl of ['fused', 'naive']) if (!mem[impl].peakWasLive || mem[impl].leakedBytes) console.log(`  warning: ${impl} probe peakWasLive=${mem[impl].peakWasLive} leaked=${mem[impl].leakedBytes}`);
}
console.log(`\nload average at end: ${loadavg()}`);
