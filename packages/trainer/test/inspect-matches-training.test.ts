/**
 * `olmo data inspect --step N` (from @olmo/data, reading the run's saved config) must show exactly
 * the instances the trainer consumed. `--step s` is the step as the training log numbers it
 * (`[step=s]`, 1-based); the trainer's step s trains on OLMo's batch index s − 1.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runDataCli } from '@olmo/data';
import { resolveConfig, Trainer } from '../src/index.js';
import { tinyRunConfig, writeTokenFile } from './resume-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'olmo-inspect-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('olmo data inspect vs the trainer', () => {
  it('prints, for every step, the global indices and token ids the trainer trained on', async () => {
    const data = writeTokenFile(join(dir, 'data'));
    const save = join(dir, 'run');
    const t = await Trainer.fromConfig(resolveConfig(tinyRunConfig(data, save, { max_duration: 6, save_interval: 100 })), { log: () => {} });
    const consumed: Array<{ indices: number[]; ids: number[] }> = [];
    const batchAt = t.batchAt.bind(t);
    t.batchAt = (step: number) => {
      const b = batchAt(step);
      consumed[step] = { indices: Array.from(b.indices), ids: Array.from(b.ids) };
      return b;
    };
    await t.fit();
    expect(consumed.filter(Boolean)).toHaveLength(6);
    for (let step = 1; step <= 6; step++) {
      let out = '';
      const rc = await runDataCli(['inspect', '--config', join(save, 'config.yaml'), '--step', String(step), '--json'], { stdout: (s: string) => { out += s; } });
      expect(rc).toBe(0);
      const r = JSON.parse(out) as { step: number; batchIndex: number; instances: Array<{ globalIndex: number; inputIds: number[] }> };
      expect([r.step, r.batchIndex]).toEqual([step, step - 1]);
      expect(r.instances.map((x) => x.globalIndex)).toEqual(consumed[step]!.indices);
      expect(r.instances.flatMap((x) => x.inputIds)).toEqual(consumed[step]!.ids);
    }
  });
});
