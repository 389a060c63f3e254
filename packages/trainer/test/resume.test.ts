/**
 * Exact resume in-process: 20 steps straight vs 10 steps + checkpoint + a fresh Trainer resuming
 * → bit-identical loss / grad-norm / lr trace in metrics.jsonl; reproducibility-breaking config
 * changes are refused unless forced; keep-N pruning and the `latest` pointer.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { listCheckpoints, readTrainerState, resolveConfig, Trainer } from '../src/index.js';
import { readMetrics, tinyRunConfig, writeTokenFile } from './resume-helpers.js';

const root = mkdtempSync(join(tmpdir(), 'olmo-resume-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const quiet = { log: () => {} };
const keys = ['train/CrossEntropyLoss', 'optim/total_grad_norm', 'optim/learning_rate_group0', 'train/ZLoss'];

describe('exact resume', () => {
  const data = writeTokenFile(join(root, 'data'));

  it('20 straight == 10 + resume 10 (bit-identical metrics)', async () => {
    const a = join(root, 'a'), b = join(root, 'b');
    const ta = await Trainer.fromConfig(resolveConfig(tinyRunConfig(data, a)), quiet);
    await ta.fit();
    const tb1 = await Trainer.fromConfig(resolveConfig(tinyRunConfig(data, b, { stop_at: 10 })), quiet);
    await tb1.fit();
    expect(tb1.step).toBe(10);
    const tb2 = await Trainer.fromConfig(resolveConfig(tinyRunConfig(data, b, { try_load_latest_save: true })), quiet);
    expect(tb2.step).toBe(10);
    await tb2.fit();
    const ma = readMetrics(a), mb = readMetrics(b);
    expect(mb.map((m) => m.step)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    for (const k of keys) expect(mb.map((m) => m[k])).toEqual(ma.map((m) => m[k]));
    expect(ma[19]!['train/CrossEntropyLoss']).toBeLessThan(ma[0]!['train/CrossEntropyLoss']! - 0.5);
    // checkpoint layout: keep 3, latest → step20, trainer state contents
    expect(listCheckpoints(b).map((c) => c.step)).toEqual([10, 15, 20]);
    expect(readlinkSync(join(b, 'latest'))).toBe('step20-unsharded');
    const s = readTrainerState(join(b, 'latest'));
    expect(s.step).toBe(20);
    expect(s.tokens).toBe(20 * 4 * 32);
    expect(s.format.kind).toBe('unsharded');
    expect(s.data_order_hash).toBe(ta.data.orderHash);
    expect(typeof s.config_yaml).toBe('string');
    expect(existsSync(join(b, 'step20-unsharded', 'model', 'model.safetensors'))).toBe(true);
    expect(existsSync(join(b, 'step20-unsharded', 'model', 'config.json'))).toBe(true);
  });

  it('refuses reproducibility-breaking changes unless forced', async () => {
    const b = join(root, 'b');
    for (const [k, v] of [['global_train_batch_size', 8], ['seed', 12]] as const) {
      await expect(Trainer.fromConfig(resolveConfig(tinyRunConfig(data, b, { try_load_latest_save: true, max_duration: 30, [k]: v })), quiet))
        .rejects.toMatchObject({ code: 'CONFIG_INVALID', keyPath: k });
    }
    const t = await Trainer.fromConfig(resolveConfig(tinyRunConfig(data, b, { try_load_latest_save: true, seed: 12, force_resume: true })), quiet);
    expect(t.step).toBe(20);
  });
});
