// Run under mpirun by fsdp.test.ts. A tied-embedding two-block model is trained one step with
// FSDP on W ranks (each rank: its own slice of the batch) and, on every rank, without FSDP on the
// whole batch; the shard gradients and the updated shards must match the unsharded reference.
import {
  ProcessGroup, FSDP, fsdpUnits, Generator, tensor, noGrad, tidy, add, linear, embedding, crossEntropy, rmsNorm,
  adamwStep, zeros, memoryStats,
} from '../../dist/index.js';

const pg = ProcessGroup.init();
const { rank, worldSize: W } = pg;
const V = 37, C = 12, T = 5, B = 6; // B divisible by 1, 2, 3
const specs = [
  { name: 'model.embed_tokens.weight', shape: [V, C] },
  { name: 'model.layers.0.mlp.weight', shape: [C, C] },
  { name: 'model.layers.0.norm.weight', shape: [C] },
  { name: 'model.layers.1.mlp.weight', shape: [C, C] },
  { name: 'model.layers.1.norm.weight', shape: [C] },
];
const gen = new Generator(42);
const full = new Map(specs.map((s) => {
  const n = s.shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n).map(() => (s.name.includes('norm') ? 1 + 0.1 * gen.normal() : 0.3 * gen.normal()));
  return [s.name, tensor(data, { shape: s.shape, requiresGrad: true })];
}));
const ids = Array.from({ length: B }, (_, b) => Array.from({ length: T + 1 }, (_, t) => (b * 7 + t * 3) % V));

function blockFn(l, P) {
  return ([x]) => [add(x, linear(rmsNorm(x, P(`model.layers.${l}.norm.weight`), 1e-6), P(`model.layers.${l}.mlp.weight`)))];
}
function lossOf(rows, P, run) {
  const inp = tensor(rows.map((r) => r.slice(0, T)), { dtype: 'int32' });
  const tgt = tensor(rows.map((r) => r.slice(1)).flat(), { dtype: 'int32' });
  let [x] = run(['root'], [inp], ([i]) => [embedding(i, P('model.embed_tokens.weight'))]);
  for (let l = 0; l < 2; l++) [x] = run([`block.${l}`], [x], blockFn(l, P));
  const [loss] = run(['root'], [x, tgt], ([h, targets]) => {
    const logits = linear(h.reshape([rows.length * T, C]), P('model.embed_tokens.weight'));
    return [crossEntropy(logits, targets, { reduction: 'sum' }).loss];
  });
  return loss;
}

// Reference: plain parameters, the whole batch, on every rank.
const direct = (units, inputs, fn) => fn(inputs);
const refLoss = tidy(() => lossOf(ids, (n) => full.get(n), direct).keep());
refLoss.backward();

// FSDP: this rank's slice of the batch; gradients summed over ranks by reduce-scatter.
const fsdp = new FSDP(pg, fsdpUnits(specs, 'by_block'), { gradReduce: 'sum' });
fsdp.loadFull((n) => full.get(n));
const per = B / W;
const mine = ids.slice(rank * per, (rank + 1) * per);
const loss = tidy(() => lossOf(mine, (n) => fsdp.param(n), (u, i, f) => fsdp.run(u, i, f)).keep());
loss.backward();
const total = pg.allReduceNumbers([loss.item()], 'sum')[0];

let maxErr = 0;
const rel = (a, b) => { let n = 0, d = 0; for (let i = 0; i < a.length; i++) { n += (a[i] - b[i]) ** 2; d += b[i] ** 2; } return Math.sqrt(n) / Math.max(Math.sqrt(d), 1e-30); };
const pieces = fsdp.pieces();
for (const p of pieces) {
  const g = full.get(p.name).grad.toFloat32Array().subarray(p.start, p.end);
  maxErr = Math.max(maxErr, rel(p.param.grad.toFloat32Array(), g));
}
// One AdamW step on the shards vs on the full parameters.
const hp = { beta1: 0.9, beta2: 0.95, eps: 1e-5, step: 1 };
noGrad(() => {
  const mk = (ts) => ts.map((t) => zeros(t.shape));
  const fp = [...full.values()];
  adamwStep({ params: fp, grads: fp.map((t) => t.grad), expAvg: mk(fp), expAvgSq: mk(fp), lr: fp.map(() => 1e-2), weightDecay: fp.map(() => 0.1), ...hp });
  const sp = pieces.map((p) => p.param);
  adamwStep({ params: sp, grads: sp.map((t) => t.grad), expAvg: mk(sp), expAvgSq: mk(sp), lr: sp.map(() => 1e-2), weightDecay: sp.map(() => 0.1), ...hp });
});
let paramErr = 0;
for (const p of pieces) paramErr = Math.max(paramErr, rel(p.param.toFloat32Array(), full.get(p.name).toFloat32Array().subarray(p.start, p.end)));
const mem = fsdp.memoryReport();
console.log(JSON.stringify({ rank, W, refLoss: refLoss.item(), loss: total, gradErr: maxErr, paramErr, paramBytes: mem.paramBytes, unsharded: mem.unshardedParamBytes, live: memoryStats().cpuBytes }));
pg.destroy();
