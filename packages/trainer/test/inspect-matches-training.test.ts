/**
 * `olmo data inspect --step N` (from @olmo/data, reading the run's saved config) must show exactly
 * the instances the trainer consumed. `--step s` is the step as the training log numbers it
 * (`[step=s]`, 1-based); the trainer's step s trains on OLMo's batch index s − 1.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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

/** A uint16 token file whose every token lies in [lo, lo + span): instances say which file they came from. */
function rangeTokenFile(file: string, lo: number, span: number, tokens: number): string {
  const a = new Uint16Array(tokens);
  for (let i = 0; i < tokens; i++) a[i] = lo + ((i * 7 + Math.floor(i / 11)) % span);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, Buffer.from(a.buffer));
  return file;
}

/** Trains `steps` steps on `cfg`, recording what each step consumed (indices and token ids). */
async function trainAndRecord(cfg: Record<string, unknown>, steps: number) {
  const t = await Trainer.fromConfig(resolveConfig(cfg), { log: () => {} });
  const consumed: Array<{ indices: number[]; ids: number[] }> = [];
  const batchAt = t.batchAt.bind(t);
  t.batchAt = (step: number) => {
    const b = batchAt(step);
    consumed[step] = { indices: Array.from(b.indices), ids: Array.from(b.ids) };
    return b;
  };
  await t.fit();
  expect(consumed.filter(Boolean)).toHaveLength(steps);
  return consumed;
}

type Inspected = { instances: Array<{ globalIndex: number; inputIds: number[]; label: string | null }> };
async function inspect(configFile: string, step: number, json = true): Promise<string> {
  let out = '';
  const rc = await runDataCli(['inspect', '--config', configFile, '--step', String(step), ...(json ? ['--json'] : [])], { stdout: (s: string) => { out += s; } });
  expect(rc).toBe(0);
  return out;
}

describe('olmo data inspect vs the trainer on data.mix and data.datasets', () => {
  // Two sources with disjoint token ranges: books in [1, 100), speeches in [150, 250).
  const T = 32, perFile = 128 * T; // 128 instances each
  const books = rangeTokenFile(join(dir, 'src/books/tokens.npy'), 1, 99, perFile);
  const speeches = rangeTokenFile(join(dir, 'src/speeches/tokens.npy'), 150, 100, perFile);
  const sourceOf = (ids: number[]) => (ids.every((x) => x >= 1 && x < 100) ? 'books' : ids.every((x) => x >= 150 && x < 250) ? 'speeches' : 'mixed');

  it('data.mix (weights 0.75 / 0.25): the trainer trains on what inspect shows, with the right source labels and proportions', async () => {
    const save = join(dir, 'run-mix');
    const mix = { name: 'test-mix', sources: [{ name: 'books', paths: [books], weight: 0.75 }, { name: 'speeches', paths: [speeches], weight: 0.25 }] };
    const consumed = await trainAndRecord(tinyRunConfig('', save, { max_duration: 4, save_interval: 100, data: { mix } }), 4);
    const cfgFile = join(save, 'config.yaml');
    for (let step = 1; step <= 4; step++) {
      const r = JSON.parse(await inspect(cfgFile, step)) as Inspected;
      expect(r.instances.map((x) => x.globalIndex)).toEqual(consumed[step]!.indices);
      expect(r.instances.flatMap((x) => x.inputIds)).toEqual(consumed[step]!.ids);
      for (const x of r.instances) expect(x.label, `instance ${x.globalIndex}`).toBe(sourceOf(x.inputIds));
    }
    // The realised mix: all 128 books instances and 128·(0.25/0.75) = 42 speeches instances
    // (the largest total that repeats no source: floor(min(128/0.75, 128/0.25)) = 170).
    const table = await inspect(cfgFile, 1, false);
    expect(table).toContain("data mix 'test-mix'");
    const row = (name: string) => table.split('\n').find((l) => l.startsWith(name))!.trim().split(/\s+/);
    expect(row('books')).toEqual(['books', '1', (128 * T).toLocaleString('en-US'), '50.00%', (128 * T).toLocaleString('en-US'), '75.29%', '1.000x']);
    expect(row('speeches')).toEqual(['speeches', '1', (128 * T).toLocaleString('en-US'), '50.00%', (42 * T).toLocaleString('en-US'), '24.71%', `${(42 / 128).toFixed(3)}x`]);
  });

  it('data.datasets: the trainer trains on what inspect shows, labelled by dataset', async () => {
    const save = join(dir, 'run-datasets');
    const consumed = await trainAndRecord(tinyRunConfig('', save, { max_duration: 3, save_interval: 100, data: { datasets: { books: [books], speeches: [speeches] } } }), 3);
    const seen = new Set<string>();
    for (let step = 1; step <= 3; step++) {
      const r = JSON.parse(await inspect(join(save, 'config.yaml'), step)) as Inspected;
      expect(r.instances.map((x) => x.globalIndex)).toEqual(consumed[step]!.indices);
      expect(r.instances.flatMap((x) => x.inputIds)).toEqual(consumed[step]!.ids);
      for (const x of r.instances) {
        // Instances 0..127 are the books file, 128..255 the speeches file (datasets concatenate in order).
        const want = x.globalIndex < 128 ? 'books' : 'speeches';
        expect(sourceOf(x.inputIds)).toBe(want);
        expect(x.label).toBe(want);
        seen.add(want);
      }
    }
    expect(seen).toEqual(new Set(['books', 'speeches']));
  });
});
