/**
 * Run report (Markdown + self-contained HTML): per attribute the distribution of its values
 * (document-level score, or spans per document for span attributes) as a histogram, per stream and
 * rule what the mix removed (documents, characters, whitespace tokens) and replaced, and sample
 * removed documents.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../npy.js';
import { readLines } from './documents.js';
import type { MixResult } from './mix.js';

export interface Histogram { key: string; kind: 'score' | 'spans per document'; count: number; min: number; max: number; mean: number; bins: number[]; edges: number[] }

const BINS = 20;

function histogram(key: string, kind: Histogram['kind'], values: number[]): Histogram {
  let min = Infinity; let max = -Infinity; let sum = 0;
  for (const v of values) { if (v < min) min = v; if (v > max) max = v; sum += v; }
  if (values.length === 0) { min = 0; max = 0; }
  const width = max > min ? (max - min) / BINS : 1;
  const bins = new Array<number>(BINS).fill(0);
  for (const v of values) bins[Math.min(BINS - 1, Math.floor((v - min) / width))]!++;
  const edges = Array.from({ length: BINS + 1 }, (_, i) => min + i * width);
  return { key, kind, count: values.length, min, max, mean: values.length ? sum / values.length : 0, bins, edges };
}

/** Reads attribute files and builds one histogram per attribute key. */
export async function attributeHistograms(files: readonly string[]): Promise<Histogram[]> {
  const perKey = new Map<string, { scores: number[]; spanCounts: number[]; docLevel: boolean }>();
  let docs = 0;
  for (const f of files) {
    for await (const line of readLines(f)) {
      const a = (JSON.parse(line.text) as { attributes: Record<string, [number, number, number][]> }).attributes;
      for (const [k, spans] of Object.entries(a)) {
        let e = perKey.get(k);
        if (!e) { e = { scores: [], spanCounts: new Array<number>(docs).fill(0), docLevel: true }; perKey.set(k, e); }
        e.spanCounts.push(spans.length);
        if (spans.length > 1 || (spans.length === 1 && spans[0]![0] !== 0)) e.docLevel = false;
        if (spans.length === 1) e.scores.push(spans[0]![2]);
      }
      docs++;
      for (const e of perKey.values()) if (e.spanCounts.length < docs) e.spanCounts.push(0);
    }
  }
  return [...perKey.entries()].map(([k, e]) => (e.docLevel && e.scores.length === e.spanCounts.filter((c) => c > 0).length && e.spanCounts.every((c) => c === 1)
    ? histogram(k, 'score', e.scores) : histogram(k, 'spans per document', e.spanCounts)));
}

export interface ReportInput { title: string; histograms?: Histogram[]; mix?: MixResult; notes?: string[] }

const fmt = (x: number): string => (Number.isInteger(x) ? x.toLocaleString('en-US') : x.toPrecision(4));
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function renderMarkdown(r: ReportInput): string {
  const L: string[] = [`# ${r.title}`, ''];
  for (const n of r.notes ?? []) L.push(`- ${n}`);
  if (r.histograms?.length) {
    L.push('', '## Attribute distributions', '');
    for (const h of r.histograms) {
      L.push(`### \`${h.key}\``, '', `${h.kind}: n=${fmt(h.count)} min=${fmt(h.min)} mean=${fmt(h.mean)} max=${fmt(h.max)}`, '', '| from | to | documents | |', '|---:|---:|---:|:---|');
      const peak = Math.max(1, ...h.bins);
      h.bins.forEach((b, i) => { if (b > 0) L.push(`| ${fmt(h.edges[i]!)} | ${fmt(h.edges[i + 1]!)} | ${b} | ${'█'.repeat(Math.ceil((b / peak) * 30))} |`); });
      L.push('');
    }
  }
  for (const s of r.mix?.streams ?? []) {
    L.push(`## Stream \`${s.name}\``, '', `${fmt(s.outputDocuments)} of ${fmt(s.inputDocuments)} documents written; ${fmt(s.outputChars)} of ${fmt(s.inputChars)} characters.`, '');
    L.push('| removed by | documents | characters | tokens (whitespace) |', '|:---|---:|---:|---:|');
    for (const [rule, x] of Object.entries(s.removedBy)) L.push(`| \`${rule}\` | ${fmt(x.documents)} | ${fmt(x.chars)} | ${fmt(x.tokens)} |`);
    L.push('', '| replaced by | spans | characters |', '|:---|---:|---:|');
    for (const [rule, x] of Object.entries(s.replacedBy)) L.push(`| \`${rule}\` | ${fmt(x.spans)} | ${fmt(x.chars)} |`);
    L.push('', '### Sample removed documents', '');
    for (const [rule, x] of Object.entries(s.removedBy)) {
      for (const d of x.samples) L.push(`- **${d.id}** (\`${rule}\`): ${JSON.stringify(d.text.slice(0, 300))}`);
    }
    L.push('');
  }
  return `${L.join('\n')}\n`;
}

function svgHistogram(h: Histogram): string {
  const W = 400; const H = 80; const bw = W / h.bins.length;
  const peak = Math.max(1, ...h.bins);
  const bars = h.bins.map((b, i) => {
    const bh = (b / peak) * (H - 2);
    return `<rect class="bar" x="${(i * bw).toFixed(1)}" y="${(H - bh).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${bh.toFixed(1)}" data-count="${b}"><title>${fmt(h.edges[i]!)} – ${fmt(h.edges[i + 1]!)}: ${b}</title></rect>`;
  }).join('');
  return `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img">${bars}</svg>`;
}

export function renderHtml(r: ReportInput): string {
  const B: string[] = [`<h1>${esc(r.title)}</h1>`];
  if (r.notes?.length) B.push(`<ul>${r.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>`);
  if (r.histograms?.length) {
    B.push('<h2>Attribute distributions</h2>');
    for (const h of r.histograms) {
      B.push(`<section class="hist" data-key="${esc(h.key)}" data-n="${h.count}"><h3><code>${esc(h.key)}</code></h3><p>${h.kind}: n=${fmt(h.count)} min=${fmt(h.min)} mean=${fmt(h.mean)} max=${fmt(h.max)}</p>${svgHistogram(h)}</section>`);
    }
  }
  for (const s of r.mix?.streams ?? []) {
    B.push(`<section class="stream" data-name="${esc(s.name)}"><h2>Stream <code>${esc(s.name)}</code></h2><p>${fmt(s.outputDocuments)} of ${fmt(s.inputDocuments)} documents written; ${fmt(s.outputChars)} of ${fmt(s.inputChars)} characters.</p>`);
    B.push('<table class="removed"><tr><th>removed by</th><th>documents</th><th>characters</th><th>tokens (whitespace)</th></tr>');
    for (const [rule, x] of Object.entries(s.removedBy)) B.push(`<tr data-rule="${esc(rule)}"><td><code>${esc(rule)}</code></td><td>${fmt(x.documents)}</td><td>${fmt(x.chars)}</td><td>${fmt(x.tokens)}</td></tr>`);
    B.push('</table><table class="replaced"><tr><th>replaced by</th><th>spans</th><th>characters</th></tr>');
    for (const [rule, x] of Object.entries(s.replacedBy)) B.push(`<tr data-rule="${esc(rule)}"><td><code>${esc(rule)}</code></td><td>${fmt(x.spans)}</td><td>${fmt(x.chars)}</td></tr>`);
    B.push('</table><h3>Sample removed documents</h3><ul class="samples">');
    for (const [rule, x] of Object.entries(s.removedBy)) for (const d of x.samples) B.push(`<li class="sample"><b>${esc(d.id)}</b> <code>${esc(rule)}</code><pre>${esc(d.text.slice(0, 600))}</pre></li>`);
    B.push('</ul></section>');
  }
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(r.title)}</title><style>
body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}td:first-child{text-align:left}
.bar{fill:#4a7bd0}pre{white-space:pre-wrap;background:#f6f6f6;padding:4px;max-height:8em;overflow:auto}
</style></head><body>${B.join('\n')}</body></html>\n`;
}

/** Writes <dir>/report.md and <dir>/report.html (each atomically). */
export function writeReport(dir: string, r: ReportInput): { markdown: string; html: string } {
  mkdirSync(dir, { recursive: true });
  const markdown = path.join(dir, 'report.md');
  const html = path.join(dir, 'report.html');
  writeFileAtomic(markdown, renderMarkdown(r));
  writeFileAtomic(html, renderHtml(r));
  return { markdown, html };
}
