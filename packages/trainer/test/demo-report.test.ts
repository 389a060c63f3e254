/**
 * The demo's report (report.md + report.html) from a realistic run's data (1,490 steps, in-loop
 * held-out every 100, samples full of Markdown/HTML syntax):
 *   - report.md is valid CommonMark (rendered by markdown-it): the sample prompts are bold, sample
 *     text stays literal text, the tables have header rows;
 *   - report.html in headless Chromium: axes with titles/units and tick labels whose values sit at
 *     the right positions (the top "tokens" axis lines up with the bottom "step" axis), no two
 *     texts overlap, the training-log table has the Markdown's header and columns, the held-out
 *     table puts the in-loop and final numbers side by side. A screenshot is kept.
 */
import MarkdownIt from 'markdown-it';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { demoHtml, demoMarkdown, logColumns, type DemoReportData } from '../src/report/demo-report.js';
import { mdBold, mdText } from '../src/report/markdown.js';
import { findChromium, renderInChromium, screenshotDir } from '../../../test/chromium.js';

function realisticRun(): DemoReportData {
  let s = 7;
  const noise = () => { s = (s * 1103515245 + 12345) % 2 ** 31; return s / 2 ** 31 - 0.5; };
  const history = Array.from({ length: 1490 }, (_, i) => {
    const step = i + 1, ce = 4.9 + 3.4 * Math.exp(-step / 140) + 0.25 * noise();
    return {
      step, trainCE: ce, trainPpl: Math.exp(ce), gradNorm: 0.4 + Math.abs(noise()), lr: 3e-3 * Math.min(1, step / 100),
      tokensPerSecond: 14500 + 500 * noise(), ...(step % 100 === 0 ? { heldOutCE: 5.05 + 3.2 * Math.exp(-step / 140) } : {}),
    };
  });
  return {
    corpus: { trainTokens: 2_712_345, heldOutTokens: 141_002 },
    tokenizer: { vocabSize: 4096, path: 'runs/demo/tokenizer.json' },
    model: { dModel: 128, nLayers: 4, nHeads: 4, seqLen: 128, params: 1_210_000 },
    training: { firstStep: 1, lastStep: 1490, tokensPerStep: 16 * 128, seconds: 210.4, finalTrainCE: 4.93 },
    unigram: { trainEntropy: 6.52, heldOutCE: 6.712 },
    inLoop: { interval: 100, instances: 32 },
    final: { instances: 128, tokens: 128 * 127, crossEntropy: 4.998, perplexity: Math.exp(4.998) },
    history,
    samples: [
      { prompt: 'Call me Ishmael. ', text: 'Some *years* ago — never_mind_how <b>long</b> | precisely [having](x) `little` & ~no~ money\nin my purse.' },
      { prompt: 'Mr. Speaker, the state of the Union', text: ' is strong; 2 * 3 = 6 and a_b_c.' },
      { prompt: 'Ishmael.', text: 'Ishmael was here.' }, // bold that CommonMark would not close with **…**
    ],
    totalSeconds: 213,
    modelDir: 'runs/demo/model',
    metricsPath: 'runs/demo/run/metrics.jsonl',
  };
}

describe('demo report Markdown', () => {
  const d = realisticRun();
  const md = demoMarkdown(d, { chart: 'loss.svg' });
  const html = new MarkdownIt({ html: true }).render(md);

  it('renders as CommonMark: bold prompts, literal sample text, tables with header rows', () => {
    expect(html).toContain('<strong>Call me Ishmael.</strong> Some *years* ago');
    expect(html).toContain('<strong>Mr. Speaker, the state of the Union</strong> is strong; 2 * 3 = 6 and a_b_c.');
    expect(html).toContain('<strong>Ishmael.</strong>Ishmael was here.');
    // the sample's syntax characters are text: no emphasis, links, code, strike-through or raw HTML from it
    const samples = [...html.matchAll(/<blockquote>[\s\S]*?<\/blockquote>/g)].map((m) => m[0]).join('\n');
    expect(samples.match(/<blockquote>/g)).toHaveLength(3);
    expect(samples).toContain('never_mind_how &lt;b&gt;long&lt;/b&gt; | precisely [having](x) `little` &amp; ~no~ money in my purse.');
    expect(samples).not.toMatch(/<(em|a|code|s|del|b)[ >]/);
    const tables = [...html.matchAll(/<table>([\s\S]*?)<\/table>/g)].map((m) => m[1]!);
    expect(tables).toHaveLength(2);
    const log = tables[1]!;
    const headers = [...log.matchAll(/<th[^>]*>(.*?)<\/th>/g)].map((m) => m[1]);
    expect(headers).toEqual(logColumns(d).map((c) => c.title));
    for (const row of log.split('<tr>').slice(2)) expect(row.match(/<td/g)).toHaveLength(headers.length);
    expect(html).toMatch(/unigram entropy of the training tokens: <strong>6\.520<\/strong>/);
    expect(html).toContain('<img src="loss.svg"');
  });

  it('mdBold / mdText: the class of CommonMark emphasis and escaping rules', () => {
    const r = (s: string) => new MarkdownIt({ html: true }).renderInline(s);
    expect(r(mdBold('Call me Ishmael. ', 'x') + 'x')).toBe('<strong>Call me Ishmael.</strong> x');
    expect(r(mdBold('  lead', '.') + '.')).toBe('  <strong>lead</strong>.');
    expect(r(mdBold('end.', 'A') + 'A')).toBe('<strong>end.</strong>A');
    expect(r(mdBold('a*b_c', ' ') + ' z')).toBe('<strong>a*b_c</strong> z');
    expect(r(mdBold('<x> & y!', 'z') + 'z')).toBe('<strong>&lt;x&gt; &amp; y!</strong>z');
    expect(r(mdText('*a* _b_ `c` [d](e) <f> &amp; | ~g~ \\'))).toBe('*a* _b_ `c` [d](e) &lt;f&gt; &amp;amp; | ~g~ \\');
  });

  it('is written next to the HTML by the demo (Markdown file kept for inspection)', () => {
    mkdirSync(screenshotDir, { recursive: true });
    writeFileSync(join(screenshotDir, 'demo-report.md'), md);
  });
});

const chromium = findChromium();
if (!chromium) console.warn('[demo report] headless Chromium not found (apt-get install -y chromium): render check SKIPPED');

/** Parses an axis label: "1,400" → 1400, "1.5M" → 1.5e6, "500k" → 5e5. */
const num = (s: string) => {
  const m = /^(-?[\d.,]+)([kMG]?)$/.exec(s.replace(/\u2212/g, '-'));
  if (!m) return NaN;
  return Number(m[1]!.replace(/,/g, '')) * ({ '': 1, k: 1e3, M: 1e6, G: 1e9 } as Record<string, number>)[m[2]!]!;
};

describe.skipIf(!chromium)('demo report HTML in headless Chromium', () => {
  it('axes with tick values and units, aligned step/token axes, no overlapping text, full tables', async () => {
    const d = realisticRun();
    const extra = `const axes = {};
      for (const g of document.querySelectorAll('#loss-chart g.role-axis')) {
        const title = g.querySelector('.role-axis-title text'); if (!title) continue;
        axes[title.textContent] = [...g.querySelectorAll('.role-axis-label text')].filter((t) => t.getAttribute('opacity') !== '0' && getComputedStyle(t).opacity !== '0').map((t) => { const r = t.getBoundingClientRect(); return [t.textContent, (r.left + r.right) / 2, (r.top + r.bottom) / 2]; });
      }
      const legend = [...document.querySelectorAll('#loss-chart .role-legend-label text')].map((t) => t.textContent);
      return { axes, legend };`;
    const { probe, screenshot } = renderInChromium(chromium!, await demoHtml(d), 'demo-report', { width: 1040, height: 2200, extra });
    console.log(`[demo report] screenshot: ${screenshot}`);
    const { axes, legend } = probe.extra as { axes: Record<string, [string, number, number][]>; legend: string[] };
    expect(Object.keys(axes).sort()).toEqual(['cross-entropy (nats/token)', 'training step', 'training tokens seen']);

    // bottom axis: steps, ≥ 4 labels, inside the run, evenly spaced in value and in pixels
    const steps = axes['training step']!.map(([t, x]) => [num(t), x] as const);
    expect(steps.length).toBeGreaterThanOrEqual(4);
    for (const [v] of steps) { expect(v).toBeGreaterThanOrEqual(1); expect(v).toBeLessThanOrEqual(1490); }
    const [a, b] = [steps[0]!, steps.at(-1)!];
    const xOfStep = (s: number) => a[1] + ((s - a[0]) / (b[0] - a[0])) * (b[1] - a[1]);
    for (const [v, x] of steps) expect(Math.abs(x - xOfStep(v)), `step label ${v}`).toBeLessThan(2.5);
    // top axis: tokens = step × 2,048, at the pixel where that step is on the bottom axis
    const tokens = axes['training tokens seen']!.map(([t, x]) => [num(t), x] as const);
    expect(tokens.length).toBeGreaterThanOrEqual(3);
    for (const [v, x] of tokens) {
      expect(Number.isFinite(v), `token label ${v}`).toBe(true);
      expect(Math.abs(x - xOfStep(v / d.training.tokensPerStep)), `token label ${v}`).toBeLessThan(3);
    }
    // y axis: nats/token values bracketing the data (final 4.998 … first steps ≈ 8.3)
    const ys = axes['cross-entropy (nats/token)']!.map(([t, , y]) => [num(t), y] as const);
    expect(ys.length).toBeGreaterThanOrEqual(4);
    expect(Math.min(...ys.map((v) => v[0]))).toBeLessThanOrEqual(5);
    expect(Math.max(...ys.map((v) => v[0]))).toBeGreaterThanOrEqual(8);
    for (let i = 1; i < ys.length; i++) expect(ys[i]![1]).toBeLessThan(ys[i - 1]![1]); // larger values higher up
    expect(legend).toEqual(['training batch (per step)', 'held-out, in-loop (32 inst.)', 'held-out, final (128 inst.)', 'unigram baseline (held-out)']);

    expect(probe.overlaps).toEqual([]);

    const byId = Object.fromEntries(probe.tables.map((t) => [t.id, t]));
    expect(byId.log!.headers).toEqual(logColumns(d).map((c) => c.title));
    expect(new Set(byId.log!.cellsPerRow)).toEqual(new Set([logColumns(d).length]));
    expect(byId.log!.rows).toBeGreaterThanOrEqual(10);
    expect(byId.heldout!.headers).toEqual(['held-out measurement', 'when', 'held-out instances', 'CE (nats/token)', 'perplexity', 'what it is for']);
    expect(byId.heldout!.rows).toBe(3);
  });
});

/** The curation stage's part of the report (what `olmo demo` passes unless --no-curate). */
function curatedRun(): DemoReportData {
  return {
    ...realisticRun(),
    curation: {
      inputDocuments: 354, outputDocuments: 353, inputChars: 11_200_000, outputChars: 11_150_000, seconds: 9.1,
      rules: [
        { rule: 'not English (fastText en < 0.5)', action: 'removed documents', documents: 1, spans: 0, chars: 700 },
        { rule: 'duplicate paragraphs (Bloom filter)', action: 'deleted spans', documents: 0, spans: 812, chars: 49_300 },
        { rule: 'PII: e-mail addresses', action: 'masked spans', documents: 0, spans: 0, chars: 0 },
      ],
      reportHtml: 'curation/report/report.html', reportMarkdown: 'curation/report/report.md',
    },
  };
}

describe('demo report with the curation stage', () => {
  const d = curatedRun();
  it('Markdown: a summary line with documents and characters kept, a rule table, working links to the curation report', () => {
    const html = new MarkdownIt({ html: true }).render(demoMarkdown(d, { chart: 'loss.svg' }));
    expect(html).toContain('curation: tag → paragraph dedup → mix kept 353 of 354 training documents and 11,150,000 of 11,200,000 characters (50,000 removed, 0.45%) in ');
    const tables = [...html.matchAll(/<table>([\s\S]*?)<\/table>/g)].map((m) => m[1]!);
    expect(tables).toHaveLength(3);
    const rows = tables[0]!.split('<tr>').slice(2).map((r) => [...r.matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((m) => m[1]));
    expect(rows).toEqual([
      ['not English (fastText en &lt; 0.5)', 'removed documents', '1', '', '700'],
      ['duplicate paragraphs (Bloom filter)', 'deleted spans', '', '812', '49,300'],
      ['PII: e-mail addresses', 'masked spans', '', '0', '0'],
    ]);
    expect(html).toContain('<a href="curation/report/report.md">curation/report/report.md</a>');
    expect(html).toContain('<a href="curation/report/report.html">HTML</a>');
  });

  it.skipIf(!chromium)('HTML in headless Chromium: the curation table and the link to the curation report', async () => {
    const extra = `const a = document.querySelector('#curation-report'); return a && { href: a.getAttribute('href'), resolved: a.href, text: a.textContent };`;
    const { probe } = renderInChromium(chromium!, await demoHtml(d), 'demo-report-curated', { width: 1040, height: 2400, extra });
    const cur = probe.tables.find((t) => t.id === 'curation')!;
    expect(cur.headers).toEqual(['rule', 'action', 'documents', 'spans', 'characters']);
    expect(cur.rows).toBe(3);
    expect(new Set(cur.cellsPerRow)).toEqual(new Set([5]));
    const link = probe.extra as { href: string; resolved: string; text: string };
    expect(link.href).toBe('curation/report/report.html');
    expect(link.resolved.endsWith('/curation/report/report.html')).toBe(true); // relative to the demo report's folder
    expect(probe.overlaps).toEqual([]);
  });
});
