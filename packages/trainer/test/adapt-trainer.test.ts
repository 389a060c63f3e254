/**
 * The fine-tuning loop: gradient accumulation does not change the result (SFT and DPO), resuming
 * from a checkpoint continues exactly (including DPO's cached reference log-probs), in-loop
 * evaluators run, DPO training raises rewards/accuracies on its pairs.
 */
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Generator } from '@olmo/tensor-cuda';
import { OLMo, OLMoConfig } from '@olmo/model';
import { IGNORE_INDEX, type DpoPair, type SftExample } from '@olmo/data';
import { AdaptTrainer, type AdaptOptions } from '../src/index.js';

const cfg = () => OLMoConfig.from({
  architecture: 'olmo2', vocab_size: 60, embedding_size: 64, hidden_size: 32, intermediate_size: 64,
  num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, eos_token_id: 59, pad_token_id: 0,
});

function examples(seed: number, n: number): SftExample[] {
  const g = new Generator(seed);
  return Array.from({ length: n }, () => {
    const len = 4 + Math.floor(g.uniform() * 10);
    const inputIds = Array.from({ length: len }, () => 1 + Math.floor(g.uniform() * 58));
    const labels = inputIds.map((id, i) => (i < len / 2 ? IGNORE_INDEX : id));
    return { inputIds, labels };
  });
}
const pairs = (seed: number, n: number): DpoPair[] => {
  const e = examples(seed, 2 * n);
  return Array.from({ length: n }, (_, i) => ({ chosen: e[2 * i]!, rejected: e[2 * i + 1]! }));
};

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
const tmp = () => { const d = mkdtempSync(join(tmpdir(), 'olmo-adapt-')); dirs.push(d); return d; };

function run(o: Partial<AdaptOptions> & Pick<AdaptOptions, 'mode'>, steps: number, restoreFrom?: string) {
  const model = OLMo.init(cfg(), { seed: 2 });
  const t = new AdaptTrainer({ model, padId: 0, seqLen: 32, batchSize: 4, maxSteps: steps, lr: 3e-3, warmupSteps: 1, seed: 5, log: () => {}, ...o });
  if (restoreFrom) t.restore(restoreFrom);
  return { t, model };
}

const close = (a: number, b: number, tol: number) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

describe('AdaptTrainer', () => {
  const sft = examples(1, 10);
  const dpo = pairs(3, 6);

  it('SFT: gradient accumulation (microbatch 1) gives the losses of one microbatch (4), packed and padded', async () => {
    for (const packing of [true, false]) {
      const a = await run({ mode: 'sft', sft, packing, microBatchSize: 4 }, 4).t.fit();
      const b = await run({ mode: 'sft', sft, packing, microBatchSize: 1 }, 4).t.fit();
      a.history.forEach((m, i) => expect(close(b.history[i]!['train/CrossEntropyLoss']!, m['train/CrossEntropyLoss']!, 1e-5), `packing=${packing} step ${i + 1}`).toBe(true));
      expect(a.history[3]!['train/CrossEntropyLoss']).toBeLessThan(a.history[0]!['train/CrossEntropyLoss']!);
    }
  });

  it('SFT: exact resume from a checkpoint; evaluators run', async () => {
    const save = tmp();
    let evals = 0;
    const evaluators = [{ label: 'probe', interval: 2, run: () => ({ calls: ++evals }) }];
    const full = await run({ mode: 'sft', sft, saveFolder: save, saveInterval: 2, evaluators }, 4).t.fit();
    expect(evals).toBe(2);
    expect(full.history[1]!['eval/probe/calls']).toBe(1);
    expect(existsSync(join(save, 'step2', 'model'))).toBe(true);
    const resumed = run({ mode: 'sft', sft }, 4, join(save, 'step2'));
    expect(resumed.t.step).toBe(2);
    const rest = await resumed.t.fit();
    expect(rest.history.length).toBe(2);
    rest.history.forEach((m, i) => expect(m['train/CrossEntropyLoss']).toBe(full.history[i + 2]!['train/CrossEntropyLoss']));
  });

  it('DPO: accumulation invariance, resume with the cached reference, accuracies rise', async () => {
    const save = tmp();
    const a = await run({ mode: 'dpo', dpo, microBatchSize: 4, beta: 0.5, lr: 1e-2, saveFolder: save, saveInterval: 3 }, 6).t.fit();
    const b = await run({ mode: 'dpo', dpo, microBatchSize: 1, beta: 0.5, lr: 1e-2 }, 6).t.fit();
    a.history.forEach((m, i) => expect(close(b.history[i]!['train/DPOLoss']!, m['train/DPOLoss']!, 1e-5), `step ${i + 1}`).toBe(true));
    expect(a.history[0]!['train/DPOLoss']).toBeCloseTo(Math.log(2), 5); // policy = reference at step 1
    expect(a.history[0]!['rewards/accuracies']).toBe(0);
    expect(a.history[5]!['rewards/accuracies']).toBeGreaterThan(0.5);
    const resumed = run({ mode: 'dpo', dpo, microBatchSize: 4, beta: 0.5, lr: 1e-2 }, 6, join(save, 'step3'));
    expect(resumed.t.reference).not.toBeNull();
    const rest = await resumed.t.fit();
    rest.history.forEach((m, i) => expect(m['train/DPOLoss']).toBe(a.history[i + 3]!['train/DPOLoss']));
  });

  it('bad input -> typed errors', () => {
    const model = OLMo.init(cfg(), { seed: 2 });
    const base = { model, padId: 0, seqLen: 32, batchSize: 2, maxSteps: 1, lr: 1e-3 };
    expect(() => new AdaptTrainer({ ...base, mode: 'sft', sft: [] })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => new AdaptTrainer({ ...base, mode: 'ppo' as never, sft })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => new AdaptTrainer({ ...base, mode: 'sft', sft, batchSize: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    const t = new AdaptTrainer({ ...base, mode: 'sft', sft });
    expect(() => t.restore(tmp())).toThrow(expect.objectContaining({ code: 'CHECKPOINT_CORRUPT' }));
  });
});
