/**
 * `olmo data dedupe` — Dolma's deduper (src/deduper.rs, write_attributes):
 *  - paragraphs: text.split(separator); for each paragraph p: par_start = offset; offset += len(p)
 *    (chars); offset += 1 when offset < text_length - 1, where text_length is the UTF-8 BYTE length
 *    (Dolma mixes the two units; reproduced); par_end = offset. Skipped when offset < min_length or
 *    (skip_empty and p is blank). A paragraph already in the Bloom filter gives a span
 *    [par_start, par_end, 1]; otherwise it is inserted (unless read_only). The attribute (e.g.
 *    `bff_duplicate_paragraph_spans`) is written only for non-empty texts.
 *  - paragraphs by n-gram (`paragraphs.by_ngram` with ngram_length > 0): each paragraph that passes
 *    the same min_length / skip_empty checks is scored by the overlap of its word n-grams with the
 *    filter instead (ngram.ts: tokenizer, stride, fallback, f32 score); the span's score is that
 *    fraction. ngram_length 0 is the exact mode, as in Dolma.
 *  - documents: the key (a JSONPath such as $.text or $.metadata.url) of a document already seen gives
 *    [[0, len(key in bytes), 1]]; a key shorter than min_length or blank with skip_empty gives [];
 *    a first occurrence gives no attribute. `exact: true` replaces the Bloom filter by a set of
 *    SHA-256 digests (no false positives; memory grows with the corpus).
 * Files are processed in sorted order on one thread (dedup keeps the FIRST occurrence, so order
 * defines the output). After each file the filter is saved with the list of finished files: a
 * killed run restarts from the last finished file with the same filter state, giving the same output.
 * Output: attributes/<name>/<relative path>, lines {"id", "attributes": {attribute_name: spans}}.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { writeFileAtomic } from '../npy.js';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { badArg, configInvalid, DataError } from '../errors.js';
import { attributesPathFor } from './attributes.js';
import { BloomFilter, murmur32 } from './bloom.js';
import { rankShare, type RankShare } from './ranks.js';
import { AtomicLineWriter, expandGlobs, parseDocument, readLines } from './documents.js';
import { compilePath, type CompiledPath } from './json-path.js';
import { formatScore, ngramParagraphScore, type NgramConfig } from './ngram.js';
import { defaultErr, Progress } from './progress.js';
import { cpLen, utf8Len } from './pystr.js';
import { bool, int, list, loadYamlConfig, num, obj, str } from './yaml-config.js';

export interface DedupeOptions {
  documents: readonly string[];
  /** attributes folder name (Dolma: dedupe.name) */
  name: string;
  paragraphs?: { attributeName: string; separator?: string; byNgram?: NgramConfig };
  documentKey?: { attributeName: string; key: string };
  minLength?: number;
  skipEmpty?: boolean;
  bloom: { file: string; readOnly?: boolean; expectedItems?: number; falsePositiveRate?: number };
  /** documents mode only: exact digests instead of the Bloom filter */
  exact?: boolean;
  resume?: boolean;
  quiet?: boolean;
  err?: (s: string) => void;
  /** key-space partition of this rank (default: from the launcher environment; everything in one process) */
  share?: RankShare;
  /** rank 0 waits this long for the other partitions before merging (default 24 h) */
  mergeTimeoutSeconds?: number;
}

export interface DedupeFileResult { file: string; output: string; skipped: boolean; documents: number; bytes: number; duplicates: number }
export interface DedupeResult { files: DedupeFileResult[]; duplicates: number; documents: number; seconds: number; bloomFile: string; inserted: number }

const BLANK = /^\p{White_Space}*$/u; // Rust str::trim().is_empty()

interface KeySet { testAndAdd(key: string, readOnly: boolean): boolean }

class ExactSet implements KeySet {
  private seen = new Set<string>();
  testAndAdd(key: string, readOnly: boolean): boolean {
    const h = createHash('sha256').update(key).digest('base64');
    if (this.seen.has(h)) return true;
    if (!readOnly) this.seen.add(h);
    return false;
  }
}

export async function runDedupe(opts: DedupeOptions): Promise<DedupeResult> {
  let o = opts;
  if (!!o.paragraphs === !!o.documentKey) throw badArg('dedupe needs exactly one of paragraphs or documents (key) dedup', 'Dolma: "Must dedupe either paragraphs or documents"');
  if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(o.name)) throw badArg(`--name '${o.name}' must be a folder-safe name`);
  const files = expandGlobs(o.documents);
  const t0 = performance.now();
  const share = o.share ?? rankShare();
  const W = share.worldSize;
  // under W ranks, rank r owns the keys with hash ≡ r (mod W) and writes a partition of the attributes
  const partName = W > 1 ? path.join(o.name, '.partitions', `rank-${share.rank}`) : o.name;
  const mine = (key: string): boolean => W === 1 || murmur32(key, 0x2f0e1eed) % W === share.rank;
  o = W > 1 ? { ...o, bloom: { ...o.bloom, file: `${o.bloom.file}.rank-${share.rank}` } } : o;
  const readOnly = !!o.bloom.readOnly;
  const useExact = !!o.exact;
  if (useExact && o.paragraphs) throw badArg('--exact applies to document dedup only');
  let bloom: BloomFilter | undefined;
  if (!useExact) {
    if (existsSync(o.bloom.file) && (readOnly || (o.resume ?? true))) bloom = BloomFilter.load(o.bloom.file);
    else if (readOnly) throw new DataError('NOT_FOUND', 'read-only dedupe needs an existing bloom filter file', 'build it first (olmo data dedupe / decon)', o.bloom.file);
    else bloom = BloomFilter.create(o.bloom.expectedItems ?? 1_000_000, o.bloom.falsePositiveRate ?? 0.001);
  }
  const keys: KeySet = useExact ? new ExactSet() : bloom!;
  const byNgram = o.paragraphs?.byNgram && o.paragraphs.byNgram.ngramLength > 0 ? checkNgram(o.paragraphs.byNgram) : undefined;
  if (byNgram && W > 1) throw badArg('n-gram paragraph dedup runs in one process (--world-size 1)', 'its overlap fraction needs every n-gram of a paragraph on one rank; the exact paragraph mode shards across ranks');
  const ngramKeys = { testAndAdd: (k: string) => keys.testAndAdd(k, readOnly), mine };
  const keyPath: CompiledPath | undefined = o.documentKey ? compilePath(o.documentKey.key, '--key') : undefined;
  const minLength = o.minLength ?? 0;
  const progress = new Progress('dedupe', files.length, o.err ?? defaultErr, o.quiet);
  const results: DedupeFileResult[] = [];
  const doneSet = new Set(bloom?.done ?? []);
  for (const file of files) {
    const output = attributesPathFor(file, partName);
    // a file counts as done only when the filter state says so (or, read-only/exact, when its output exists)
    const finished = existsSync(output) && (o.resume ?? true) && (readOnly || useExact ? true : doneSet.has(file));
    if (finished && !useExact) { const r = { file, output, skipped: true, documents: 0, bytes: 0, duplicates: 0 }; results.push(r); progress.add(r); continue; }
    const w = new AtomicLineWriter(output);
    let documents = 0; let bytes = 0; let duplicates = 0;
    try {
      for await (const line of readLines(file)) {
        const doc = parseDocument(line, file);
        documents++;
        bytes += line.bytes + 1;
        const parts: string[] = [];
        if (o.documentKey) {
          const found = keyPath!.eval(doc);
          const key = found[0];
          if (typeof key !== 'string') throw new DataError('DATA_CORRUPT', `line ${line.lineNo}: dedupe key ${o.documentKey.key} is missing or not a string`, 'every document needs the key', `${file}:${line.lineNo}`);
          const name = JSON.stringify(o.documentKey.attributeName);
          const klen = utf8Len(key);
          if (klen < minLength || (o.skipEmpty && BLANK.test(key))) parts.push(`${name}:[]`);
          else if (mine(key) && keys.testAndAdd(key, readOnly)) { parts.push(`${name}:[[0,${klen},1]]`); duplicates++; }
        } else {
          const text = doc.text;
          const textLength = utf8Len(text);
          if (textLength > 0) {
            const spans: string[] = [];
            let offset = 0;
            for (const p of text.split(o.paragraphs!.separator ?? '\n')) {
              const start = offset;
              offset += cpLen(p);
              if (offset < textLength - 1) offset += 1;
              if (offset < minLength) continue;
              if (o.skipEmpty && BLANK.test(p)) continue;
              if (byNgram) {
                const score = ngramParagraphScore(p, byNgram, ngramKeys);
                if (score !== undefined) spans.push(`[${start},${offset},${formatScore(score)}]`);
              } else if (mine(p) && keys.testAndAdd(p, readOnly)) spans.push(`[${start},${offset},1]`);
            }
            if (spans.length) duplicates++;
            parts.push(`${JSON.stringify(o.paragraphs!.attributeName)}:[${spans.join(',')}]`);
          }
        }
        await w.write(`{"id":${JSON.stringify(doc.id)},"attributes":{${parts.join(',')}}}`);
      }
      await w.commit();
    } catch (e) {
      w.abort();
      throw e;
    }
    if (bloom && !readOnly) { bloom.done = [...doneSet.add(file)]; bloom.save(o.bloom.file); }
    const r = { file, output, skipped: false, documents, bytes, duplicates };
    results.push(r);
    progress.add(r);
  }
  if (W > 1) {
    const root = attributesRoot(files[0]!, o.name);
    writeFileAtomic(path.join(root, '.partitions', `rank-${share.rank}.done`), JSON.stringify(files));
    if (share.rank === 0) {
      await waitForPartitions(path.join(root, '.partitions'), W, o.mergeTimeoutSeconds ?? 86400);
      for (const r of results) r.output = await mergePartitions(r.file, o.name, W);
      rmSync(path.join(root, '.partitions'), { recursive: true, force: true });
    }
  }
  return {
    files: results, duplicates: results.reduce((s, r) => s + r.duplicates, 0), documents: results.reduce((s, r) => s + r.documents, 0),
    seconds: (performance.now() - t0) / 1000, bloomFile: o.bloom.file, inserted: bloom?.inserted ?? 0,
  };
}

function checkNgram(c: NgramConfig): NgramConfig {
  const int = (v: number, name: string) => { if (!Number.isInteger(v) || v < 0) throw badArg(`by_ngram.${name} must be a non-negative integer, got ${v}`); };
  int(c.ngramLength, 'ngram_length');
  int(c.stride, 'stride');
  if (!Number.isFinite(c.overlapThreshold)) throw badArg(`by_ngram.overlap_threshold must be a number, got ${c.overlapThreshold}`);
  return c;
}

function attributesRoot(file: string, name: string): string {
  // attributes/<name> folder for this documents file
  const p = attributesPathFor(file, name);
  const abs = path.resolve(file);
  const rel = abs.slice(abs.lastIndexOf(`${path.sep}documents${path.sep}`) + '/documents/'.length);
  return p.slice(0, p.length - rel.length - 1);
}

async function waitForPartitions(dir: string, W: number, timeoutSeconds: number): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const done = existsSync(dir) ? readdirSync(dir).filter((f) => /^rank-\d+\.done$/.test(f)).length : 0;
    if (done >= W) return;
    if (Date.now() - t0 > timeoutSeconds * 1000) {
      throw new DataError('INVALID_ARGUMENT', `dedupe: only ${done} of ${W} partitions finished after ${timeoutSeconds} s`, 'check the other ranks\' output; a restart resumes finished files', dir);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

type SpanList = [number, number, number][];

/** Rank 0: merges the W partition attribute files of one documents file into the single-process layout. */
async function mergePartitions(file: string, name: string, W: number): Promise<string> {
  const output = attributesPathFor(file, name);
  const inputs = Array.from({ length: W }, (_, r) => attributesPathFor(file, path.join(name, '.partitions', `rank-${r}`)));
  const iters = inputs.map((f) => readLines(f)[Symbol.asyncIterator]());
  const w = new AtomicLineWriter(output);
  try {
    for (;;) {
      const lines = await Promise.all(iters.map((it) => it.next()));
      if (lines.every((l) => l.done)) break;
      if (lines.some((l) => l.done)) throw new DataError('DATA_CORRUPT', 'dedupe partitions have different line counts', 'delete the .partitions folder and re-run', output);
      const objs = lines.map((l) => JSON.parse((l.value as { text: string }).text) as { id: unknown; attributes: Record<string, SpanList> });
      const merged = new Map<string, SpanList | undefined>();
      for (const o of objs) {
        for (const [k, spans] of Object.entries(o.attributes)) {
          const cur = merged.get(k);
          merged.set(k, [...(cur ?? []), ...spans]);
        }
      }
      const parts: string[] = [];
      for (const [k, spans] of merged) {
        const sorted = [...spans!].sort((a, b) => a[0] - b[0]);
        parts.push(`${JSON.stringify(k)}:[${sorted.map(([a, b, c]) => `[${a},${b},${c}]`).join(',')}]`);
      }
      await w.write(`{"id":${JSON.stringify(objs[0]!.id)},"attributes":{${parts.join(',')}}}`);
    }
    await w.commit();
  } catch (e) {
    w.abort();
    throw e;
  }
  return output;
}

export const DEDUPE_USAGE = `usage: olmo data dedupe --documents GLOB... --name NAME (--paragraphs | --key JSONPATH) --bloom-file FILE [options]
       olmo data dedupe --config dedupe.yaml   (Dolma's dedupe config: documents, dedupe{name, paragraphs{attribute_name, paragraph_separator, by_ngram{ngram_length, stride, overlap_threshold, skip_short_paragraphs}}|documents{attribute_name, key}, min_length, skip_empty}, bloom_filter{file, read_only, estimated_doc_count, desired_false_positive_rate})
  --documents GLOB          documents files (repeatable)                                             (required)
  --name NAME               attributes folder: attributes/NAME/...                                   (required)
  --paragraphs              paragraph dedup, attribute --attribute-name                              (default attribute: bff_duplicate_paragraph_spans)
  --key JSONPATH            document dedup by this key, e.g. $.text or $.metadata.url                (default attribute: bff_duplicate_documents)
  --attribute-name NAME     attribute key written                                                    (default: see above)
  --separator S             paragraph separator                                                      (default: "\\n")
  --ngram-length N          paragraphs by word n-gram overlap (Dolma's by_ngram); 0 = exact paragraphs (default: 0)
  --stride N                tokens between counted n-grams (0 and 1: every n-gram)                   (default: 0)
  --overlap-threshold F     write a span when duplicate n-grams / n-grams >= F                       (default: 1)
  --skip-short-paragraphs   paragraphs with < 2 n-grams are skipped instead of matched whole         (default: off)
  --min-length N            skip paragraphs ending before char N / keys shorter than N bytes         (default: 0)
  --skip-empty              skip blank paragraphs / keys                                             (default: off, as Dolma)
  --bloom-file FILE         Bloom filter file, loaded if it exists, saved after every file            (required unless --exact)
  --expected-items N        Bloom filter size: expected distinct items                               (default: 1000000)
  --false-positive-rate P   Bloom filter size: target false-positive rate                            (default: 0.001)
  --read-only               only test the filter, never insert (e.g. a filter shared from another run) (default: off)
  --exact                   document dedup with exact SHA-256 digests instead of the Bloom filter    (default: off)
  --rank R --world-size W   this process owns the keys with hash % W == R; rank 0 merges (default: mpirun's environment, else 0 / 1)
  --no-resume               start a new filter and redo finished files                               (default: resume)
  --quiet                   no progress on stderr
  -h, --help                this help`;

type IO = { out?: (s: string) => void; err?: (s: string) => void };

export async function cmdDedupe(argv: string[], io: IO = {}): Promise<number> {
  const out = io.out ?? ((s: string) => process.stdout.write(`${s}\n`));
  const { values } = parseArgs({
    args: argv,
    options: {
      documents: { type: 'string', multiple: true }, name: { type: 'string' }, paragraphs: { type: 'boolean' }, key: { type: 'string' },
      'attribute-name': { type: 'string' }, separator: { type: 'string' }, 'min-length': { type: 'string' }, 'skip-empty': { type: 'boolean' },
      'bloom-file': { type: 'string' }, 'expected-items': { type: 'string' }, 'false-positive-rate': { type: 'string' }, 'read-only': { type: 'boolean' },
      'ngram-length': { type: 'string' }, stride: { type: 'string' }, 'overlap-threshold': { type: 'string' }, 'skip-short-paragraphs': { type: 'boolean' },
      exact: { type: 'boolean' }, 'no-resume': { type: 'boolean' }, config: { type: 'string' }, quiet: { type: 'boolean' }, rank: { type: 'string' }, 'world-size': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { out(DEDUPE_USAGE); return 0; }
  const f = values.config;
  const cfg = f ? loadYamlConfig(f, ['documents', 'dedupe', 'bloom_filter', 'processes', 'work_dir', 'compression']) : {};
  const d = obj(cfg, 'dedupe', f) ?? {};
  const b = obj(cfg, 'bloom_filter', f) ?? {};
  const dp = obj(d, 'paragraphs', f);
  const dd = obj(d, 'documents', f);
  const numArg = (v: string | undefined, name: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw badArg(`--${name} must be a non-negative number, got ${v}`);
    return n;
  };
  const rel = (p: string): string => path.resolve(path.dirname(f!), p); // config paths resolve against its folder
  const documents = values.documents ?? list(cfg, 'documents', f)?.map(rel) ?? [];
  const name = values.name ?? str(d, 'name', f);
  const cfgBloom = str(b, 'file', f);
  const bloomFile = values['bloom-file'] ?? (cfgBloom ? rel(cfgBloom) : undefined);
  const bn = dp ? obj(dp, 'by_ngram', f) : undefined;
  if (bn && (int(bn, 'ngram_length', f) === undefined || int(bn, 'stride', f) === undefined || num(bn, 'overlap_threshold', f) === undefined)) {
    throw configInvalid('dedupe.paragraphs.by_ngram needs ngram_length, stride and overlap_threshold', 'Dolma\'s NgramDedupeConfig requires all three', f);
  }
  const ngramLength = numArg(values['ngram-length'], 'ngram-length') ?? (bn ? int(bn, 'ngram_length', f) : undefined);
  const byNgram = ngramLength !== undefined ? {
    ngramLength,
    stride: numArg(values.stride, 'stride') ?? (bn ? int(bn, 'stride', f) : undefined) ?? 0,
    overlapThreshold: numArg(values['overlap-threshold'], 'overlap-threshold') ?? (bn ? num(bn, 'overlap_threshold', f) : undefined) ?? 1,
    skipShortParagraphs: values['skip-short-paragraphs'] || ((bn ? bool(bn, 'skip_short_paragraphs', f) : undefined) ?? false),
  } : undefined;
  if (!ngramLength && (values.stride !== undefined || values['overlap-threshold'] !== undefined || values['skip-short-paragraphs'])) throw badArg('--stride / --overlap-threshold / --skip-short-paragraphs need --ngram-length N > 0', DEDUPE_USAGE);
  const paragraphs = values.paragraphs || dp || byNgram ? { attributeName: values['attribute-name'] ?? (dp ? str(dp, 'attribute_name', f) : undefined) ?? 'bff_duplicate_paragraph_spans', separator: values.separator ?? (dp ? str(dp, 'paragraph_separator', f) : undefined), byNgram } : undefined;
  const key = values.key ?? (dd ? str(dd, 'key', f) : undefined);
  const documentKey = key ? { attributeName: values['attribute-name'] ?? (dd ? str(dd, 'attribute_name', f) : undefined) ?? 'bff_duplicate_documents', key } : undefined;
  if (documents.length === 0 || !name) throw badArg('dedupe needs --documents and --name', DEDUPE_USAGE);
  if (!bloomFile && !values.exact) throw badArg('dedupe needs --bloom-file (or --exact for document dedup)', DEDUPE_USAGE);
  const r = await runDedupe({
    documents, name, paragraphs, documentKey, minLength: numArg(values['min-length'], 'min-length') ?? int(d, 'min_length', f),
    skipEmpty: values['skip-empty'] || (bool(d, 'skip_empty', f) ?? false),
    bloom: {
      file: bloomFile ?? '', readOnly: values['read-only'] || (bool(b, 'read_only', f) ?? false),
      expectedItems: numArg(values['expected-items'], 'expected-items') ?? num(b, 'estimated_doc_count', f),
      falsePositiveRate: numArg(values['false-positive-rate'], 'false-positive-rate') ?? num(b, 'desired_false_positive_rate', f),
    },
    exact: values.exact, resume: !values['no-resume'], quiet: values.quiet, err: io.err, share: rankShare({ rank: values.rank, worldSize: values['world-size'] }),
  });
  out(`dedupe '${name}': ${r.documents.toLocaleString('en-US')} documents in ${r.files.length} file(s), ${r.duplicates.toLocaleString('en-US')} with duplicates, ${r.seconds.toFixed(2)} s`);
  if (!values.exact) out(`  bloom filter ${r.bloomFile} (${r.inserted.toLocaleString('en-US')} items inserted)`);
  for (const x of r.files) out(`  ${x.output}${x.skipped ? ' (already done)' : ''}`);
  return 0;
}
