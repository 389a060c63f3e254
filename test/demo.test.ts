/**
 * The main job end to end (`olmo demo`, what scripts/demo.sh runs after setup), shrunk to a few
 * steps on a slice of the corpus: corpus → tokenizer → prepare → train → eval → generate → report.
 * Uses the built CLI (packages/trainer/dist/bin.js; scripts/setup.sh builds it).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { findChromium, renderInChromium } from './chromium.js';

const bin = resolve(import.meta.dirname, '../packages/trainer/dist/bin.js');
const built = existsSync(bin);
if (!built) console.warn(`[demo] skipped: ${bin} is not built (run bash scripts/setup.sh)`);
const out = mkdtempSync(join(tmpdir(), 'olmo-demo-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe.skipIf(!built)('olmo demo (shrunk)', () => {
  it('runs every stage and writes the report', () => {
    const r = spawnSync(process.execPath, [bin, 'demo', '--out', out, '--steps', '4', '--vocab', '600', '--max-chars', '200000', '--eval_interval=2', '--save_interval=2'], { encoding: 'utf8', timeout: 600_000 });
    // exit 0 when the model beats the unigram baseline, 4 when not (4 steps usually do not: docs/cli.md)
    const done = /done in .*: held-out CE ([\d.]+) vs unigram ([\d.]+) nats\/token/.exec(r.stdout);
    expect(done, r.stderr + r.stdout.slice(-2000)).not.toBeNull();
    expect(r.status, r.stderr + r.stdout.slice(-2000)).toBe(Number(done![1]) < Number(done![2]) ? 0 : 4);
    for (const s of ['1/6 corpus', '2/6 tokenizer', '3/6 prepare', 'unigram entropy', '4/6 train', '5/6 evaluate', '6/6 generate', 'report:']) expect(r.stdout).toContain(s);
    const metrics = readFileSync(join(out, 'run', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    expect(metrics.map((m) => m.step)).toEqual([1, 2, 3, 4]);
    expect(metrics[1]!['eval/heldout/CrossEntropyLoss']).toBeGreaterThan(0);
    for (const f of ['report.md', 'report.html', 'loss.svg', 'tokenizer.json', 'model/config.json', 'run/latest/trainer.msgpack']) expect(existsSync(join(out, f)), f).toBe(true);
    // the model folders carry the tokenizer: `olmo generate --model DIR` needs nothing else
    for (const f of ['model/tokenizer.json', 'run/latest/model/tokenizer.json']) expect(readFileSync(join(out, f), 'utf8'), f).toBe(readFileSync(join(out, 'tokenizer.json'), 'utf8'));
    const g = spawnSync(process.execPath, [bin, 'generate', '--model', join(out, 'model'), '--prompt', 'Call me', '--max-new-tokens', '5'], { encoding: 'utf8', timeout: 120_000 });
    expect(g.status, g.stderr).toBe(0);
    expect(g.stdout.length).toBeGreaterThan(1);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/unigram entropy of the training tokens: \*\*\d/);
    expect(readFileSync(join(out, 'loss.svg'), 'utf8')).toMatch(/^<svg/);
  });

  const chromium = findChromium();
  it.skipIf(!chromium)('its report.html renders in headless Chromium: chart axes titled with units, tables with header rows, no overlapping text', () => {
    const { probe, screenshot } = renderInChromium(chromium!, readFileSync(join(out, 'report.html'), 'utf8'), 'demo-run-report', { width: 1040, height: 1800 });
    console.log(`[demo] report screenshot: ${screenshot}`);
    const texts = probe.texts.map((t) => t.text);
    for (const title of ['training step', 'training tokens seen', 'cross-entropy (nats/token)']) expect(texts).toContain(title);
    expect(probe.overlaps).toEqual([]);
    const log = probe.tables.find((t) => t.id === 'log')!;
    expect(log.headers[0]).toBe('step');
    expect(log.cellsPerRow).toEqual(Array(4).fill(log.headers.length)); // 4 steps, every column filled in
    expect(probe.tables.find((t) => t.id === 'heldout')!.rows).toBe(3);
  });
});
