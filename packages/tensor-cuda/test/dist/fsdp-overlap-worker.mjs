// Run under mpirun by fsdp-overlap.test.ts. The same three forward + backward passes (different
// batches, gradients accumulated) run through FSDP with overlap (prefetched all-gathers, in-flight
// reduce-scatters) and without it; losses and shard gradients must be bit-identical, the prefetches
// must have been used, and at most two units may hold gathered parameters at once.
import { ProcessGroup, FSDP, fsdpUnits, Generator, tensor, tidy, add, linear, embedding, crossEntropy, rmsNorm } from '../../dist/index.js';

const pg = ProcessGroup.init();
const { rank, worldSize: W } = pg;
const V = 37, C = 12, T = 5, B = 6, L = 4;
const specs = [{ name: 'model.embed_tokens.weight', shape: [V, C] }];
for (let l = 0; l < L; l++) specs.push({ name: `model.layers.${l}.mlp.weight`, shape: [C, C] }, { name: `model.layers.${l}.norm.weight`, shape: [C] });
const gen = new Generator(7);
const full = new Map(specs.map((s) => {
  const n = s.shape.reduce((a, b) => a * b, 1);
  return [s.name, tensor(new Float32Array(n).map(() => (s.name.includes('norm') ? 1 + 0.1 * gen.normal() : 0.3 * gen.normal())), { shape: s.shape })];
}));

function pass(fsdp, step) {
  const per = B / W;
  const rows = Array.from({ length: per }, (_, b) => Array.from({ length: T + 1 }, (_, t) => ((rank * per + b) * 7 + t * 3 + step * 5) % V));
  const P = (n) => fsdp.param(n);
  const loss = tidy(() => {
    const inp = tensor(rows.map((r) => r.slice(0, T)), { dtype: 'int32' });
    const tgt = tensor(rows.map((r) => r.slice(1)).flat(), { dtype: 'int32' });
    let [x] = fsdp.run(['root'], [inp], ([i]) => [embedding(i, P('model.embed_tokens.weight'))]);
    for (let l = 0; l < L; l++) {
      [x] = fsdp.run([`block.${l}`], [x], ([h]) => [add(h, linear(rmsNorm(h, P(`model.layers.${l}.norm.weight`), 1e-6), P(`model.layers.${l}.mlp.weight`)))]);
    }
    const [lo] = fsdp.run(['root'], [x, tgt], ([h, targets]) => [crossEntropy(linear(h.reshape([per * T, C]), P('model.embed_tokens.weight')), targets, { reduction: 'sum' }).loss]);
    return lo.keep();
  });
  loss.backward();
  fsdp.sync();
  const v = loss.item();
  loss.dispose();
  return v;
}

function run(overlap) {
  const fsdp = new FSDP(pg, fsdpUnits(specs, 'by_block'), { gradReduce: 'avg', overlap });
  fsdp.loadFull((n) => full.get(n));
  const losses = [0, 1, 2].map((s) => pass(fsdp, s));
  const grads = fsdp.pieces().map((p) => Array.from(p.param.grad.toFloat32Array()));
  const stats = { ...fsdp.overlapStats };
  fsdp.dispose();
  return { losses, grads, stats };
}

const on = run(true);
const off = run(false);
const same = JSON.stringify(on.losses) === JSON.stringify(off.losses) && JSON.stringify(on.grads) === JSON.stringify(off.grads);
console.log(JSON.stringify({ rank, W, same, lossesOn: on.losses, lossesOff: off.losses, statsOn: on.stats, statsOff: off.stats }));
pg.destroy();
