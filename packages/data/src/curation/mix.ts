/**
 * `olmo data mix` — Dolma's mixer (src/shard.rs, src/filters.rs) over local files:
 * per stream, documents files (globs) are read with their attribute files
 * (attributes/<name>/<same relative path>, which must line up line by line, same ids); the attributes
 * are merged into the document under "attributes"; the filter keeps a document when no include is
 * given or any include expression matches, and then no exclude expression matches (JSONPath, as
 * Dolma's `syntax: jsonpath`); span replacements rewrite the text; documents whose stripped text is
 * shorter than output.min_text_length bytes are dropped. Outputs are shards
 * <output.path>/<stream>-NNNN.jsonl.gz of about output.max_size_in_bytes input bytes.
 *
 * Differences from Dolma, on purpose: the output document is the INPUT LINE VERBATIM when nothing was
 * replaced (Dolma re-serializes and adds "attributes" and metadata.provenance; turn those on with
 * output.keep_attributes / output.provenance), so untouched documents stay byte-identical and go
 * straight into `olmo data prepare`. `sample_rate` per stream (an extension) keeps each document
 * floor(rate) times plus once more with probability frac(rate), decided by a hash of (seed, id).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { badArg, DataError } from '../errors.js';
import { attributesPathFor } from './attributes.js';
import { AtomicLineWriter, expandGlobs, parseDocument, readLines, type RawLine } from './documents.js';
import { compilePath, type CompiledPath } from './json-path.js';
import { defaultErr, Progress } from './progress.js';
import { cpLen, utf8Len } from './pystr.js';
import { replaceSpans, type Replacement } from './span-replace.js';
import { whitespaceTokenCount } from './taggers/whitespace-tokenizer.js';
import { rankShare, type RankShare } from './ranks.js';
import { bool, type Cfg, int, list, loadYamlConfig, num, obj, str } from './yaml-config.js';

export interface SpanReplacementConfig { span: string; minScore?: number; maxScore?: number; replacement: string }
export interface StreamConfig {
  name: string;
  documents: string[];
  attributes: string[];
  include?: string[];
  exclude?: string[];
  spanReplacement?: SpanReplacementConfig[];
  output: { path: string; maxSizeInBytes?: number; minTextLength?: number; discardFields?: string[]; keepAttributes?: boolean; provenance?: boolean };
  sampleRate?: number;
  seed?: number;
  /** where each expression came from (e.g. 'filter.exclude[0]' → 'mix.yaml:12'), for error messages */
  locations?: Record<string, string>;
}

export interface RuleStats { documents: number; chars: number; tokens: number; samples: { id: string; text: string }[] }
export interface StreamStats {
  name: string;
  inputDocuments: number; inputChars: number; outputDocuments: number; outputChars: number;
  removedBy: Record<string, RuleStats>;
  replacedBy: Record<string, { spans: number; chars: number }>;
  outputs: string[]; skippedShards: number;
}

const SAMPLES_PER_RULE = 3;

function sampleCopies(rate: number, seed: number, id: string): number {
  if (rate === 1) return 1;
  const h = createHash('sha256').update(`${seed}\u0000${id}`).digest();
  const u = (h.readUInt32BE(0) * 2097152 + (h.readUInt32BE(4) >>> 11)) / 9007199254740992;
  const whole = Math.floor(rate);
  return whole + (u < rate - whole ? 1 : 0);
}

function shardInputs(files: string[], maxBytes: number): string[][] {
  const shards: string[][] = [];
  let cur: string[] = [];
  let size = 0;
  for (const f of files) {
    const s = statSync(f).size;
    if (cur.length > 0 && size + s > maxBytes) { shards.push(cur); cur = []; size = 0; }
    cur.push(f);
    size += s;
  }
  if (cur.length) shards.push(cur);
  return shards;
}

interface Compiled { include: CompiledPath[]; exclude: CompiledPath[]; replace: { path: CompiledPath; cfg: SpanReplacementConfig }[] }

function parseAttrLine(line: RawLine, file: string): { id: unknown; attributes: Record<string, unknown> } {
  let a: unknown;
  try {
    a = JSON.parse(line.text);
  } catch (e) {
    throw new DataError('DATA_CORRUPT', `line ${line.lineNo}: malformed JSON in attributes (${(e as Error).message})`, 're-run the tagger for this file', `${file}:${line.lineNo}`);
  }
  const o = a as { id?: unknown; attributes?: unknown };
  if (typeof o !== 'object' || o === null || typeof o.attributes !== 'object' || o.attributes === null) {
    throw new DataError('DATA_CORRUPT', `line ${line.lineNo}: missing "attributes" object`, 're-run the tagger for this file', `${file}:${line.lineNo}`);
  }
  return o as { id: unknown; attributes: Record<string, unknown> };
}

async function mixShard(stream: StreamConfig, c: Compiled, inputs: string[], output: string, stats: StreamStats): Promise<void> {
  const w = new AtomicLineWriter(output);
  const minText = stream.output.minTextLength ?? 0;
  const remove = (rule: string, id: string, text: string): void => {
    const r = (stats.removedBy[rule] ??= { documents: 0, chars: 0, tokens: 0, samples: [] });
    r.documents++;
    r.chars += cpLen(text);
    r.tokens += whitespaceTokenCount(text) - 1;
    if (r.samples.length < SAMPLES_PER_RULE) r.samples.push({ id, text: text.length > 600 ? `${text.slice(0, 600)}…` : text });
  };
  try {
    for (const file of inputs) {
      const attrFiles = stream.attributes.map((a) => attributesPathFor(file, a));
      for (const af of attrFiles) if (!existsSync(af)) throw new DataError('NOT_FOUND', `attributes file missing for ${file}`, 'run olmo data tag/dedupe for this experiment first', af);
      const attrIters = attrFiles.map((af) => readLines(af)[Symbol.asyncIterator]());
      try {
        for await (const line of readLines(file)) {
          const doc = parseDocument(line, file);
          const merged: Record<string, unknown> = {};
          for (let i = 0; i < attrIters.length; i++) {
            const nx = await attrIters[i]!.next();
            if (nx.done) throw new DataError('DATA_CORRUPT', `attributes file has fewer lines than its documents file (no line ${line.lineNo})`, 'the attributes must mirror the documents line by line; re-run the tagger', `${attrFiles[i]}:${line.lineNo}`);
            const a = parseAttrLine(nx.value, attrFiles[i]!);
            if (a.id !== doc.id) throw new DataError('DATA_CORRUPT', `line ${line.lineNo}: attributes id ${JSON.stringify(a.id)} != document id ${JSON.stringify(doc.id)}`, 'the attributes must mirror the documents line by line; re-run the tagger', `${attrFiles[i]}:${line.lineNo}`);
            Object.assign(merged, a.attributes);
          }
          const id = String(doc.id);
          stats.inputDocuments++;
          stats.inputChars += cpLen(doc.text);
          const view = { ...doc, attributes: { ...(doc.attributes as Record<string, unknown> | undefined ?? {}), ...merged } };
          let keep = c.include.length === 0;
          for (const p of c.include) if (p.eval(view).length > 0) { keep = true; break; }
          if (!keep) { remove('include: no expression matched', id, doc.text); continue; }
          let excludedBy: string | undefined;
          for (const p of c.exclude) if (p.eval(view).length > 0) { excludedBy = p.source; break; }
          if (excludedBy) { remove(`exclude: ${excludedBy}`, id, doc.text); continue; }
          const reps: Replacement[] = [];
          for (const { path: sp, cfg } of c.replace) {
            for (const list of sp.eval(view)) {
              if (!Array.isArray(list)) continue;
              for (const s of list) {
                if (!Array.isArray(s) || s.length < 3) continue;
                const [a, b, score] = s as number[];
                if (score! >= (cfg.minScore ?? -Infinity) && score! < (cfg.maxScore ?? Infinity)) reps.push({ start: a!, end: b!, replacement: cfg.replacement, rule: cfg.span });
              }
            }
          }
          const { text, applied } = replaceSpans(doc.text, reps);
          for (const r of applied) {
            const x = (stats.replacedBy[r.rule] ??= { spans: 0, chars: 0 });
            x.spans++;
            x.chars += r.end - r.start;
          }
          if (utf8Len(text.replace(/^\p{White_Space}+|\p{White_Space}+$/gu, '')) < minText) { remove(`output.min_text_length ${minText}`, id, text); continue; }
          const copies = sampleCopies(stream.sampleRate ?? 1, stream.seed ?? 0, id);
          if (copies === 0) { remove(`sample_rate ${stream.sampleRate}`, id, text); continue; }
          const changed = applied.length > 0 || stream.output.keepAttributes || stream.output.provenance || (stream.output.discardFields?.length ?? 0) > 0;
          let outLine = line.text;
          if (changed) {
            const o: Record<string, unknown> = { ...doc, text };
            if (stream.output.keepAttributes) o.attributes = view.attributes;
            if (stream.output.provenance) o.metadata = { ...(doc.metadata ?? {}), provenance: `${path.basename(file)}:${line.lineNo}` };
            for (const fld of stream.output.discardFields ?? []) delete o[fld];
            outLine = JSON.stringify(o);
          }
          for (let k = 0; k < copies; k++) {
            await w.write(outLine);
            stats.outputDocuments++;
            stats.outputChars += cpLen(text);
          }
        }
        for (let i = 0; i < attrIters.length; i++) {
          const nx = await attrIters[i]!.next();
          if (!nx.done) throw new DataError('DATA_CORRUPT', 'attributes file has more lines than its documents file', 'the attributes must mirror the documents line by line; re-run the tagger', `${attrFiles[i]}:${nx.value.lineNo}`);
        }
      } finally {
        // close the attribute streams (an error may leave them half read)
        await Promise.all(attrIters.map((it) => it.return?.(undefined)));
      }
    }
    await w.commit();
  } catch (e) {
    w.abort();
    throw e;
  }
}

export interface MixResult { streams: StreamStats[]; seconds: number }

export async function runMix(streams: readonly StreamConfig[], opts: { configFile?: string; resume?: boolean; quiet?: boolean; err?: (s: string) => void; share?: RankShare } = {}): Promise<MixResult> {
  const share = opts.share ?? rankShare();
  const t0 = performance.now();
  const where = opts.configFile ?? 'mix options';
  const results: StreamStats[] = [];
  for (const s of streams) {
    if (!/^[A-Za-z0-9_.-]+$/.test(s.name)) throw new DataError('CONFIG_INVALID', `stream name '${s.name}' must be file-name safe`, 'letters, digits, _ . -', where);
    const at = (key: string): string => `${s.locations?.[key] ?? where}: stream ${s.name} ${key}`;
    const c: Compiled = {
      include: (s.include ?? []).map((e, i) => compilePath(e, at(`filter.include[${i}]`))),
      exclude: (s.exclude ?? []).map((e, i) => compilePath(e, at(`filter.exclude[${i}]`))),
      replace: (s.spanReplacement ?? []).map((r, i) => ({ path: compilePath(r.span, at(`span_replacement[${i}]`)), cfg: r })),
    };
    if (s.sampleRate !== undefined && !(s.sampleRate >= 0)) throw new DataError('CONFIG_INVALID', `stream ${s.name}: sample_rate must be ≥ 0`, 'e.g. 0.5 to halve, 2 to double', where);
    const files = expandGlobs(s.documents);
    const shards = shardInputs(files, s.output.maxSizeInBytes ?? 1e9);
    const stats: StreamStats = { name: s.name, inputDocuments: 0, inputChars: 0, outputDocuments: 0, outputChars: 0, removedBy: {}, replacedBy: {}, outputs: [], skippedShards: 0 };
    const progress = new Progress(`mix ${s.name}`, shards.length, opts.err ?? defaultErr, opts.quiet);
    for (let i = 0; i < shards.length; i++) {
      if (i % share.worldSize !== share.rank) continue; // under mpirun each rank writes every W-th shard
      const output = path.resolve(s.output.path, `${s.name}-${String(i).padStart(4, '0')}.jsonl.gz`);
      stats.outputs.push(output);
      if ((opts.resume ?? true) && existsSync(output)) { stats.skippedShards++; progress.add({ documents: 0, bytes: 0, file: output, skipped: true }); continue; }
      const before = stats.inputDocuments;
      await mixShard(s, c, shards[i]!, output, stats);
      progress.add({ documents: stats.inputDocuments - before, bytes: shards[i]!.reduce((a, f) => a + statSync(f).size, 0), file: output });
    }
    results.push(stats);
  }
  return { streams: results, seconds: (performance.now() - t0) / 1000 };
}

const STREAM_KEYS = ['name', 'documents', 'attributes', 'filter', 'span_replacement', 'output', 'sample_rate', 'seed', 'compression'];

function cfgErr(file: string, msg: string): DataError {
  return new DataError('CONFIG_INVALID', msg, 'see the mix config in the @olmo/data README', file);
}

/** Reads a Dolma mixer config (YAML or JSON): { streams: [...], processes? }. */
export function loadMixConfig(file: string): StreamConfig[] {
  const cfg = loadYamlConfig(file, ['streams', 'processes', 'work_dir']);
  const raw = cfg.streams;
  if (!Array.isArray(raw) || raw.length === 0) throw cfgErr(file, "'streams' must be a non-empty list");
  return raw.map((st, i) => {
    if (typeof st !== 'object' || st === null) throw cfgErr(file, `streams[${i}] must be a mapping`);
    const s = st as Cfg;
    for (const k of Object.keys(s)) if (!STREAM_KEYS.includes(k)) throw cfgErr(file, `streams[${i}]: unknown key '${k}' (valid: ${STREAM_KEYS.join(', ')})`);
    const name = str(s, 'name', file);
    const documents = list(s, 'documents', file);
    const out = obj(s, 'output', file);
    if (!name || !documents || !out) throw cfgErr(file, `streams[${i}] needs name, documents and output`);
    const filter = obj(s, 'filter', file) ?? {};
    const syntax = str(filter, 'syntax', file);
    if (syntax && syntax !== 'jsonpath') throw cfgErr(file, `streams[${i}].filter.syntax '${syntax}' is not supported (only jsonpath)`);
    const reps = s.span_replacement;
    if (reps !== undefined && !Array.isArray(reps)) throw cfgErr(file, `streams[${i}].span_replacement must be a list`);
    const outPath = str(out, 'path', file);
    if (!outPath) throw cfgErr(file, `streams[${i}].output.path is required`);
    const base = path.dirname(path.resolve(file));
    const rel = (p: string): string => (path.isAbsolute(p) ? p : path.resolve(base, p));
    // file:line of each expression (first line of the file that contains its text)
    const rawLines = readFileSync(file, 'utf8').split('\n');
    const locations: Record<string, string> = {};
    const locate = (key: string, expr: string): void => {
      const n = rawLines.findIndex((l) => l.includes(expr));
      if (n >= 0) locations[key] = `${file}:${n + 1}`;
    };
    (list(filter, 'include', file) ?? []).forEach((e, j) => locate(`filter.include[${j}]`, e));
    (list(filter, 'exclude', file) ?? []).forEach((e, j) => locate(`filter.exclude[${j}]`, e));
    ((reps as Cfg[] | undefined) ?? []).forEach((r, j) => { if (typeof r?.span === 'string') locate(`span_replacement[${j}]`, r.span); });
    return {
      locations,
      name, documents: documents.map(rel), attributes: list(s, 'attributes', file) ?? [],
      include: list(filter, 'include', file), exclude: list(filter, 'exclude', file),
      spanReplacement: (reps as Cfg[] | undefined)?.map((r, j) => {
        const span = str(r, 'span', file);
        const replacement = r.replacement;
        if (!span || typeof replacement !== 'string') throw cfgErr(file, `streams[${i}].span_replacement[${j}] needs span and replacement`);
        return { span, replacement, minScore: num(r, 'min_score', file), maxScore: num(r, 'max_score', file) };
      }),
      output: {
        path: rel(outPath), maxSizeInBytes: num(out, 'max_size_in_bytes', file), minTextLength: int(out, 'min_text_length', file),
        discardFields: list(out, 'discard_fields', file), keepAttributes: bool(out, 'keep_attributes', file), provenance: bool(out, 'provenance', file),
      },
      sampleRate: num(s, 'sample_rate', file), seed: int(s, 'seed', file),
    };
  });
}

export const MIX_USAGE = `usage: olmo data mix --config mix.yaml [--no-resume] [--quiet]
       olmo data mix --name NAME --documents GLOB... --attributes NAME... --output DIR [--include EXPR]... [--exclude EXPR]...
                     [--replace JSONPATH=REPLACEMENT]... [--min-score S] [--sample-rate R] [--seed N]
  --config FILE        Dolma mixer config: streams[{name, documents, attributes, filter{include, exclude},
                       span_replacement[{span, min_score, max_score, replacement}], output{path, max_size_in_bytes,
                       min_text_length, discard_fields, keep_attributes, provenance}, sample_rate, seed}]
  --name NAME          stream name (output shards NAME-0000.jsonl.gz)                 (default: mix)
  --documents GLOB     documents files (repeatable)                                   (required without --config)
  --attributes NAME    attribute folders to merge (attributes/NAME/...; repeatable)   (default: none)
  --output DIR         output folder                                                  (required without --config)
  --include EXPR       keep only documents matching any include JSONPath (repeatable) (default: keep all)
  --exclude EXPR       drop documents matching any exclude JSONPath (repeatable)      (default: none)
  --replace P=R        replace spans selected by JSONPath P with R ("{}" = old text)  (default: none)
  --min-score S        minimum span score for --replace                               (default: none)
  --min-text-length N  drop documents whose stripped text is shorter (bytes)          (default: 0)
  --max-size BYTES     input bytes per output shard                                   (default: 1000000000)
  --sample-rate R      keep each document floor(R) + Bernoulli(frac(R)) times          (default: 1)
  --seed N             sampling seed                                                  (default: 0)
  --rank R --world-size W  write output shards i with i % W == R (default: from mpirun's environment, else 0 / 1)
  --no-resume          rewrite finished shards                                        (default: skip them)
  --quiet              no progress on stderr
  -h, --help           this help`;

type IO = { out?: (s: string) => void; err?: (s: string) => void };

export async function cmdMix(argv: string[], io: IO = {}): Promise<number> {
  const out = io.out ?? ((s: string) => process.stdout.write(`${s}\n`));
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' }, name: { type: 'string' }, documents: { type: 'string', multiple: true }, attributes: { type: 'string', multiple: true },
      output: { type: 'string' }, include: { type: 'string', multiple: true }, exclude: { type: 'string', multiple: true }, replace: { type: 'string', multiple: true },
      'min-score': { type: 'string' }, 'min-text-length': { type: 'string' }, 'max-size': { type: 'string' }, 'sample-rate': { type: 'string' }, seed: { type: 'string' },
      'no-resume': { type: 'boolean' }, quiet: { type: 'boolean' }, report: { type: 'string' }, rank: { type: 'string' }, 'world-size': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { out(MIX_USAGE); return 0; }
  const n = (v: string | undefined, name: string): number | undefined => {
    if (v === undefined) return undefined;
    const x = Number(v);
    if (!Number.isFinite(x) || x < 0) throw badArg(`--${name} must be a non-negative number, got ${v}`);
    return x;
  };
  let streams: StreamConfig[];
  if (values.config) streams = loadMixConfig(values.config);
  else {
    if (!values.documents?.length || !values.output) throw badArg('mix needs --config, or --documents and --output', MIX_USAGE);
    streams = [{
      name: values.name ?? 'mix', documents: values.documents, attributes: values.attributes ?? [], include: values.include, exclude: values.exclude,
      spanReplacement: (values.replace ?? []).map((r) => {
        const eq = r.indexOf('=');
        if (eq < 0) throw badArg(`--replace must be JSONPATH=REPLACEMENT, got ${r}`);
        return { span: r.slice(0, eq), replacement: r.slice(eq + 1), minScore: n(values['min-score'], 'min-score') };
      }),
      output: { path: values.output, maxSizeInBytes: n(values['max-size'], 'max-size'), minTextLength: n(values['min-text-length'], 'min-text-length') },
      sampleRate: n(values['sample-rate'], 'sample-rate'), seed: n(values.seed, 'seed'),
    }];
  }
  const r = await runMix(streams, { configFile: values.config, resume: !values['no-resume'], quiet: values.quiet, err: io.err, share: rankShare({ rank: values.rank, worldSize: values['world-size'] }) });
  for (const s of r.streams) {
    out(`stream ${s.name}: ${s.outputDocuments.toLocaleString('en-US')} of ${s.inputDocuments.toLocaleString('en-US')} documents written (${s.skippedShards} shard(s) already done)`);
    for (const [rule, x] of Object.entries(s.removedBy)) out(`  removed ${x.documents} docs / ${x.chars} chars by ${rule}`);
    for (const [rule, x] of Object.entries(s.replacedBy)) out(`  replaced ${x.spans} spans / ${x.chars} chars by ${rule}`);
    for (const o of s.outputs) out(`  ${o}`);
  }
  if (values.report) {
    const { writeReport } = await import('./report.js');
    const files = writeReport(values.report, { title: 'olmo data mix', mix: r });
    out(`report ${files.markdown} ${files.html}`);
  }
  return 0;
}
