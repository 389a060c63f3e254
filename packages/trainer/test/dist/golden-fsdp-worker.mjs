// Run under mpirun by fsdp-train.test.ts: a golden training trace (../shared/golden/*/train.json)
// through the Trainer with FSDP (W ranks; each rank gets its [r::W] slice of every global batch).
// argv: fixture dir, then the OLMo `optimizer` config section (JSON) the test derived from the
// fixture's train.json with fixtureOptimizerConfig (group options such as decay_norm_and_bias).
// Rank 0 prints one JSON line: per-step loss / grad norm / lr and the final-parameter error.
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { OLMo } from '@olmo/model';
import { resolveConfig, Trainer } from '../../dist/index.js';
import { readSafetensorsF32 } from '../../dist/safetensors.js';

const dir = process.argv[2];
const optimizer = JSON.parse(process.argv[3]);
const g = JSON.parse(readFileSync(join(dir, 'train.json'), 'utf8'));
const B = g.batches[0].length, T = g.batches[0][0].length;
const model = await OLMo.fromPretrained(dir, { requiresGrad: true });
const save = mkdtempSync(join(tmpdir(), 'olmo-golden-fsdp-'));
const lr0 = Math.max(...g.lr);
const warm = g.lr.findIndex((x) => x === lr0);
const cfg = resolveConfig({
  seed: 0, max_duration: g.lr.length, global_train_batch_size: B, device_train_microbatch_size: 1,
  model: { max_sequence_length: T }, save_folder: save, save_interval: null, max_grad_norm: g.optimizer.max_grad_norm,
  optimizer: { ...optimizer, learning_rate: lr0 },
  scheduler: { name: 'linear_with_warmup', t_warmup: warm + 1, alpha_f: 1, warmup_min_lr: 0 },
  data: { paths: ['golden'] }, fsdp: { wrapping_strategy: 'by_block' },
});
const data = {
  numInstances: g.batches.length * B, seqLen: T, orderHash: 'golden',
  batchIndices: (k) => Uint32Array.from({ length: B }, (_, i) => k * B + i),
  get: (i) => ({ inputIds: Int32Array.from(g.batches[Math.floor(i / B)][i % B]), index: i }),
};
const seen = [];
const t = new Trainer({ config: cfg, model, data, callbacks: [{ name: 'rec', onStepEnd: (_t, m) => { seen.push({ ...m }); } }], log: () => {} });
await t.fit();
const ref = readSafetensorsF32(join(dir, 'train_final.safetensors')).tensors;
let worst = 0;
for (const s of model.specs) {
  const full = t.dist.fsdp.fullParam(s.name); // collective
  const a = full.toFloat32Array(), b = ref.get(s.name).data;
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) { num += (a[i] - b[i]) ** 2; den += b[i] ** 2; }
  worst = Math.max(worst, Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30));
  full.dispose();
}
if (t.dist.rank === 0) {
  console.log(JSON.stringify({ world: t.dist.worldSize, loss: seen.map((m) => m['train/CrossEntropyLoss']), gradNorm: seen.map((m) => m['optim/total_grad_norm']), lr: seen.map((m) => m['optim/learning_rate_group0']), finalParamErr: worst }));
  rmSync(save, { recursive: true, force: true });
}
t.dist.barrier();
t.dist.pg.destroy();
