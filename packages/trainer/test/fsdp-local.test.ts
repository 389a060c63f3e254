/**
 * The FSDP trainer path in one process (a config `fsdp:` section at W = 1; no mpirun needed):
 * same losses as the unsharded trainer for every wrapping strategy, no native-buffer leak per
 * step, and sharded checkpoints (written at W = 1) resume in the unsharded trainer and unshard.
 */
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { memoryStats, tensor } from '@olmo/tensor-cuda';
import { OLMo } from '@olmo/model';
import { buildModel, EvaluatorCallback, resolveConfig, Trainer } from '../src/index.js';
import { lmEvaluatorsFromConfig } from '../src/evaluate.js';
import { unshardCheckpoint } from '../src/sharded-checkpoint.js';
import { readMetrics, tinyRunConfig, writeTokenFile } from './resume-helpers.js';

const root = mkdtempSync(join(tmpdir(), 'olmo-fsdp-local-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const data = writeTokenFile(join(root, 'data'));

async function losses(extra: Record<string, unknown>, save: string): Promise<number[]> {
  const t = await Trainer.fromConfig(resolveConfig(tinyRunConfig(data, save, { max_duration: 6, save_interval: null, ...extra })), { log: () => {} });
  const r = await t.fit();
  t.optimizer.dispose();
  return r.history.map((m) => m['train/CrossEntropyLoss']!);
}

describe('FSDP trainer path at W = 1 (config fsdp: section)', () => {
  it('by_block / by_block_group / whole_model give the unsharded loss trace', async () => {
    const ref = await losses({}, join(root, 'plain'));
    for (const fsdp of [{ wrapping_strategy: 'by_block' }, { wrapping_strategy: 'by_block_group', block_group_size: 2 }, { wrapping_strategy: null }]) {
      const tr = await losses({ fsdp }, join(root, `f-${String(fsdp.wrapping_strategy)}`));
      const worst = Math.max(...tr.map((x, i) => Math.abs(x - ref[i]!) / ref[i]!));
      expect(worst, JSON.stringify(fsdp)).toBeLessThan(1e-5);
    }
  }, 60_000);

  it('in-loop evaluators run through the units and match the unsharded run', async () => {
    const held = writeTokenFile(join(root, 'held'), 32 * 8);
    const evals: Record<string, number[]> = {};
    for (const fsdp of [null, { wrapping_strategy: 'by_block' }]) {
      const save = join(root, `ev-${fsdp ? 'fsdp' : 'plain'}`);
      const cfg = resolveConfig(tinyRunConfig(data, save, { max_duration: 4, eval_interval: 2, save_interval: null, fsdp, evaluators: [{ label: 'heldout', type: 'lm', data: { paths: [held] } }] }));
      const model = await buildModel(cfg);
      const t = await Trainer.fromConfig(cfg, { model, extraCallbacks: [new EvaluatorCallback(cfg.eval_interval, lmEvaluatorsFromConfig(cfg, model)!)], log: () => {} });
      await t.fit();
      evals[String(!!fsdp)] = readMetrics(save).filter((m) => m['eval/heldout/CrossEntropyLoss'] !== undefined).map((m) => m['eval/heldout/CrossEntropyLoss']!);
      t.optimizer.dispose();
    }
    expect(evals.true).toHaveLength(2);
    evals.true!.forEach((v, i) => expect(Math.abs(v - evals.false![i]!) / evals.false![i]!).toBeLessThan(1e-5));
  }, 60_000);

  it('FSDP steps do not leak native buffers; memory.json is written', async () => {
    const save = join(root, 'leak');
    const t = await Trainer.fromConfig(resolveConfig(tinyRunConfig(data, save, { save_interval: null, fsdp: { wrapping_strategy: 'by_block' } })), { log: () => {} });
    expect(t.dist).not.toBeNull();
    t.trainStep(); t.trainStep();
    const before = memoryStats().cpuBuffers;
    for (let i = 0; i < 4; i++) t.trainStep();
    expect(memoryStats().cpuBuffers).toBe(before);
    t.optimizer.dispose();
    const t2 = await Trainer.fromConfig(resolveConfig(tinyRunConfig(data, join(root, 'mem'), { max_duration: 1, save_interval: null, fsdp: {} })), { log: () => {} });
    await t2.fit();
    expect(existsSync(join(root, 'mem', 'memory.json'))).toBe(true);
    t2.optimizer.dispose();
  }, 60_000);

  it('a sharded checkpoint resumes in the unsharded trainer with the same next losses, and unshards', async () => {
    const save = join(root, 'ck');
    const base = { max_duration: 6, save_interval: 3, fsdp: { wrapping_strategy: 'by_block' } };
    const t = await Trainer.fromConfig(resolveConfig(tinyRunConfig(data, save, base)), { log: () => {} });
    await t.fit();
    t.optimizer.dispose();
    expect(existsSync(join(save, 'step3', 'model', 'rank0.safetensors'))).toBe(true);
    const ref = readMetrics(save).map((m) => m['train/CrossEntropyLoss']!);
    const save2 = join(root, 'ck-resume');
    const u = await Trainer.fromConfig(resolveConfig(tinyRunConfig(data, save2, { max_duration: 6, save_interval: null, load_path: join(save, 'step3') })), { log: () => {} });
    expect(u.dist).toBeNull();
    expect(u.step).toBe(3);
    await u.fit();
    const got = readMetrics(save2).map((m) => m['train/CrossEntropyLoss']!);
    expect(got).toHaveLength(3);
    for (let i = 0; i < 3; i++) expect(Math.abs(got[i]! - ref[3 + i]!) / ref[3 + i]!).toBeLessThan(1e-5);
    // unshard step6 and compare with the unsharded trainer restored from it
    const hf = join(root, 'hf');
    await unshardCheckpoint(join(save, 'step6'), hf);
    const m = await OLMo.fromPretrained(hf);
    const v = await Trainer.fromConfig(resolveConfig(tinyRunConfig(data, join(root, 'v'), { max_duration: 6, save_interval: null, load_path: join(save, 'step6') })), { log: () => {} });
    const ids = tensor(Int32Array.from({ length: 32 }, (_, i) => (i * 13) % 256), { shape: [2, 16], dtype: 'int32' });
    const a = m.forward(ids).logits.toFloat32Array(), b = v.model.forward(ids).logits.toFloat32Array();
    expect(Array.from(a)).toEqual(Array.from(b));
    ids.dispose(); m.dispose(); u.optimizer.dispose(); v.optimizer.dispose();
  }, 60_000);
});
