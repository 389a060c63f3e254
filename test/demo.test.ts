/**
 * The main job end to end (`olmo demo`, what scripts/demo.sh runs after setup), shrunk to a slice of
 * the corpus and 300 steps: corpus → curation (tag → dedupe → mix) → tokenizer → prepare → train →
 * eval → generate → report, whose curation section links the curation stage's own report. It
 * guards the README's headline: the trained model's held-out cross-entropy is clearly below the
 * unigram baseline. Uses the built CLI (packages/trainer/dist/bin.js), rebuilt first when a source
 * is newer than its dist (test/support/fresh-dist.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { findChromium, renderInChromium } from './chromium.js';
import { ensureFreshDist } from './support/fresh-dist.js';

const bin = resolve(import.meta.dirname, '../packages/trainer/dist/bin.js');
const out = mkdtempSync(join(tmpdir(), 'olmo-demo-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/**
 * Required margin below the held-out unigram CE, in nats/token. The unigram model is the best
 * predictor that ignores context, so beating it at all needs working attention, positions, labels
 * shifted by one and an optimizer that updates; 0.5 nats (a 40% lower perplexity) cannot come from
 * noise on 5.6k held-out tokens. Measured: 300-400 steps on this slice give 0.9-1.06 nats (the
 * full 1,490-step demo in the README: 1.71), so 0.5 leaves room for platform differences.
 */
const MARGIN = 0.5;

describe('olmo demo (shrunk)', () => {
  beforeAll(() => { ensureFreshDist(['trainer']); }, 300_000);

  it('runs every stage, writes the report, and the held-out CE is clearly below the unigram baseline', () => {
    const r = spawnSync(process.execPath, [bin, 'demo', '--out', out, '--steps', '300', '--vocab', '600', '--max-chars', '200000', '--eval_interval=100', '--save_interval=150'], { encoding: 'utf8', timeout: 600_000 });
    expect(r.status, r.stderr + r.stdout.slice(-2000)).toBe(0);
    for (const s of ['1/6 corpus', '1b  curation', '2/6 tokenizer', '3/6 prepare', 'unigram entropy', '4/6 train', '5/6 evaluate', '6/6 generate', 'report:']) expect(r.stdout).toContain(s);
    const metrics = readFileSync(join(out, 'run', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    expect(metrics.map((m) => m.step)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(metrics.filter((m) => m['eval/heldout/CrossEntropyLoss'] !== undefined).map((m) => m.step)).toEqual([100, 200, 300]);
    for (const f of ['report.md', 'report.html', 'loss.svg', 'tokenizer.json', 'model/config.json', 'run/latest/trainer.msgpack']) expect(existsSync(join(out, f)), f).toBe(true);
    // the model folders carry the tokenizer: `olmo generate --model DIR` needs nothing else
    for (const f of ['model/tokenizer.json', 'run/latest/model/tokenizer.json']) expect(readFileSync(join(out, f), 'utf8'), f).toBe(readFileSync(join(out, 'tokenizer.json'), 'utf8'));
    const g = spawnSync(process.execPath, [bin, 'generate', '--model', join(out, 'model'), '--prompt', 'Call me', '--max-new-tokens', '5'], { encoding: 'utf8', timeout: 120_000 });
    expect(g.status, g.stderr).toBe(0);
    expect(g.stdout.length).toBeGreaterThan(1);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/unigram entropy of the training tokens: \*\*\d/);

    // The headline: "held-out CE X vs unigram Y nats/token" on the last line, and the same numbers in the report.
    const m = /held-out CE (\d+\.\d+) vs unigram (\d+\.\d+) nats\/token/.exec(r.stdout);
    expect(m, 'final summary line').not.toBeNull();
    const ce = Number(m![1]), unigram = Number(m![2]);
    console.log(`[demo] held-out CE ${ce} vs unigram ${unigram}: ${(unigram - ce).toFixed(3)} nats/token better (required ${MARGIN})`);
    expect(unigram).toBeGreaterThan(3); // a real 600-token vocabulary, not a degenerate corpus
    expect(ce).toBeLessThan(unigram - MARGIN);
    const report = readFileSync(join(out, 'report.md'), 'utf8');
    expect(report).toContain(`held-out unigram CE: **${m![2]}**`);
    expect(report).toContain(`held-out CE: **${m![1]}**`);
    expect(readFileSync(join(out, 'loss.svg'), 'utf8')).toMatch(/^<svg/);

    // the curation stage ran by default: its mix output is what prepare read, and the report says what it removed
    const kept = /kept (\d+) of (\d+) training documents and ([\d,]+) of ([\d,]+) characters/.exec(report);
    expect(kept, 'curation summary line').not.toBeNull();
    expect(Number(kept![2])).toBe(readFileSync(join(out, 'corpus/train.jsonl'), 'utf8').trim().split('\n').length);
    const chars = (s: string) => Number(s.replace(/,/g, ''));
    // (this 200k-character slice has no duplicate paragraph; the full corpus has a few, see README)
    expect(chars(kept![3]!)).toBeLessThanOrEqual(chars(kept![4]!));
    expect(report).toMatch(/\| duplicate paragraphs \(Bloom filter\) \| deleted spans \| {2}\| \d[\d,]* \| \d[\d,]* \|/);
    expect(report).toContain('[curation/report/report.md](curation/report/report.md)');
    expect(existsSync(join(out, 'curation/mixed/train-0000.jsonl.gz'))).toBe(true);
    const manifest = JSON.parse(readFileSync(join(out, 'data/train/manifest.json'), 'utf8')) as { files: { source: { spec: string } }[] };
    expect(manifest.files.map((f) => f.source.spec)).toEqual(manifest.files.map(() => join(out, 'curation/mixed')));
  }, 600_000); // as long as the spawned demo may run (a loaded shared machine takes minutes)

  const chromium = findChromium();
  it.skipIf(!chromium)('its report.html renders in headless Chromium: chart axes titled with units, tables with header rows, no overlapping text', () => {
    const { probe, screenshot } = renderInChromium(chromium!, readFileSync(join(out, 'report.html'), 'utf8'), 'demo-run-report', { width: 1040, height: 1800 });
    console.log(`[demo] report screenshot: ${screenshot}`);
    const texts = probe.texts.map((t) => t.text);
    for (const title of ['training step', 'training tokens seen', 'cross-entropy (nats/token)']) expect(texts).toContain(title);
    expect(probe.overlaps).toEqual([]);
    const log = probe.tables.find((t) => t.id === 'log')!;
    expect(log.headers[0]).toBe('step');
    expect(log.cellsPerRow.length).toBeGreaterThan(0);
    expect(new Set(log.cellsPerRow)).toEqual(new Set([log.headers.length])); // every column filled in on every row
    expect(probe.tables.find((t) => t.id === 'heldout')!.rows).toBe(3);
  });

  it.skipIf(!chromium)('the demo report links the curation report, which exists and renders with its tables', () => {
    const extra = `const a = document.querySelector('#curation-report'); return a && a.getAttribute('href');`;
    const { probe } = renderInChromium(chromium!, readFileSync(join(out, 'report.html'), 'utf8'), 'demo-run-report-curation', { width: 1040, height: 1800, extra });
    expect(probe.tables.find((t) => t.id === 'curation')!.rows).toBeGreaterThanOrEqual(3);
    const href = probe.extra as string;
    expect(href).toBe('curation/report/report.html');
    const target = join(out, decodeURI(href)); // the link is relative to report.html's folder
    expect(existsSync(target), target).toBe(true);
    const cur = renderInChromium(chromium!, readFileSync(target, 'utf8'), 'demo-run-curation-report', { width: 1040, height: 1800 });
    expect(cur.probe.tables.length).toBeGreaterThan(0);
    expect(cur.probe.overlaps).toEqual([]);
  });
});
