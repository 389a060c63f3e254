/**
 * Reports: a Markdown table, a JSON document with per-example records, and an HTML page with the
 * score chart (score-chart.ts). The Markdown and HTML tables come from the same column lists, so
 * the HTML shows every column the Markdown has, under a header row.
 */
import { escapeHtml as esc } from './chart.js';
import type { TaskResult } from './evaluate.js';
import type { PerplexityResult } from './perplexity.js';
import { scoreChartSVG } from './score-chart.js';

export interface EvalReport {
  model?: string;
  tokenizer?: string;
  createdAt: string;
  tasks: TaskResult[];
  perplexity?: (PerplexityResult & { label: string })[];
}

const fmt = (x: number, d = 4) => (Number.isFinite(x) ? x.toFixed(d) : String(x));

interface Column<R> { title: string; numeric: boolean; cell(r: R): string }
type PplRow = PerplexityResult & { label: string };

const TASK_COLUMNS: Column<TaskResult>[] = [
  { title: 'task', numeric: false, cell: (t) => t.task },
  { title: 'metric', numeric: false, cell: (t) => t.metric },
  { title: 'score', numeric: true, cell: (t) => fmt(t.score) },
  { title: 'n', numeric: true, cell: (t) => `${t.n}${t.skipped?.length ? ` (${t.skipped.length} skipped: too long)` : ''}` },
  { title: 'random baseline', numeric: true, cell: (t) => fmt(t.randomBaseline, 2) },
];
const PPL_COLUMNS: Column<PplRow>[] = [
  { title: 'text', numeric: false, cell: (p) => p.label },
  { title: 'cross-entropy', numeric: true, cell: (p) => fmt(p.crossEntropy) },
  { title: 'perplexity', numeric: true, cell: (p) => fmt(p.perplexity, 2) },
  { title: 'bits/byte', numeric: true, cell: (p) => fmt(p.bitsPerByte) },
  { title: 'tokens', numeric: true, cell: (p) => String(p.tokens) },
  { title: 'bytes', numeric: true, cell: (p) => String(p.bytes) },
  { title: 'OLMo instance CE', numeric: true, cell: (p) => fmt(p.instanceCrossEntropy) },
];

/** A Markdown cell: pipes and backslashes escaped, newlines flattened (a cell is one line). */
const mdCell = (s: string) => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

function mdTable<R>(cols: Column<R>[], rows: R[]): string[] {
  return [
    `| ${cols.map((c) => c.title).join(' | ')} |`,
    `|${cols.map((c) => (c.numeric ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) => `| ${cols.map((c) => mdCell(c.cell(r))).join(' | ')} |`),
  ];
}

function htmlTable<R>(id: string, cols: Column<R>[], rows: R[]): string {
  const cls = (c: Column<R>) => (c.numeric ? ' class="num"' : '');
  return `<table id="${id}"><thead><tr>${cols.map((c) => `<th${cls(c)}>${esc(c.title)}</th>`).join('')}</tr></thead><tbody>\n${rows.map((r) => `<tr>${cols.map((c) => `<td${cls(c)}>${esc(c.cell(r))}</td>`).join('')}</tr>`).join('\n')}\n</tbody></table>`;
}

export function markdownTable(tasks: TaskResult[], perplexity: PplRow[] = []): string {
  const lines: string[] = [];
  if (tasks.length) lines.push(...mdTable(TASK_COLUMNS, tasks));
  if (perplexity.length) {
    if (lines.length) lines.push('');
    lines.push(...mdTable(PPL_COLUMNS, perplexity));
  }
  return lines.join('\n') + '\n';
}

export function reportJSON(report: EvalReport): string {
  return JSON.stringify(report, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 1);
}

export { scoreChartSVG } from './score-chart.js';

/** The HTML report: score chart (0–1 axis), then the same tables as the Markdown. */
export async function renderHtml(report: EvalReport): Promise<string> {
  const ppl = report.perplexity ?? [];
  const chart = report.tasks.some((t) => t.metric !== 'ce_loss' && t.metric !== 'bpb') ? await scoreChartSVG(report.tasks) : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>olmo eval${report.model ? ' — ' + esc(report.model) : ''}</title>
<style>body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:24px auto;max-width:900px;color:#222;line-height:1.45}
table{border-collapse:collapse;margin:12px 0}th,td{border:1px solid #ccc;padding:4px 10px;text-align:left}th{background:#f3f3f3}.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:16px 0}figcaption{color:#555;font-size:13px}</style>
</head><body>
<h1>OLMo downstream evaluation</h1>
<p>model: <code>${esc(report.model ?? '(in memory)')}</code>${report.tokenizer ? ` · tokenizer: <code>${esc(report.tokenizer)}</code>` : ''} · ${esc(report.createdAt)}</p>
${chart ? `<figure>${chart}<figcaption>Bars: each task's score on a 0–1 scale (blue above the random baseline, red at or below); black line: the random baseline; the number above: the score.</figcaption></figure>` : ''}
${report.tasks.length ? htmlTable('scores', TASK_COLUMNS, report.tasks) : ''}
${ppl.length ? htmlTable('perplexity', PPL_COLUMNS, ppl) : ''}
</body></html>
`;
}
