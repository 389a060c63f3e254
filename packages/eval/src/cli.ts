/**
 * `olmo eval` (the trainer's `olmo` binary dispatches here):
 *   olmo eval --model DIR [--tokenizer FILE] --tasks piqa,hellaswag,... [--data PATH ...] [--limit N]
 *             [--batch-size N] [--metric M] [--pmi-dc] [--out results.json] [--html report.html] [--md report.md]
 *   olmo eval --model DIR [--tokenizer FILE] --perplexity FILE... [--seq-len N]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { defineCommand, formatHelp, runMain, type CliCommand, type CliIO as BaseIO, type CommandSpec } from '@olmo/tensor-cuda';
import { argError, configError } from './errors.js';
import { evaluateTask, type TaskResult } from './evaluate.js';
import { asScoringModel, type ScoringModel, type TokenizerLike } from './model.js';
import { evaluatePerplexity, perplexityInputFromPaths, type PerplexityResult } from './perplexity.js';
import { loadTask } from './readers.js';
import { markdownTable, renderHtml, reportJSON, type EvalReport } from './report.js';
import { METRIC_TYPES, type MetricType, TASKS } from './tasks.js';

export const EVAL_SPEC: CommandSpec = {
  name: 'olmo eval',
  summary: "evaluate a model on OLMo's downstream tasks and/or perplexity",
  details: `tasks: ${Object.keys(TASKS).join(', ')} (or "all")
--data: a data file or a folder (searched per task; OLMo's HF Arrow files preferred); repeat it, or give
        task=PATH to pin one task's file.
--perplexity: .txt files are texts; other files are token files (.npy with header, or raw OLMo memmaps).`,
  options: [
    { name: 'model', type: 'string', value: 'DIR', required: true, description: 'HF model folder' },
    { name: 'tokenizer', type: 'string', value: 'FILE', defaultText: 'DIR/tokenizer.json', description: 'HF tokenizer.json' },
    { name: 'tasks', type: 'list', value: 'a,b,...', default: [], description: 'downstream tasks (comma-separated, repeatable)' },
    { name: 'data', type: 'list', value: 'PATH', defaultText: '$OLMO_EVAL_DATA', description: 'task data file/folder, or task=PATH (repeatable)' },
    { name: 'perplexity', type: 'list', value: 'FILE', variadic: true, default: [], description: 'texts / token files for perplexity and bits-per-byte' },
    { name: 'limit', type: 'integer', value: 'N', min: 1, defaultText: 'all instances', description: 'first N instances per task' },
    { name: 'batch-size', type: 'integer', value: 'N', min: 1, defaultText: 'automatic', description: 'requests per forward pass' },
    { name: 'metric', type: 'string', choices: METRIC_TYPES, defaultText: "the task's OLMo metric", description: 'primary metric' },
    { name: 'pmi-dc', type: 'boolean', description: 'also score the unconditional (PMI-DC) requests' },
    { name: 'seq-len', type: 'integer', value: 'N', min: 1, defaultText: "the model's context length", description: 'perplexity window' },
    { name: 'token-dtype', type: 'string', choices: ['uint16', 'uint32'], defaultText: 'uint16 if the vocabulary fits, else uint32', description: 'dtype of raw token files' },
    { name: 'out', type: 'string', value: 'FILE.json', defaultText: 'none', description: 'write the results as JSON' },
    { name: 'html', type: 'string', value: 'FILE.html', defaultText: 'none', description: 'write an HTML report' },
    { name: 'md', type: 'string', value: 'FILE.md', defaultText: 'none', description: 'write the Markdown table' },
    { name: 'device', type: 'string', value: 'cpu|cuda:N', default: 'cpu', description: 'compute device' },
    { name: 'dtype', type: 'string', value: 'float32|bfloat16', default: 'float32', description: 'weight storage of the evaluated model (activations stay float32)' },
    { name: 'quantize', type: 'string', value: 'q8_0', defaultText: 'none', description: "quantize the linear layers' weights" },
    { name: 'no-progress', type: 'boolean', description: 'no progress line on stderr (default: shown on a TTY)' },
  ],
  examples: ['olmo eval --model runs/demo/model --tasks piqa,hellaswag --data ../shared/eval --limit 100'],
};

/** The generated help of EVAL_SPEC (what `olmo eval --help` prints). */
export const EVAL_USAGE = formatHelp(EVAL_SPEC);

export interface CliIO extends BaseIO {
  /** Injection points (tests, embedding): load a model / tokenizer instead of @olmo/model / @olmo/tokenizer. */
  loadModel?: (dir: string, opts: { device: string; dtype?: string; quantize?: string }) => Promise<unknown>;
  loadTokenizer?: (file: string) => Promise<TokenizerLike>;
}

interface Args {
  model: string;
  tokenizer?: string;
  tasks: string[];
  data: string[];
  limit?: number;
  batchSize?: number;
  metric?: MetricType;
  pmiDc: boolean;
  out?: string;
  html?: string;
  md?: string;
  perplexity: string[];
  seqLen?: number;
  tokenDtype?: 'uint16' | 'uint32';
  device: string;
  /** Weight storage of the evaluated model (OLMo.fromPretrained's dtype / quantize). */
  dtype?: string;
  quantize?: string;
  progress?: boolean;
}

function toArgs(v: Record<string, unknown>): Args {
  return {
    model: v.model as string, tokenizer: v.tokenizer as string | undefined,
    tasks: (v.tasks as string[]).flatMap((t) => t.split(',')).map((t) => t.trim()).filter(Boolean),
    data: (v.data as string[] | undefined) ?? [], limit: v.limit as number | undefined, batchSize: v['batch-size'] as number | undefined,
    metric: v.metric as MetricType | undefined, pmiDc: v['pmi-dc'] as boolean, out: v.out as string | undefined, html: v.html as string | undefined,
    md: v.md as string | undefined, perplexity: v.perplexity as string[], seqLen: v['seq-len'] as number | undefined,
    tokenDtype: v['token-dtype'] as 'uint16' | 'uint32' | undefined, device: v.device as string, dtype: v.dtype as string | undefined, quantize: v.quantize as string | undefined, progress: v['no-progress'] ? false : undefined,
  };
}

async function defaultLoadModel(dir: string, opts: { device: string; dtype?: string; quantize?: string }): Promise<unknown> {
  const mod = (await import('@olmo/model')) as Record<string, unknown>;
  const OLMo = mod.OLMo as { fromPretrained?: (d: string, o: object) => Promise<unknown> } | undefined;
  if (!OLMo || typeof OLMo.fromPretrained !== 'function') throw configError('@olmo/model does not provide OLMo.fromPretrained', 'update @olmo/model');
  // unknown dtype / quantize values are typed errors from fromPretrained
  return OLMo.fromPretrained(dir, { device: opts.device, dtype: opts.dtype ?? 'float32', ...(opts.quantize ? { quantize: opts.quantize } : {}) });
}

async function defaultLoadTokenizer(file: string): Promise<TokenizerLike> {
  const { Tokenizer } = await import('@olmo/tokenizer');
  return Tokenizer.fromFile(file);
}

function dataFor(task: string, data: string[]): string | undefined {
  for (const d of data) {
    const eq = d.indexOf('=');
    if (eq > 0 && !d.slice(0, eq).includes('/') && d.slice(0, eq) === task) return d.slice(eq + 1);
  }
  return data.find((d) => !/^[a-z_]+=/.test(d));
}

/** `olmo eval` as a table entry of the `olmo` command (io may carry loadModel / loadTokenizer). */
export const evalCommand: CliCommand = defineCommand(EVAL_SPEC, async ({ values }, t) => {
  const io = t.io as CliIO;
  const out = (s: string) => t.write(s);
  const args = toArgs(values);
  if (!args.tasks.length && !args.perplexity.length) throw argError('pass --tasks and/or --perplexity', '`olmo eval --help` lists the options');
  const tasks = args.tasks.includes('all') ? Object.keys(TASKS) : args.tasks;
  const tokFile = args.tokenizer ?? path.join(args.model, 'tokenizer.json');
  const tokenizer = await (io.loadTokenizer ?? defaultLoadTokenizer)(tokFile);
  const rawModel = await (io.loadModel ?? defaultLoadModel)(args.model, { device: args.device, dtype: args.dtype, quantize: args.quantize });
  const model: ScoringModel = asScoringModel(rawModel);
  // load every task first so a bad name or file fails before any compute
  const loaded = tasks.map((t) => loadTask(t, { path: dataFor(t, args.data), metric: args.metric }));
  const results: TaskResult[] = [];
  for (const task of loaded) {
    const r = await evaluateTask(model, tokenizer, task, { batchSize: args.batchSize, limit: args.limit, pmiDc: args.pmiDc, progress: args.progress });
    results.push(r);
  }
  const ppl: (PerplexityResult & { label: string })[] = [];
  if (args.perplexity.length) {
    const r = await evaluatePerplexity(model, tokenizer, perplexityInputFromPaths(args.perplexity, args.tokenDtype ?? ((tokenizer.vocabSize ?? 0) > 65536 ? 'uint32' : 'uint16')), { seqLen: args.seqLen, batchSize: args.batchSize, progress: args.progress });
    ppl.push({ label: args.perplexity.map((p) => path.basename(p)).join(','), ...r });
  }
  out(markdownTable(results, ppl));
  const report: EvalReport = { model: args.model, tokenizer: tokFile, createdAt: new Date().toISOString(), tasks: results, perplexity: ppl.length ? ppl : undefined };
  const write = (file: string, text: string) => {
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    writeFileSync(file, text);
  };
  if (args.out) write(args.out, reportJSON(report));
  if (args.html) write(args.html, await renderHtml(report));
  if (args.md) write(args.md, markdownTable(results, ppl));
  return 0;
});

/** Runs `olmo eval ...` as a program: 0 ok, 1 error, 2 usage; errors are printed in the standard format. */
export function runEvalCli(argv: string[], io: CliIO = {}): Promise<number> {
  return runMain(evalCommand, argv[0] === 'eval' ? argv.slice(1) : argv, io);
}
