/** The CLI (with an injected fake model), the in-loop evaluators (same numbers as the CLI), and the HTML report. */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createByteTokenizer, createEvaluators, createFakeModel, renderHtml, runEvalCli, type TaskResult } from '../src/index.js';
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
    expect(out.join('')).toMatch(/olmo eval --model DIR/);
    expect(await runEvalCli(['eval', '--model', 'm', '--bogus'], io(out, err))).toBe(2);
    expect(await runEvalCli(['eval', '--tasks', 'piqa'], io(out, err))).toBe(2);
    expect(await runEvalCli(['eval', '--model', 'm', '--tasks', 'nope', '--data', evalData], io(out, err))).toBe(1);
    expect(err.join('')).toMatch(/CONFIG_INVALID.*unknown task "nope"/);
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

function findChromium(): string | undefined {
  for (const c of ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']) {
    const r = spawnSync('which', [c], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return undefined;
}
const chromium = findChromium();
if (!chromium) console.warn('[@olmo/eval] headless Chromium not found (apt-get install -y chromium): HTML render check SKIPPED');

describe('HTML report', () => {
  const fake = (task: string, metric: 'acc' | 'len_norm', score: number, randomBaseline: number): TaskResult => ({
    task, metric, score, n: 10, randomBaseline, metrics: { [metric]: score }, perExample: [], skipped: [],
    stats: { spans: 0, rows: 0, forwardCalls: 0, tokensFed: 0, rowTokens: 0, logitPositions: 0, requests: 0, seconds: 0, requestsPerSecond: 0 },
  });
  const report = { model: 'tiny <ckpt>', createdAt: '2026-01-01T00:00:00Z', tasks: [fake('piqa', 'len_norm', 0.62, 0.5), fake('hellaswag', 'len_norm', 0.3, 0.25), fake('winogrande', 'acc', 0.45, 0.5)] };

  it('has one bar and one baseline marker per task, heights proportional to the scores', () => {
    const html = renderHtml(report);
    expect(html.match(/<rect class="bar"/g)).toHaveLength(3);
    expect(html.match(/<line class="baseline"/g)).toHaveLength(3);
    expect(html).toContain('tiny &lt;ckpt&gt;');
  });

  it.skipIf(!chromium)('renders in headless Chromium: the DOM has the chart with bars above/below the baselines', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'olmo-eval-html-'));
    const file = path.join(dir, 'report.html');
    // a script (added only for this check) measures the rendered SVG and writes the result into the title
    const probe = `<script>window.addEventListener('load',()=>{const bars=[...document.querySelectorAll('rect.bar')].map(r=>{const b=r.getBoundingClientRect();return [r.dataset.task,Math.round(b.height),Math.round(b.top)]});const base=[...document.querySelectorAll('line.baseline')].map(l=>Math.round(l.getBoundingClientRect().top));const svg=document.querySelector('svg#chart').getBoundingClientRect();document.title='PROBE'+JSON.stringify({bars,base,w:Math.round(svg.width),h:Math.round(svg.height)});});</script>`;
    writeFileSync(file, renderHtml(report).replace('</body>', probe + '</body>'));
    const dom = execFileSync(chromium!, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--virtual-time-budget=2000', '--dump-dom', `file://${file}`], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'ignore'] });
    const m = /<title>PROBE(.*?)<\/title>/.exec(dom);
    expect(m).not.toBeNull();
    const probeData = JSON.parse(m![1]!.replace(/&quot;/g, '"')) as { bars: [string, number, number][]; base: number[]; w: number; h: number };
    expect(probeData.w).toBeGreaterThan(100);
    expect(probeData.h).toBeGreaterThan(100);
    expect(probeData.bars.map((b) => b[0])).toEqual(['piqa', 'hellaswag', 'winogrande']);
    // bar heights are proportional to the scores (0.62 : 0.30 : 0.45)
    const [p, h, w] = probeData.bars.map((b) => b[1]);
    expect(p! / h!).toBeCloseTo(0.62 / 0.3, 1);
    expect(w! / h!).toBeCloseTo(0.45 / 0.3, 1);
    // piqa's bar top is above its baseline marker (score > random), winogrande's below
    expect(probeData.bars[0]![2]).toBeLessThan(probeData.base[0]!);
    expect(probeData.bars[2]![2]).toBeGreaterThan(probeData.base[2]!);
  });
});
