/**
 * Golden training traces (../shared/golden/* and OLMO_GOLDEN_DIRS): per-step loss, pre-clip grad
 * norm and final parameters within 1e-4 relative — once through a hand-written loop of the public
 * pieces (AdamW, clipGradNorm, microbatchLoss) and once through the Trainer (with gradient
 * accumulation over 1-instance microbatches and the scheduler reproducing the lr trace).
 * Both use the param-group options the fixture's train.json records (`decay_norm_and_bias`,
 * `decay_embeddings`: olmo2-tiny decays its RMSNorm weights, as OLMo-2 was trained).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { OLMo } from '@olmo/model';
import { tidy } from '@olmo/tensor-cuda';
import { AdamW, clipGradNorm, microbatchLoss, namedParameters, resolveConfig, Trainer, type Callback, type Metrics } from '../src/index.js';
import { readSafetensorsF32 } from '../src/safetensors.js';
import { fixtureOptimizerConfig, goldenTrainData, goldenTrainDirs, readTrain, relErr, sharedDir } from './golden-helpers.js';

const dirs = goldenTrainDirs();
if (!dirs.length) console.warn(`[golden-train] skipped: no fixtures under ${sharedDir}/golden and OLMO_GOLDEN_DIRS is empty`);

function finalParams(model: OLMo, dir: string) {
  const ref = readSafetensorsF32(join(dir, 'train_final.safetensors')).tensors;
  let worst = 0;
  for (const [name, p] of namedParameters(model).map((x) => [x.name, x.param] as const)) {
    const r = ref.get(name);
    expect(r, `train_final has ${name}`).toBeDefined();
    worst = Math.max(worst, relErr(p.toFloat32Array(), r!.data));
  }
  return worst;
}

describe.skipIf(!dirs.length)('golden training traces', () => {
  for (const dir of dirs) {
    const g = readTrain(dir);
    const B = g.batches[0]!.length, T = g.batches[0]![0]!.length;

    it(`${dir.split('/').pop()}: hand-written loop reproduces loss, grad norm, final params`, async () => {
      const model = await OLMo.fromPretrained(dir, { requiresGrad: true });
      const params = namedParameters(model);
      const o = fixtureOptimizerConfig(g.optimizer);
      const opt = new AdamW(params, {
        lr: g.lr[0]!, betas: o.betas, eps: o.eps, weightDecay: o.weight_decay,
        decayNormAndBias: o.decay_norm_and_bias, decayEmbeddings: o.decay_embeddings,
      });
      expect(opt.groups[1]?.names ?? []).toEqual([...g.optimizer.no_decay].sort());
      const losses: number[] = [], norms: number[] = [];
      for (let s = 0; s < g.lr.length; s++) {
        model.zeroGrad();
        const ids = Int32Array.from(g.batches[s]!.flat());
        tidy(() => {
          const out = microbatchLoss(model, ids, B, T, { normalizer: B * (T - 1) });
          losses.push(out.ceSum / (B * (T - 1)));
          out.ceLoss.backward();
        });
        norms.push(clipGradNorm(params.map((p) => p.param), g.optimizer.max_grad_norm).totalNorm);
        opt.setLr(g.lr[s]!);
        opt.step();
      }
      expect(relErr(losses, g.loss)).toBeLessThan(1e-4);
      expect(relErr(norms, g.grad_norm)).toBeLessThan(1e-4);
      expect(finalParams(model, dir)).toBeLessThan(1e-4);
      opt.dispose(); model.dispose();
    });

    it(`${dir.split('/').pop()}: Trainer (microbatch 1, accumulation, scheduler) reproduces the trace`, async () => {
      const model = await OLMo.fromPretrained(dir, { requiresGrad: true });
      const save = mkdtempSync(join(tmpdir(), 'olmo-golden-'));
      const lr0 = Math.max(...g.lr);
      const warm = g.lr.findIndex((x) => x === lr0); // lr ramps linearly from 0 over `warm` steps
      const cfg = resolveConfig({
        seed: 0, max_duration: g.lr.length, global_train_batch_size: B, device_train_microbatch_size: 1,
        model: { max_sequence_length: T }, save_folder: save, save_interval: null, max_grad_norm: g.optimizer.max_grad_norm,
        optimizer: { ...fixtureOptimizerConfig(g.optimizer), learning_rate: lr0 },
        scheduler: { name: 'linear_with_warmup', t_warmup: warm + 1, alpha_f: 1, warmup_min_lr: 0 },
        data: { paths: ['golden'] },
      });
      const data = goldenTrainData(g, B, T);
      const seen: Metrics[] = [];
      const rec: Callback = { name: 'rec', onStepEnd: (_t, m) => { seen.push({ ...m }); } };
      const t = new Trainer({ config: cfg, model, data, callbacks: [rec], log: () => {} });
      expect(t.optimizer.groups[1]?.names ?? []).toEqual([...g.optimizer.no_decay].sort());
      await t.fit();
      expect(relErr(seen.map((m) => m['optim/learning_rate_group0']!), g.lr)).toBeLessThan(1e-12);
      expect(relErr(seen.map((m) => m['train/CrossEntropyLoss']!), g.loss)).toBeLessThan(1e-4);
      expect(relErr(seen.map((m) => m['optim/total_grad_norm']!), g.grad_norm)).toBeLessThan(1e-4);
      expect(finalParams(model, dir)).toBeLessThan(1e-4);
      t.optimizer.dispose(); model.dispose();
      rmSync(save, { recursive: true, force: true });
    });
  }
});
