/**
 * The demo's report: `report.md` (valid CommonMark) and `report.html` (one self-contained page)
 * from the same data, plus the loss chart (loss-chart.ts). Both show the same summary, the two
 * held-out numbers side by side with what each one measures, the chart, the training-log table
 * (identical columns, with a header row) and the samples.
 */
import { escapeHtml as esc } from '@olmo/eval';
import { fmtTime } from '../callbacks.js';
import { lossChartSVG } from './loss-chart.js';
import { mdBold, mdTable, mdText, type Column } from './markdown.js';

export interface DemoLogRow {
  step: number; trainCE: number; trainPpl: number; heldOutCE?: number; gradNorm: number; lr: number; tokensPerSecond: number;
}

export interface DemoReportData {
  corpus: { trainTokens: number; heldOutTokens: number };
  tokenizer: { vocabSize: number; path: string };
  model: { dModel: number; nLayers: number; nHeads: number; seqLen: number; params: number };
  training: { firstStep: number; lastStep: number; tokensPerStep: number; seconds: number; finalTrainCE: number };
  unigram: { trainEntropy: number; heldOutCE: number };
  /** The in-loop evaluator: every `interval` steps on the first `instances` held-out instances. */
  inLoop: { interval: number | null; instances: number };
  /** The final evaluation after training. */
  final: { instances: number; tokens: number; crossEntropy: number; perplexity: number };
  /** Every training step (the chart uses all of them; the table a sample). */
  history: DemoLogRow[];
  samples: Array<{ prompt: string; text: string }>;
  totalSeconds: number;
  modelDir: string;
  metricsPath: string;
  /** The curation stage (absent with `olmo demo --no-curate`). */
  curation?: DemoCuration;
}

/** What the demo's curation stage did (@olmo/data curation/demo-stage.ts), report paths relative to the demo report. */
export interface DemoCuration {
  inputDocuments: number; outputDocuments: number; inputChars: number; outputChars: number; seconds: number;
  rules: Array<{ rule: string; action: 'removed documents' | 'deleted spans' | 'masked spans'; documents: number; spans: number; chars: number }>;
  reportHtml: string; reportMarkdown: string;
}

/** The curation summary: documents and characters in → out, and the time. */
export function curationLine(c: DemoCuration): string {
  const removed = c.inputChars - c.outputChars;
  const pct = c.inputChars ? (100 * removed) / c.inputChars : 0;
  return `tag → paragraph dedup → mix kept ${int(c.outputDocuments)} of ${int(c.inputDocuments)} training documents and ` +
    `${int(c.outputChars)} of ${int(c.inputChars)} characters (${int(removed)} removed, ${pct > 0 && pct < 0.01 ? '< 0.01' : pct.toFixed(2)}%) in ${fmtTime(c.seconds)}`;
}

interface CurationRow { rule: string; action: string; documents: string; spans: string; chars: string }
const curationRows = (c: DemoCuration): CurationRow[] => c.rules.map((r) => ({
  rule: r.rule, action: r.action, documents: r.action === 'removed documents' ? int(r.documents) : '', spans: r.action === 'removed documents' ? '' : int(r.spans), chars: int(r.chars),
}));
const CURATION_COLUMNS: Column<CurationRow>[] = [
  { title: 'rule', numeric: false, cell: (r) => r.rule },
  { title: 'action', numeric: false, cell: (r) => r.action },
  { title: 'documents', numeric: true, cell: (r) => r.documents },
  { title: 'spans', numeric: true, cell: (r) => r.spans },
  { title: 'characters', numeric: true, cell: (r) => r.chars },
];
const CURATION_NOTE = 'The training documents went through Dolma-style curation before the tokenizer and prepare: ' +
  'taggers gopher_v1, c4_v1, pii_regex_v2 and ft_lang_id_en_doc_v2, paragraph dedup with a Bloom filter, then a mix that ' +
  'removes documents by rule, deletes duplicate paragraphs and masks PII. The full report has a histogram per attribute and sample removed documents.';

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const f3 = (n: number) => n.toFixed(3);

/** The table shows about ten evenly spaced steps, every in-loop evaluation, and the last step. */
export function tableRows(history: DemoLogRow[]): DemoLogRow[] {
  const every = Math.max(1, Math.floor(history.length / 10));
  return history.filter((r, i) => i % every === 0 || i === history.length - 1 || r.heldOutCE !== undefined);
}

export function logColumns(d: DemoReportData): Column<DemoLogRow>[] {
  return [
    { title: 'step', numeric: true, cell: (r) => int(r.step) },
    { title: 'tokens', numeric: true, cell: (r) => int(r.step * d.training.tokensPerStep) },
    { title: 'train CE (nats/token)', numeric: true, cell: (r) => f3(r.trainCE) },
    { title: 'train ppl', numeric: true, cell: (r) => r.trainPpl.toFixed(1) },
    { title: `held-out CE, in-loop (${d.inLoop.instances} inst.)`, numeric: true, cell: (r) => (r.heldOutCE === undefined ? '' : f3(r.heldOutCE)) },
    { title: 'grad norm', numeric: true, cell: (r) => f3(r.gradNorm) },
    { title: 'lr', numeric: true, cell: (r) => r.lr.toExponential(2) },
    { title: 'tokens/s', numeric: true, cell: (r) => int(r.tokensPerSecond) },
  ];
}

interface HeldOutRow { what: string; when: string; instances: string; ce: string; ppl: string; measures: string }

/** The in-loop and final held-out numbers side by side, with the unigram baseline on the same tokens. */
export function heldOutRows(d: DemoReportData): HeldOutRow[] {
  const last = [...d.history].reverse().find((r) => r.heldOutCE !== undefined);
  const T = d.model.seqLen;
  const every = d.inLoop.interval ? `every ${d.inLoop.interval} steps` : 'eval_interval unset';
  return [
    {
      what: 'in-loop evaluator', when: last ? `step ${int(last.step)} (${every})` : `did not run (${every})`,
      instances: `first ${d.inLoop.instances} × ${T} tokens`, ce: last ? f3(last.heldOutCE!) : '–', ppl: last ? Math.exp(last.heldOutCE!).toFixed(1) : '–',
      measures: 'a cheap estimate during training, to watch the curve (the dots in the chart)',
    },
    {
      what: 'final evaluation', when: `after step ${int(d.training.lastStep)}`,
      instances: `first ${d.final.instances} × ${T} tokens (${int(d.final.tokens)} predicted)`, ce: f3(d.final.crossEntropy), ppl: d.final.perplexity.toFixed(1),
      measures: 'the headline number: more held-out text than the in-loop sample (which it contains), on the final weights',
    },
    {
      what: 'unigram baseline', when: 'no training',
      instances: `the same ${d.final.instances} instances`, ce: f3(d.unigram.heldOutCE), ppl: Math.exp(d.unigram.heldOutCE).toFixed(1),
      measures: 'training-token frequencies alone (add-one smoothed): what the model must beat',
    },
  ];
}

const HELD_OUT_COLUMNS: Column<HeldOutRow>[] = [
  { title: 'held-out measurement', numeric: false, cell: (r) => r.what },
  { title: 'when', numeric: false, cell: (r) => r.when },
  { title: 'held-out instances', numeric: false, cell: (r) => r.instances },
  { title: 'CE (nats/token)', numeric: true, cell: (r) => r.ce },
  { title: 'perplexity', numeric: true, cell: (r) => r.ppl },
  { title: 'what it is for', numeric: false, cell: (r) => r.measures },
];

const vsUnigram = (d: DemoReportData) => {
  const gain = d.unigram.heldOutCE - d.final.crossEntropy;
  return `${f3(Math.abs(gain))} nats/token ${gain >= 0 ? 'better' : 'worse'} than the unigram baseline`;
};

function summary(d: DemoReportData): Array<{ label: string; text: string; bold?: string[] }> {
  const t = d.training, steps = t.lastStep - t.firstStep + 1;
  return [
    { label: 'corpus', text: `Moby Dick + State of the Union; ${int(d.corpus.trainTokens)} training tokens, ${int(d.corpus.heldOutTokens)} held-out tokens (every 20th document)` },
    { label: 'tokenizer', text: `byte-level BPE, ${int(d.tokenizer.vocabSize)} tokens (${d.tokenizer.path})` },
    { label: 'model', text: `OLMo-1 architecture, d_model ${d.model.dModel}, ${d.model.nLayers} layers, ${d.model.nHeads} heads, seq ${d.model.seqLen}, ${(d.model.params / 1e6).toFixed(2)} M parameters` },
    { label: 'training', text: `${int(t.lastStep)} steps × ${int(t.tokensPerStep)} tokens in ${fmtTime(t.seconds)} (${int((steps * t.tokensPerStep) / t.seconds)} tokens/s)` },
    { label: 'unigram entropy of the training tokens', text: `${f3(d.unigram.trainEntropy)} nats/token; held-out unigram CE: ${f3(d.unigram.heldOutCE)}`, bold: [f3(d.unigram.trainEntropy), f3(d.unigram.heldOutCE)] },
    { label: 'final train CE', text: `${f3(t.finalTrainCE)}; held-out CE: ${f3(d.final.crossEntropy)} (perplexity ${d.final.perplexity.toFixed(1)}), ${vsUnigram(d)}`, bold: [f3(t.finalTrainCE), f3(d.final.crossEntropy)] },
    ...(d.curation ? [{ label: 'curation', text: curationLine(d.curation) }] : []),
    { label: 'total demo time', text: fmtTime(d.totalSeconds) },
  ];
}

/** Bolds the first occurrence of each number in `bold` (numbers need no escaping). */
function boldNumbers(text: string, bold: string[] | undefined, wrap: (s: string) => string, escape: (s: string) => string): string {
  let out = '', rest = text;
  for (const b of bold ?? []) {
    const i = rest.indexOf(b);
    if (i < 0) continue;
    out += escape(rest.slice(0, i)) + wrap(b);
    rest = rest.slice(i + b.length);
  }
  return out + escape(rest);
}

const HELD_OUT_NOTE = (d: DemoReportData) =>
  `Both held-out numbers are the mean next-token cross-entropy on held-out documents the model never trained on, ` +
  `read in ${d.model.seqLen}-token instances from the start of the held-out token files. They differ because the ` +
  `in-loop one uses the first ${d.inLoop.instances} instances only and may be from an earlier step; the final one ` +
  `uses ${d.final.instances} instances (including those ${d.inLoop.instances}) on the weights the run ends with.`;

export function demoMarkdown(d: DemoReportData, files: { chart: string }): string {
  const lines = summary(d).map((s) => `- ${s.label}: ${boldNumbers(s.text, s.bold, (b) => `**${b}**`, mdText)}`);
  const samples = d.samples.map((s) => {
    const text = s.text.replace(/\s+/g, ' ');
    return `> ${mdBold(s.prompt, text)}${mdText(text)}`;
  });
  return [
    '# olmo-ts demo run', '',
    ...lines, '',
    ...(d.curation ? [
      '## Curation', '',
      mdTable(CURATION_COLUMNS, curationRows(d.curation)), '',
      `${mdText(CURATION_NOTE)} Curation report: [${mdText(d.curation.reportMarkdown)}](${encodeURI(d.curation.reportMarkdown)}) ([HTML](${encodeURI(d.curation.reportHtml)})).`, '',
    ] : []),
    '## Held-out cross-entropy', '',
    mdTable(HELD_OUT_COLUMNS, heldOutRows(d)), '',
    mdText(HELD_OUT_NOTE(d)), '',
    '## Loss curve', '',
    `![cross-entropy per step: training batches, in-loop held-out, final held-out and the unigram baseline](${files.chart})`, '',
    '## Training log', '',
    mdTable(logColumns(d), tableRows(d.history)), '',
    '## Samples', '',
    samples.join('\n\n'), '',
    `Model: \`${d.modelDir}\` — try \`olmo generate --model ${d.modelDir} --tokenizer ${d.tokenizer.path} --prompt "..."\`. Metrics: \`${d.metricsPath}\`.`, '',
  ].join('\n');
}

function htmlTable<R>(id: string, cols: Column<R>[], rows: R[]): string {
  const cls = (c: Column<R>) => (c.numeric ? ' class="num"' : '');
  return `<table id="${id}"><thead><tr>${cols.map((c) => `<th${cls(c)}>${esc(c.title)}</th>`).join('')}</tr></thead>\n<tbody>${rows.map((r) => `<tr>${cols.map((c) => `<td${cls(c)}>${esc(c.cell(r))}</td>`).join('')}</tr>`).join('\n')}</tbody></table>`;
}

const STYLE = `body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;max-width:980px;margin:24px auto;padding:0 16px;color:#222;line-height:1.45}
h1{font-size:26px;margin:0 0 12px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #e3e3e3;padding-bottom:4px}
ul{padding-left:20px}li{margin:2px 0}table{border-collapse:collapse;margin:8px 0;font-size:14px}
th,td{border:1px solid #d5d5d5;padding:4px 9px;text-align:left;vertical-align:top}th{background:#f3f4f6;font-weight:600}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}figure{margin:8px 0}figcaption,.note{color:#555;font-size:13.5px;max-width:860px}
blockquote{margin:10px 0;padding:6px 12px;border-left:3px solid #c9d3e0;background:#f8fafc}code{font-size:13px}`;

export async function demoHtml(d: DemoReportData, chartSVG?: string): Promise<string> {
  const chart = chartSVG ?? (await lossChartSVG(d));
  const items = summary(d).map((s) => `<li>${esc(s.label)}: ${boldNumbers(s.text, s.bold, (b) => `<b>${b}</b>`, esc)}</li>`).join('\n');
  const samples = d.samples.map((s) => `<blockquote><strong>${esc(s.prompt)}</strong>${esc(s.text)}</blockquote>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>olmo-ts demo run</title><style>${STYLE}</style></head><body>
<h1>olmo-ts demo run</h1>
<ul id="summary">${items}</ul>
${d.curation ? `<h2>Curation</h2>
${htmlTable('curation', CURATION_COLUMNS, curationRows(d.curation))}
<p class="note">${esc(CURATION_NOTE)} Curation report: <a id="curation-report" href="${esc(encodeURI(d.curation.reportHtml))}">${esc(d.curation.reportHtml)}</a> (<a href="${esc(encodeURI(d.curation.reportMarkdown))}">Markdown</a>).</p>` : ''}
<h2>Held-out cross-entropy</h2>
${htmlTable('heldout', HELD_OUT_COLUMNS, heldOutRows(d))}
<p class="note">${esc(HELD_OUT_NOTE(d))}</p>
<h2>Loss curve</h2>
<figure>${chart}<figcaption>Cross-entropy in nats/token (lower is better) against the training step (bottom axis) and the training tokens seen (top axis). The line is each step's training batch; dots are the in-loop held-out evaluations; the diamond is the final held-out evaluation; the dashed line is the unigram baseline on the same held-out tokens.</figcaption></figure>
<h2>Training log</h2>
${htmlTable('log', logColumns(d), tableRows(d.history))}
<h2>Samples</h2>
${samples}
<p>Model: <code>${esc(d.modelDir)}</code> — try <code>olmo generate --model ${esc(d.modelDir)} --tokenizer ${esc(d.tokenizer.path)} --prompt "..."</code>. Metrics: <code>${esc(d.metricsPath)}</code>.</p>
</body></html>
`;
}
