/** The CLI (with an injected fake model), the in-loop evaluators (same numbers as the CLI), and the HTML report. */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createByteTokenizer, createEvaluators, createFakeModel, markdownTable, renderHtml, runEvalCli, type TaskResult } from '../src/index.js';
import { findChromium, renderInChromium } from '../../../test/chromium.js';
import { evalData, hasShared } from './helpers.js';

const model = createFakeModel({ vocabSize: 257, contextLength: 256, seed: 2 });
const tok = createByteTokenizer();
const io = (out: string[], err: string[]) => ({
  stdout: (s: string) => void out.push(s),
  stderr: (s: string) => void err.push(s),
  loadModel: async () => model,
  loadTokenizer: async () => tok,
});

describe('runEvalCli', () => {
  it('--help and usage errors', async () => {
    const out: string[] = [], err: string[] = [];
    expect(await runEvalCli(['eval', '--help'], io(out, err))).toBe(0);
    expect(out.join('')).toMatch(/^usage: olmo eval --model DIR/);
    expect(await runEvalCli(['eval', '--model', 'm', '--bogus'], io(out, err))).toBe(2);
    expect(await runEvalCli(['eval', '--tasks', 'piqa'], io(out, err))).toBe(2);
    expect(await runEvalCli(['eval', '--model', 'm', '--tasks', 'nope', '--data', evalData], io(out, err))).toBe(1);
    expect(err.join('')).toMatch(/olmo: error CONFIG_INVALID: .*unknown task "nope"/);
  });

  it('--dtype / --quantize reach the model loader (weight storage of the evaluated model)', async () => {
    const seen: Array<Record<string, unknown>> = [];
    const out: string[] = [], err: string[] = [];
    const dir = mkdtempSync(path.join(tmpdir(), 'olmo-eval-dtype-'));
    const txt = path.join(dir, 'a.txt');
    writeFileSync(txt, 'hello world, hello eval');
    const code = await runEvalCli(['eval', '--model', 'ckpt', '--perplexity', txt, '--dtype', 'bfloat16', '--quantize', 'q8_0'],
      { ...io(out, err), loadModel: async (_d: string, o: Record<string, unknown>) => { seen.push(o); return model; } });
    expect(err.join('')).toBe('');
    expect(code).toBe(0);
    expect(seen[0]).toMatchObject({ dtype: 'bfloat16', quantize: 'q8_0' });
  });

  it.skipIf(!hasShared)('tasks: prints the table, writes JSON with per-example records + HTML; in-loop evaluators agree', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'olmo-eval-cli-'));
    const out: string[] = [], err: string[] = [];
    const json = path.join(dir, 'results.json');
    const html = path.join(dir, 'report.html');
    const code = await runEvalCli(['eval', '--model', 'ckpt', '--tasks', 'piqa,copa,boolq', '--data', evalData, '--limit', '8', '--out', json, '--html', html, '--no-progress'], io(out, err));
    expect(err.join('')).toBe('');
    expect(code).toBe(0);
    const table = out.join('');
    expect(table).toMatch(/\| task \| metric \| score \| n \| random baseline \|/);
    expect(table).toMatch(/\| piqa \| len_norm \| [0-9.]+ \| 8 \| 0\.50 \|/);
    const report = JSON.parse(readFileSync(json, 'utf8')) as { tasks: TaskResult[] };
    expect(report.tasks.map((t) => t.task)).toEqual(['piqa', 'copa', 'boolq']);
    expect(report.tasks[0]!.perExample).toHaveLength(8);
    expect(Object.keys(report.tasks[0]!.perExample[0]!)).toEqual(expect.arrayContaining(['docId', 'gold', 'pred', 'll', 'llNorm']));
    expect(existsSync(html)).toBe(true);

    // in-loop evaluators on the same model give the same numbers under OLMo's keys
    const evs = createEvaluators([
      { label: 'piqa', type: 'downstream', subset_num_batches: 1 },
      { label: 'copa', type: 'downstream', subset_num_batches: 1 },
      { label: 'boolq', type: 'downstream', subset_num_batches: 1 },
    ], { tokenizer: tok, dataRoot: evalData, batchSize: 16 });
    const metrics: Record<string, number> = {};
    for (const e of evs) Object.assign(metrics, await e.run(model));
    expect(metrics['eval/downstream/piqa_len_norm']).toBeCloseTo(report.tasks[0]!.score, 12);
    expect(metrics['eval/downstream/copa_acc']).toBeCloseTo(report.tasks[1]!.score, 12);
    expect(metrics['eval/downstream/boolq_acc']).toBeCloseTo(report.tasks[2]!.score, 12);
  });

  it('perplexity: text files via the CLI == the lm evaluator on the same text', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'olmo-eval-ppl-'));
    const txt = path.join(dir, 'a.txt');
    writeFileSync(txt, 'The quick brown fox jumps over the lazy dog. '.repeat(8));
    const out: string[] = [], err: string[] = [];
    const json = path.join(dir, 'ppl.json');
    expect(await runEvalCli(['eval', '--model', 'ckpt', '--perplexity', txt, '--seq-len', '32', '--out', json], io(out, err))).toBe(0);
    expect(out.join('')).toMatch(/\| a\.txt \| [0-9.]+ \|/);
    const r = JSON.parse(readFileSync(json, 'utf8')).perplexity[0];
    expect(r.tokens).toBe(45 * 8);
    const [ev] = createEvaluators([{ label: 'tiny-text', type: 'lm', data: { paths: [txt] } }], { tokenizer: tok, seqLen: 32 });
    const m = await ev!.run(model);
    expect(m['eval/tiny-text/CrossEntropyLoss']).toBeCloseTo(r.instanceCrossEntropy, 10);
    expect(m['eval/tiny-text/Perplexity']).toBeCloseTo(Math.exp(r.instanceCrossEntropy), 8);
    const [ev2] = createEvaluators([{ label: 'multi', data: { datasets: { 'set-b': [txt], 'set-a': [txt] } } }], { tokenizer: tok, seqLen: 32 });
    expect(Object.keys(await ev2!.run(model))).toEqual(['eval/set-a/CrossEntropyLoss', 'eval/set-a/Perplexity', 'eval/set-b/CrossEntropyLoss', 'eval/set-b/Perplexity']);
  });
});

const chromium = findChromium();
if (!chromium) console.warn('[@olmo/eval] headless Chromium not found (apt-get install -y chromium): HTML render check SKIPPED');

describe('HTML report', () => {
  const fake = (task: string, metric: 'acc' | 'len_norm', score: number, randomBaseline: number): TaskResult => ({
    task, metric, score, n: 10, randomBaseline, metrics: { [metric]: score }, perExample: [], skipped: [],
    stats: { spans: 0, rows: 0, forwardCalls: 0, tokensFed: 0, rowTokens: 0, logitPositions: 0, requests: 0, seconds: 0, requestsPerSecond: 0 },
  });
  const report = {
    model: 'tiny <ckpt>', createdAt: '2026-01-01T00:00:00Z', tasks: [fake('piqa', 'len_norm', 0.62, 0.5), fake('hellaswag', 'len_norm', 0.3, 0.25), fake('winogrande', 'acc', 0.45, 0.5)],
    perplexity: [{ label: 'a.txt', crossEntropy: 2.5, perplexity: 12.18, bitsPerByte: 1.1, tokens: 100, bytes: 400, instanceCrossEntropy: 2.6 } as never],
  };

  it('the chart is SVG markup with one bar per task, heights proportional to the scores, a baseline marker each; the tables carry every Markdown column', async () => {
    const html = await renderHtml(report);
    expect(html.match(/aria-roledescription="bar"/g)).toHaveLength(3);
    expect(html).toContain('aria-label="random baseline for winogrande: 0.50"');
    // without a browser: each bar's path is "M x,top h w v height h -w Z" from the 0 line (y = 260)
    const bars = [...html.matchAll(/aria-label="(\w+) [^"]*" role="graphics-symbol" aria-roledescription="bar" d="M[\d.]+,([\d.]+)h[\d.]+v([\d.]+)h/g)];
    expect(bars.map((b) => b[1])).toEqual(['piqa', 'hellaswag', 'winogrande']);
    bars.forEach((b, i) => {
      expect(Number(b[3]) / 260, `${b[1]} height`).toBeCloseTo(report.tasks[i]!.score, 6);
      expect(Number(b[2]) + Number(b[3]), `${b[1]} base`).toBeCloseTo(260, 6);
    });
    expect(html).toContain('tiny &lt;ckpt&gt;');
    const md = markdownTable(report.tasks, report.perplexity);
    for (const header of md.split('\n').filter((l) => l.startsWith('| ') && !/^\| (piqa|hellaswag|winogrande|a\.txt) /.test(l))) {
      const cols = header.slice(2, -2).split(' | ');
      for (const c of cols) expect(html, c).toContain(`>${c}</th>`);
    }
  });

  it.skipIf(!chromium)('renders in headless Chromium: 0–1 axis with matching labels, bar heights proportional to the scores, no overlapping text', async () => {
    const extra = `return {
      bars: [...document.querySelectorAll('[aria-roledescription="bar"]')].map((b) => { const r = b.getBoundingClientRect(); return [b.getAttribute('aria-label'), r.height, r.top, r.bottom]; }),
      base: [...document.querySelectorAll('[aria-label^="random baseline"]')].map((b) => { const r = b.getBoundingClientRect(); return (r.top + r.bottom) / 2; }),
      yTicks: [...document.querySelectorAll('g.role-axis')].filter((g) => (g.getAttribute('aria-label') || '').startsWith('Y-axis')).flatMap((g) => [...g.querySelectorAll('.role-axis-label text')].map((t) => { const r = t.getBoundingClientRect(); return [t.textContent, (r.top + r.bottom) / 2]; })),
    };`;
    const { probe, screenshot } = renderInChromium(chromium!, await renderHtml(report), 'eval-report', { width: 960, height: 900, extra });
    console.log(`[eval report] screenshot: ${screenshot}`);
    const x = probe.extra as { bars: [string, number, number, number][]; base: number[]; yTicks: [string, number][] };
    expect(probe.svgs[0]!.w).toBeGreaterThan(200);
    // the score axis runs 0.0 … 1.0 with a label at every tick
    expect(x.yTicks.map((t) => t[0])).toEqual(['0.0', '0.2', '0.4', '0.6', '0.8', '1.0']);
    const y0 = x.yTicks[0]![1], y1 = x.yTicks[5]![1], px = (v: number) => y0 + (y1 - y0) * v; // label centres sit on their ticks
    expect(x.bars.map((b) => b[0].split(' ')[0])).toEqual(['piqa', 'hellaswag', 'winogrande']);
    report.tasks.forEach((t, i) => {
      const [, height, top, bottom] = x.bars[i]!;
      // each bar starts at the 0.0 label and ends at its score on the labelled axis: height ∝ score
      expect(Math.abs(bottom - y0), `${t.task} bottom`).toBeLessThan(1.5);
      expect(Math.abs(top - px(t.score)), `${t.task} top`).toBeLessThan(1.5);
      expect(Math.abs(height - (y0 - y1) * t.score), `${t.task} height`).toBeLessThan(1.5);
      expect(Math.abs(x.base[i]! - px(t.randomBaseline)), `${t.task} baseline`).toBeLessThan(1.5);
    });
    // every text the chart draws (tick labels, task names, values) is readable: none overlap
    expect(probe.overlaps).toEqual([]);
    for (const label of ['piqa', 'len_norm', '0.620', '0.300', '0.450', 'score (0–1)']) expect(probe.texts.map((t) => t.text).join('|')).toContain(label);
    expect(probe.tables.map((t) => t.id)).toEqual(['scores', 'perplexity']);
    expect(probe.tables[0]!.headers).toEqual(['task', 'metric', 'score', 'n', 'random baseline']);
    expect(probe.tables[1]!.headers).toEqual(['text', 'cross-entropy', 'perplexity', 'bits/byte', 'tokens', 'bytes', 'OLMo instance CE']);
    expect(probe.tables[0]!.cellsPerRow).toEqual([5, 5, 5]);
  });
});
