/** Reports: a Markdown table, a JSON document with per-example records, and an HTML page with an SVG bar chart. */
import type { TaskResult } from './evaluate.js';
import type { PerplexityResult } from './perplexity.js';

export interface EvalReport {
  model?: string;
  tokenizer?: string;
  createdAt: string;
  tasks: TaskResult[];
  perplexity?: (PerplexityResult & { label: string })[];
}

const fmt = (x: number, d = 4) => (Number.isFinite(x) ? x.toFixed(d) : String(x));

export function markdownTable(tasks: TaskResult[], perplexity: (PerplexityResult & { label: string })[] = []): string {
  const lines: string[] = [];
  if (tasks.length) {
    lines.push('| task | metric | score | n | random baseline |', '|---|---|---:|---:|---:|');
    for (const t of tasks) lines.push(`| ${t.task} | ${t.metric} | ${fmt(t.score)} | ${t.n}${t.skipped?.length ? ` (${t.skipped.length} skipped: too long)` : ''} | ${fmt(t.randomBaseline, 2)} |`);
  }
  if (perplexity.length) {
    if (lines.length) lines.push('');
    lines.push('| text | cross-entropy | perplexity | bits/byte | tokens | bytes | OLMo instance CE |', '|---|---:|---:|---:|---:|---:|---:|');
    for (const p of perplexity) lines.push(`| ${p.label} | ${fmt(p.crossEntropy)} | ${fmt(p.perplexity, 2)} | ${fmt(p.bitsPerByte)} | ${p.tokens} | ${p.bytes} | ${fmt(p.instanceCrossEntropy)} |`);
  }
  return lines.join('\n') + '\n';
}

export function reportJSON(report: EvalReport): string {
  return JSON.stringify(report, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 1);
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** An SVG bar chart: one bar per task (score) with a dashed marker at its random baseline. */
export function barChartSVG(tasks: TaskResult[]): string {
  const acc = tasks.filter((t) => t.metric !== 'ce_loss' && t.metric !== 'bpb');
  const barW = 44;
  const gap = 26;
  const H = 260;
  const top = 20;
  const left = 46;
  const W = left + acc.length * (barW + gap) + gap;
  const y = (v: number) => top + (1 - Math.max(0, Math.min(1, v))) * H;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" id="chart" width="${W}" height="${H + top + 70}" viewBox="0 0 ${W} ${H + top + 70}" role="img" aria-label="task scores vs random baseline">`);
  for (let i = 0; i <= 4; i++) {
    const v = i / 4;
    parts.push(`<line x1="${left}" x2="${W}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/><text x="${left - 6}" y="${y(v) + 4}" font-size="11" text-anchor="end">${v.toFixed(2)}</text>`);
  }
  acc.forEach((t, i) => {
    const x = left + gap + i * (barW + gap);
    const s = Number.isFinite(t.score) ? t.score : 0;
    const above = s > t.randomBaseline;
    parts.push(`<rect class="bar" data-task="${esc(t.task)}" data-score="${s}" x="${x}" y="${y(s)}" width="${barW}" height="${y(0) - y(s)}" fill="${above ? '#2b7bb9' : '#c0504d'}"><title>${esc(t.task)} ${esc(t.metric)} ${fmt(s)}</title></rect>`);
    parts.push(`<line class="baseline" data-task="${esc(t.task)}" x1="${x - 6}" x2="${x + barW + 6}" y1="${y(t.randomBaseline)}" y2="${y(t.randomBaseline)}" stroke="#222" stroke-width="2" stroke-dasharray="4 3"/>`);
    parts.push(`<text x="${x + barW / 2}" y="${y(s) - 4}" font-size="11" text-anchor="middle">${(s * 100).toFixed(1)}</text>`);
    parts.push(`<text x="${x + barW / 2}" y="${H + top + 16}" font-size="11" text-anchor="middle">${esc(t.task)}</text>`);
    parts.push(`<text x="${x + barW / 2}" y="${H + top + 30}" font-size="10" fill="#666" text-anchor="middle">${esc(t.metric)}</text>`);
  });
  parts.push(`<text x="${left}" y="${H + top + 56}" font-size="11">bars: score · dashed: random baseline</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}

export function renderHtml(report: EvalReport): string {
  const rows = report.tasks.map((t) => `<tr><td>${esc(t.task)}</td><td>${esc(t.metric)}</td><td>${fmt(t.score)}</td><td>${t.n}</td><td>${fmt(t.randomBaseline, 2)}</td></tr>`).join('\n');
  const ppl = (report.perplexity ?? []).map((p) => `<tr><td>${esc(p.label)}</td><td>${fmt(p.crossEntropy)}</td><td>${fmt(p.perplexity, 2)}</td><td>${fmt(p.bitsPerByte)}</td><td>${p.tokens}</td></tr>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>olmo eval${report.model ? ' — ' + esc(report.model) : ''}</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}td:first-child,th:first-child{text-align:left}</style>
</head><body>
<h1>OLMo downstream evaluation</h1>
<p>model: <code>${esc(report.model ?? '(in memory)')}</code> · ${esc(report.createdAt)}</p>
${report.tasks.length ? barChartSVG(report.tasks) : ''}
${report.tasks.length ? `<table id="scores"><thead><tr><th>task</th><th>metric</th><th>score</th><th>n</th><th>random</th></tr></thead><tbody>\n${rows}\n</tbody></table>` : ''}
${ppl ? `<table id="perplexity"><thead><tr><th>text</th><th>CE</th><th>ppl</th><th>bits/byte</th><th>tokens</th></tr></thead><tbody>\n${ppl}\n</tbody></table>` : ''}
</body></html>
`;
}
