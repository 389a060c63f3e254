/**
 * Readers for the published formats of the evaluation sets, and `loadTask`, which finds the best file
 * for a task under a path (a file or a folder) — OLMo's own HF Arrow files first.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { configError, dataError, notFound, OlmoError } from './errors.js';
import { type Doc, type Instance, type MetricType, TASKS, type TaskSpec, resolveTaskName } from './tasks.js';

export type DataFormat = 'olmo-hf-arrow' | 'jsonl' | 'piqa-original' | 'hellaswag-text';

/** A task with its rendered documents. */
export interface Task {
  name: string;
  metric: MetricType;
  randomBaseline: number;
  instances: Instance[];
  source: { path: string; format: DataFormat };
  spec: TaskSpec;
}

export interface LoadTaskOptions {
  /** A data file, or a folder to search (e.g. ../shared/eval or ../shared/eval/piqa). Default: $OLMO_EVAL_DATA. */
  path?: string;
  /** Override the task's default metric. */
  metric?: MetricType;
  /** Keep only the first N documents. */
  limit?: number;
}

// ---------------------------------------------------------------- raw record readers

function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(plain);
  const o = v as Record<string, unknown> & { toJSON?: () => unknown; toArray?: () => unknown[] };
  if (typeof o.toArray === 'function' && !(o as object).constructor?.name?.includes('Struct')) {
    // arrow Vector (list column)
    return Array.from(o.toArray() as ArrayLike<unknown>, plain);
  }
  if (typeof o.toJSON === 'function') return plain(o.toJSON());
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(o)) out[k] = plain(x);
  return out;
}

/** Reads an HF `datasets` save_to_disk Arrow file (IPC stream format; the file format works too). */
export function readArrowRecords(file: string): Doc[] {
  let table;
  try {
    table = tableFromIPC(readFileSync(file));
  } catch (e) {
    throw dataError(`${file}: not a readable Arrow IPC file (${(e as Error).message})`);
  }
  const docs: Doc[] = [];
  for (let i = 0; i < table.numRows; i++) {
    const row = table.get(i);
    if (!row) throw dataError(`${file}: row ${i} is missing`);
    docs.push(plain(row.toJSON()) as Doc);
  }
  return docs;
}

/** JSON Lines; blank lines are skipped, a malformed line is a DATA_CORRUPT error naming the line. */
export function readJsonlRecords(file: string): Doc[] {
  const text = readFileSync(file, 'utf8');
  const docs: Doc[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line) continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw dataError(`${file}:${i + 1}: invalid JSON (${(e as Error).message})`);
    }
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw dataError(`${file}:${i + 1}: a record must be a JSON object`);
    docs.push(v as Doc);
  }
  return docs;
}

/** PIQA originals: `valid.jsonl` (goal, sol1, sol2) + `valid-labels.lst` (one 0/1 per line) beside it. */
export function readPiqaOriginal(file: string, labelsFile?: string): Doc[] {
  const docs = readJsonlRecords(file);
  const lf = labelsFile ?? file.replace(/\.jsonl$/, '-labels.lst');
  if (!existsSync(lf)) throw notFound(`PIQA labels file ${lf} not found`, 'the originals ship labels as <split>-labels.lst next to <split>.jsonl');
  const labels = readFileSync(lf, 'utf8').split('\n').map((s) => s.trim()).filter((s) => s.length > 0);
  if (labels.length !== docs.length) throw dataError(`${lf}: ${labels.length} labels for ${docs.length} records`);
  return docs.map((d, i) => {
    if (!/^[01]$/.test(labels[i]!)) throw dataError(`${lf}:${i + 1}: label must be 0 or 1, got ${JSON.stringify(labels[i])}`);
    return { ...d, label: Number(labels[i]) };
  });
}

/** The 6-line HellaSwag text: `activity_label: ctx`, gold index, 4 endings. */
export function readHellaswagText(file: string): Doc[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  if (lines.length % 6 !== 0) throw dataError(`${file}: ${lines.length} lines is not a multiple of 6 (ctx, label, 4 endings per item)`);
  const docs: Doc[] = [];
  for (let i = 0; i < lines.length; i += 6) {
    const label = lines[i + 1]!.trim();
    if (!/^[0-3]$/.test(label)) throw dataError(`${file}:${i + 2}: gold index must be 0-3, got ${JSON.stringify(label)}`);
    docs.push({ ctx: lines[i]!, label: Number(label), endings: lines.slice(i + 2, i + 6) });
  }
  return docs;
}

// ---------------------------------------------------------------- finding files

function walk(dir: string, depth: number, out: string[]): void {
  if (depth < 0) return;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const e of entries.sort()) {
    const p = path.join(dir, e);
    let st;
    try {
      st = statSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory()) walk(p, depth - 1, out);
    else out.push(p);
  }
}

function detectFormat(file: string): DataFormat {
  if (file.endsWith('.arrow')) return 'olmo-hf-arrow';
  if (file.endsWith('.txt')) return 'hellaswag-text';
  if (/valid(ation)?\.jsonl$|train\.jsonl$|test\.jsonl$/.test(path.basename(file)) && existsSync(file.replace(/\.jsonl$/, '-labels.lst'))) return 'piqa-original';
  if (file.endsWith('.jsonl') || file.endsWith('.json')) return 'jsonl';
  throw configError(`${file}: unknown evaluation data format`, 'use .arrow (OLMo HF datasets), .jsonl (llm-foundry / originals) or the HellaSwag .txt');
}

/**
 * Picks the data file for a task under `root`: OLMo's HF Arrow file, then originals, then llm-foundry JSONL,
 * then the HellaSwag text. Returns undefined when nothing matches.
 */
export function findTaskFile(spec: TaskSpec, root: string): { path: string; format: DataFormat } | undefined {
  const files: string[] = [];
  const sub = path.join(root, spec.dir);
  walk(existsSync(sub) && statSync(sub).isDirectory() ? sub : root, 7, files);
  const rel = (f: string) => f.split(path.sep).join('/');
  if (spec.hfDataset) {
    const arrow = files.find((f) => rel(f).includes(`/${spec.hfDataset}/validation/`) && f.endsWith('.arrow'));
    if (arrow) return { path: arrow, format: 'olmo-hf-arrow' };
  }
  if (spec.name === 'piqa') {
    const orig = files.find((f) => /\/valid\.jsonl$/.test(rel(f)) && existsSync(f.replace(/\.jsonl$/, '-labels.lst')));
    if (orig) return { path: orig, format: 'piqa-original' };
  }
  if (spec.foundryFile) {
    const j = files.find((f) => path.basename(f) === spec.foundryFile);
    if (j) return { path: j, format: 'jsonl' };
  }
  if (spec.name === 'hellaswag') {
    const t = files.find((f) => /hellaswag.*\.txt$/.test(path.basename(f)));
    if (t) return { path: t, format: 'hellaswag-text' };
    const j = files.find((f) => /hellaswag.*\.jsonl$/.test(path.basename(f)));
    if (j) return { path: j, format: 'jsonl' };
  }
  return undefined;
}

export function readRecords(file: string, format: DataFormat): Doc[] {
  switch (format) {
    case 'olmo-hf-arrow': return readArrowRecords(file);
    case 'jsonl': return readJsonlRecords(file);
    case 'piqa-original': return readPiqaOriginal(file);
    case 'hellaswag-text': return readHellaswagText(file);
  }
}

export function getTaskSpec(name: string): TaskSpec {
  const n = resolveTaskName(name);
  if (!n) throw configError(`unknown task ${JSON.stringify(name)}`, `known tasks: ${Object.keys(TASKS).join(', ')}`);
  return TASKS[n]!;
}

/** Loads a task's documents and renders OLMo's prompts. */
export function loadTask(name: string, opts: LoadTaskOptions = {}): Task {
  const spec = getTaskSpec(name);
  const p = opts.path ?? process.env.OLMO_EVAL_DATA;
  if (!p) throw configError(`no data path for task ${spec.name}`, 'pass { path } / --data, or set OLMO_EVAL_DATA to a folder like ../shared/eval');
  if (!existsSync(p)) throw notFound(`evaluation data path ${p} does not exist`, 'pass a data file or a folder containing it');
  let source: { path: string; format: DataFormat } | undefined;
  if (statSync(p).isDirectory()) {
    source = findTaskFile(spec, p);
    if (!source) throw notFound(`no data file for task ${spec.name} under ${p}`, `expected e.g. ${spec.dir}/olmo-hf_datasets/${spec.hfDataset ?? '…'}/validation/*.arrow or llm-foundry/${spec.foundryFile ?? '…'}`);
  } else {
    source = { path: p, format: detectFormat(p) };
  }
  const docs = readRecords(source.path, source.format);
  if (docs.length === 0) throw dataError(`${source.path}: no records`);
  const n = opts.limit !== undefined ? Math.min(opts.limit, docs.length) : docs.length;
  const instances: Instance[] = [];
  for (let i = 0; i < n; i++) {
    try {
      instances.push(spec.render(docs[i]!, i));
    } catch (e) {
      if (e instanceof OlmoError) throw dataError(`${source.path}: record ${i}: ${e.message}`, e.hint);
      throw e;
    }
  }
  return { name: spec.name, metric: opts.metric ?? spec.metric, randomBaseline: spec.randomBaseline, instances, source, spec };
}
