/**
 * fused_loss: true (OLMo's key) trains through OLMo.fusedLoss (linearCrossEntropy: the LM head
 * and cross-entropy fused, logits never materialised): the same loss trace, grad norms and final
 * parameters as the unfused path on the golden fixtures, with z-loss on and with activation
 * checkpointing; and the golden float64 trace itself within the README's 1e-4.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { OLMo } from '@olmo/model';
import { resolveConfig, Trainer, type Callback, type Metrics } from '../src/index.js';
import { fixtureOptimizerConfig, goldenTrainData, goldenTrainDirs, readTrain, relErr, sharedDir } from './golden-helpers.js';

const dirs = goldenTrainDirs();
if (!dirs.length) console.warn(`[fused-loss] skipped: no fixtures under ${sharedDir}/golden`);

async function run(dir: string, extra: Record<string, unknown>) {
  const g = readTrain(dir);
  const B = g.batches[0]!.length, T = g.batches[0]![0]!.length;
  const model = await OLMo.fromPretrained(dir, { requiresGrad: true });
  const save = mkdtempSync(join(tmpdir(), 'olmo-fused-'));
  const lr0 = Math.max(...g.lr), warm = g.lr.findIndex((x) => x === lr0);
  const cfg = resolveConfig({
    seed: 0, max_duration: g.lr.length, global_train_batch_size: B, device_train_microbatch_size: 1, ...extra,
    model: { max_sequence_length: T }, save_folder: save, save_interval: null, max_grad_norm: g.optimizer.max_grad_norm,
    optimizer: { ...fixtureOptimizerConfig(g.optimizer), learning_rate: lr0 },
    scheduler: { name: 'linear_with_warmup', t_warmup: warm + 1, alpha_f: 1, warmup_min_lr: 0 },
    data: { paths: ['golden'] },
  });
  const data = goldenTrainData(g, B, T);
  const seen: Metrics[] = [];
  const rec: Callback = { name: 'rec', onStepEnd: (_t, m) => { seen.push({ ...m }); } };
  const t = new Trainer({ config: cfg, model, data, callbacks: [rec], log: () => {} });
  await t.fit();
  const final = model.namedParameters().map(([, p]) => p.toFloat32Array());
  t.optimizer.dispose(); model.dispose();
  rmSync(save, { recursive: true, force: true });
  return { loss: seen.map((m) => m['train/CrossEntropyLoss']!), z: seen.map((m) => m['train/ZLoss'] ?? 0), norm: seen.map((m) => m['optim/total_grad_norm']!), final, g };
}

describe.skipIf(!dirs.length)('fused_loss', () => {
  for (const dir of dirs) {
    it(`${dir.split('/').pop()}: same trace as the unfused head (z-loss on; and with whole_layer checkpointing); golden trace within 1e-4`, async () => {
      const z = { softmax_auxiliary_loss: true, auxiliary_loss_multiplier: 1e-3 };
      const a = await run(dir, z), b = await run(dir, { ...z, fused_loss: true }), c = await run(dir, { ...z, fused_loss: true, activation_checkpointing: 'whole_layer' });
      for (const x of [b, c]) {
        expect(relErr(x.loss, a.loss)).toBeLessThan(1e-6);
        expect(relErr(x.z, a.z)).toBeLessThan(1e-6);
        expect(relErr(x.norm, a.norm)).toBeLessThan(1e-5);
        expect(Math.max(...x.final.map((p, i) => relErr(p, a.final[i]!)))).toBeLessThan(1e-5);
      }
      expect(Math.min(...a.z)).toBeGreaterThan(0);
      const plain = await run(dir, { fused_loss: true });
      expect(relErr(plain.loss, plain.g.loss)).toBeLessThan(1e-4);
      expect(relErr(plain.norm, plain.g.grad_norm)).toBeLessThan(1e-4);
    }, 120_000);
  }
});
