#!/usr/bin/env node
// Fused cross-entropy fwd+bwd (the `crossEntropy` op: forward keeps only the per-row logsumexp,
// backward writes dlogits row by row) vs the NAIVE composition of our own ops vs PyTorch 1.13
// F.cross_entropy, side by side in one run, alternating fused / naive / torch each round, median of
// --reps rounds. logits [N,V] N=2048 V=50304, int32 targets, mean reduction.
//
// Naive path (autograd through our ops): logits -> full log-softmax materialised [N,V] -> gather of
//   the target entries (our `embedding` op on the flattened [N*V,1] log-probs with ids n*V+t_n; its
//   backward scatter-adds into a dense [N*V,1] gradient, like torch.gather) -> sum -> scale(-1/N).
//   There is no exp/log op in @olmo/tensor-cuda, so the log-softmax (and its backward
//   dx = g - softmax * rowsum(g)) is one autograd node written here in JS on Float32Array copies
//   (single-threaded); the gather / reduction / scale and the tape are our native ops.
//
// Usage: npx tsc -p packages/tensor-cuda/tsconfig.json && node bench/ops/crossentropy.mjs [--reps 7] [--threads 2]
import { fileURLToPath } from 'node:url';
import {
  tensor, crossEntropy, embedding, sum, scale, Generator, memoryStats, tidy, record, needsGrad,
} from '../../packages/tensor-cuda/dist/index.js';
import { arg, median, time, torchServer, torchMem, ourMem, memProbe, MiB, loadavg, sysInfo } from './common.mjs';

const SHAPES = [{ name: 'lm-head', N: 2048, V: 50304 }];

function inputs({ N, V }) {
  const gen = new Generator(1);
  const logits = tensor(gen.fillNormal(new Float32Array(N * V)), { shape: [N, V], requiresGrad: true });
  const t = new Int32Array(N);
  for (let i = 0; i < N; i++) t[i] = Math.floor(gen.random() * V);
  const flatIds = new Int32Array(N);
  for (let i = 0; i < N; i++) flatIds[i] = i * V + t[i];
  return { logits, targets: tensor(t, { shape: [N], dtype: 'int32' }), flatIds: tensor(flatIds, { shape: [N], dtype: 'int32' }) };
}

/** Row-wise log-softmax of x [N,V] as one autograd node (JS, see header). */
function logSoftmaxJS(x) {
  const V = x.shape[1];
  const a = x.toFloat32Array();
  for (let o = 0; o < a.length; o += V) {
    let m = -Infinity;
    for (let j = 0; j < V; j++) if (a[o + j] > m) m = a[o + j];
    let s = 0;
    for (let j = 0; j < V; j++) s += Math.exp(a[o + j] - m);
    const lse = m + Math.log(s);
    for (let j = 0; j < V; j++) a[o + j] -= lse;
  }
  const y = tensor(a, { shape: x.shape });
  if (needsGrad(x)) {
    record(y, 'logSoftmaxJS', [x], [y], (g, [sy]) => {
      const d = g.toFloat32Array(), L = sy.toFloat32Array();
      for (let o = 0; o < d.length; o += V) {
        let gs = 0;
        for (let j = 0; j < V; j++) gs += d[o + j];
        for (let j = 0; j < V; j++) d[o + j] -= Math.exp(L[o + j]) * gs;
      }
      return [tensor(d, { shape: g.shape })];
    });
  }
  return y;
}

const steps = {
  fused: ({ logits, targets }) => { const { loss } = crossEntropy(logits, targets); loss.backward(); loss.dispose(); },
  naive: ({ logits, flatIds }) => {
    const loss = tidy(() => {
      const [N, V] = logits.shape;
      const logp = logSoftmaxJS(logits);
      const picked = embedding(flatIds, logp.reshape([N * V, 1])); // [N, 1]
      return scale(sum(picked), -1 / N);
    });
    loss.backward();
    loss.dispose();
  },
};
const clearGrads = ({ logits }) => logits.zeroGrad(true);

if (process.argv.includes('--mem-probe')) {
  const impl = arg('mem-probe'), shape = JSON.parse(process.argv[process.argv.indexOf('--mem-probe') + 2]);
  memProbe(memoryStats, () => inputs(shape), (ctx) => steps[impl](ctx), clearGrads);
  process.exit(0);
}

const reps = Number(arg('reps', 7));
const threads = Number(arg('threads', 2));
const self = fileURLToPath(import.meta.url);
const torch = torchServer(threads);

console.log(`# bench/ops/crossentropy.mjs — ${new Date().toISOString()}`);
console.log(sysInfo());
console.log(`load average at start: ${loadavg()} | reps=${reps} | torch threads=${threads} (jemalloc)`);

// Sanity: the naive path computes the same loss and gradient as the fused op.
{
  const ctx = inputs({ N: 5, V: 37 });
  const grab = (impl) => {
    const { loss } = crossEntropy(ctx.logits, ctx.targets);
    const l = loss.item();
    loss.dispose();
    steps[impl](ctx);
    const gr = ctx.logits.grad.toFloat32Array();
    clearGrads(ctx);
    return [l, gr];
  };
  const [, a] = grab('fused'), [, b] = grab('naive');
  let err = 0;
  a.forEach((x, i) => { err = Math.max(err, Math.abs(x - b[i])); });
  console.log(`check: max |dlogits fused - dlogits naive| = ${err.toExponential(2)}`);
  for (const t of Object.values(ctx)) t.dispose();
}

const rows = [];
for (const sh of SHAPES) {
  const ctx = inputs(sh);
  const req = { op: 'ce', N: sh.N, V: sh.V, reps: 1 };
  for (const impl of ['fused', 'naive']) { steps[impl](ctx); clearGrads(ctx); } // warm-up
  await torch.request(req);
  const t = { fused: [], naive: [], torch: [] };
  for (let r = 0; r < reps; r++) {
    for (const impl of ['fused', 'naive']) { t[impl].push(time(() => steps[impl](ctx))); clearGrads(ctx); }
    t.torch.push((await torch.request(req)).times[0]);
  }
  for (const x of Object.values(ctx)) x.dispose();
  const mem = { fused: ourMem(self, 'fused', sh), naive: ourMem(self, 'naive', sh), torch: torchMem(req, threads) };
  rows.push({ sh, t: { fused: median(t.fused), naive: median(t.naive), torch: median(t.torch) }, mem, load: loadavg() });
}
torch.close();

// Bytes floor of fused fwd+bwd: read logits twice (fwd, bwd) + write dlogits once.
console.log('\n| shape | fused ms | naive ms | torch ms | naive/fused | torch/fused | fused GB/s (3 passes over [N,V]) |');
console.log('|---|---|---|---|---|---|---|');
for (const { sh, t } of rows) {
  const bytes = 3 * 4 * sh.N * sh.V;
  console.log(`| N=${sh.N} V=${sh.V} | ${(t.fused * 1e3).toFixed(1)} | ${(t.naive * 1e3).toFixed(1)} | ${(t.torch * 1e3).toFixed(1)} | ${(t.naive / t.fused).toFixed(2)} | ${(t.torch / t.fused).toFixed(2)} | ${(bytes / t.fused / 1e9).toFixed(1)} |`);
}
console.log('\nmemory of one fwd+bwd beyond the inputs (fresh process each; MiB; [N,V] fp32 = ' + MiB(4 * 2048 * 50304) + ' MiB):');
console.log('| shape | fused native peak | naive native peak | fused peak RSS | naive peak RSS | torch peak RSS | load avg after |');
console.log('|---|---|---|---|---|---|---|');
for (const { sh, mem, load } of rows) {
  console.log(`| N=${sh.N} V=${sh.V} | ${MiB(mem.fused.nativePeakDelta)} | ${MiB(mem.naive.nativePeakDelta)} | ${MiB(mem.fused.peakRssDelta)} | ${MiB(mem.naive.peakRssDelta)} | ${MiB(mem.torch)} | ${load} |`);
  for (const impl of ['fused', 'naive']) if (!mem[impl].peakWasLive || mem[impl].leakedBytes) console.log(`  warning: ${impl} probe peakWasLive=${mem[impl].peakWasLive} leaked=${mem[impl].leakedBytes}`);
}
console.log(`\nload average at end: ${loadavg()}`);
