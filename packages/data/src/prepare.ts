/**
 * prepare: text → OLMo token files. Each source unit (a JSONL/text file, or an npm corpus) becomes
 *   <out>/<name>-<hash8>.npy        raw little-endian uint16/uint32 tokens, eos after every document
 *   <out>/<name>-<hash8>.docs.npy   real .npy uint64 [D, 3]: start, end (exclusive, eos included), global doc id
 *   <out>/<name>-<hash8>.docids.jsonl  the source's own id of each document (JSONL `id`, line number, file name), one JSON string per line
 *   <out>/.parts/<name>-<hash8>.json  completion record (resume skips finished units)
 * and <out>/manifest.json lists them all (tokenizer hash, vocab size, eos id, dtype, counts, sources).
 * Every file is written to a temp name and renamed, so an interrupted run leaves only finished units.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { badArg, DataError } from './errors.js';
import { MANIFEST_NAME, type Manifest, type ManifestFile, type TokenDtype } from './manifest.js';
import { writeAll, writeFileAtomic, writeNpy } from './npy.js';
import { readDocs, resolveSources, type Doc, type SourceUnit } from './sources.js';

/** What prepare needs from a tokenizer (@olmo/tokenizer's Tokenizer satisfies it). */
export interface TokenizerLike {
  encode(text: string): number[];
  decode(ids: ArrayLike<number>): string;
  readonly eosTokenId: number;
  readonly vocabSize: number;
  hash?(): string;
  encodeBatch?(texts: readonly string[]): number[][];
  encodeBatchAsync?(texts: readonly string[], opts?: { threads?: number }): Promise<number[][]>;
  close?(): Promise<void>;
}

export interface PrepareProgress {
  unit: number;
  units: number;
  name: string;
  bytes: number;
  documents: number;
  tokens: number;
  seconds: number;
}

export interface PrepareOptions {
  /** A tokenizer instance, or a tokenizer.json path (loaded with @olmo/tokenizer). */
  tokenizer: TokenizerLike | string;
  out: string;
  sources: readonly string[];
  /** Worker threads for tokenization (default 2; 1 = on the calling thread). */
  threads?: number;
  /** Default: uint16 when vocabSize <= 65536, else uint32. */
  dtype?: TokenDtype;
  /** Reuse finished units from an interrupted run (default true). */
  resume?: boolean;
  /** true: progress bar on stderr when it is a TTY (default); false: silent; function: callback. */
  progress?: boolean | ((p: PrepareProgress) => void);
  /** Characters of text per tokenizer batch (default 4 MiB). */
  batchChars?: number;
}

export interface PrepareResult {
  manifest: Manifest; manifestPath: string; reused: number; written: number; bytes: number; seconds: number;
  /** Documents whose text is empty or whitespace only (written as a lone EOS), in the units tokenized by this run. */
  emptyDocuments: number;
}

export async function loadTokenizer(file: string): Promise<TokenizerLike> {
  const { Tokenizer } = await import('@olmo/tokenizer');
  return (await Tokenizer.fromFile(file)) as unknown as TokenizerLike;
}

function tokenizerHash(tok: TokenizerLike): string {
  return tok.hash?.() ?? 'unknown';
}

interface PartRecord extends ManifestFile { tokenizerHash: string; dtype: TokenDtype }

function unitId(u: SourceUnit): string {
  const h = createHash('sha1').update(`${u.kind}\0${u.spec}\0${u.inputs.join('\0')}`).digest('hex').slice(0, 8);
  return `${u.name}-${h}`;
}

function fingerprint(u: SourceUnit) {
  return u.inputs.map((p) => {
    const st = statSync(p);
    return { path: p, size: st.size, mtimeMs: Math.floor(st.mtimeMs) };
  });
}

class Encoder {
  private asyncOk: boolean;
  constructor(private tok: TokenizerLike, private threads: number) {
    this.asyncOk = threads > 1 && typeof tok.encodeBatchAsync === 'function';
  }
  async encode(texts: string[]): Promise<number[][]> {
    if (this.asyncOk) {
      try {
        return await this.tok.encodeBatchAsync!(texts, { threads: this.threads });
      } catch (e) {
        if ((e as { code?: string }).code !== 'NOT_FOUND') throw e;
        // Running from TS sources without a built tokenizer worker: encode on this thread.
        console.warn(`[olmo data] tokenizer worker threads unavailable (${(e as Error).message}); encoding on the main thread`);
        this.asyncOk = false;
      }
    }
    if (this.tok.encodeBatch) return this.tok.encodeBatch(texts);
    return texts.map((t) => this.tok.encode(t));
  }
}

/** Tokenizes sources into OLMo token files + sidecars + manifest. */
export async function prepare(opts: PrepareOptions): Promise<PrepareResult> {
  const t0 = performance.now();
  if (!opts.out) throw badArg('prepare: `out` directory is required');
  if (!opts.sources || opts.sources.length === 0) throw badArg('prepare: no sources given', 'pass JSONL/text files, folders, moby-dick or sotu');
  const ownTok = typeof opts.tokenizer === 'string';
  const tok = typeof opts.tokenizer === 'string' ? await loadTokenizer(opts.tokenizer) : opts.tokenizer;
  const vocab = tok.vocabSize;
  const eos = tok.eosTokenId;
  if (!Number.isInteger(vocab) || vocab < 1) throw new DataError('TOKENIZER_INVALID', `tokenizer vocab size ${vocab} is invalid`);
  if (!Number.isInteger(eos) || eos < 0 || eos >= vocab) throw new DataError('TOKENIZER_INVALID', `tokenizer eos id ${eos} is not in [0, ${vocab})`, 'the tokenizer needs an eos token');
  const dtype: TokenDtype = opts.dtype ?? (vocab <= 65536 ? 'uint16' : 'uint32');
  if (dtype === 'uint16' && vocab > 65536) throw badArg(`vocab size ${vocab} does not fit uint16`, 'use dtype uint32');
  const hash = tokenizerHash(tok);
  const units = resolveSources(opts.sources);
  const out = path.resolve(opts.out);
  const partsDir = path.join(out, '.parts');
  const createdDirs = [out, partsDir].filter((d) => !existsSync(d));
  mkdirSync(partsDir, { recursive: true });
  const resume = opts.resume ?? true;
  const threads = opts.threads ?? 2;
  const batchChars = opts.batchChars ?? 4 << 20;
  const encoder = new Encoder(tok, threads);
  const tty = opts.progress === undefined || opts.progress === true ? process.stderr.isTTY === true : false;
  const report = typeof opts.progress === 'function' ? opts.progress : undefined;

  const files: ManifestFile[] = [];
  let firstDocId = 0, reused = 0, written = 0, totalBytes = 0, emptyDocuments = 0;
  const createdFiles: string[] = []; // removed again if the corpus turns out empty
  let lastDraw = 0;
  try {
    for (let ui = 0; ui < units.length; ui++) {
      const u = units[ui]!;
      const id = unitId(u);
      const tokFile = path.join(out, `${id}.npy`);
      const docsFile = path.join(out, `${id}.docs.npy`);
      const idsFile = path.join(out, `${id}.docids.jsonl`);
      const partFile = path.join(partsDir, `${id}.json`);
      const inputs = fingerprint(u);
      if (resume && existsSync(partFile) && existsSync(tokFile) && existsSync(docsFile) && existsSync(idsFile)) {
        const rec = JSON.parse(readFileSync(partFile, 'utf8')) as PartRecord;
        if (rec.tokenizerHash === hash && rec.dtype === dtype && rec.firstDocId === firstDocId
          && JSON.stringify(rec.source.inputs) === JSON.stringify(inputs) && statSync(tokFile).size === rec.tokens * (dtype === 'uint16' ? 2 : 4)) {
          const { tokenizerHash: _h, dtype: _d, ...file } = rec;
          files.push(file);
          firstDocId += rec.documents;
          totalBytes += rec.source.bytes;
          reused++;
          continue;
        }
      }
      // Tokenize this unit into a temp file.
      const tmp = `${tokFile}.tmp-${process.pid}`;
      const fd = openSync(tmp, 'w');
      let docs = new BigUint64Array(1024 * 3);
      let nDocs = 0, nTokens = 0, bytes = 0;
      const docNames: string[] = [];
      const draw = (force = false) => {
        const now = performance.now();
        if (!force && now - lastDraw < 200) return;
        lastDraw = now;
        const p: PrepareProgress = { unit: ui + 1, units: units.length, name: u.name, bytes: totalBytes + bytes, documents: firstDocId + nDocs, tokens: nTokens, seconds: (now - t0) / 1000 };
        report?.(p);
        if (tty) {
          const mb = p.bytes / 1e6;
          process.stderr.write(`\r\x1b[K[olmo data prepare] ${p.unit}/${p.units} ${u.name}  ${mb.toFixed(1)} MB  ${p.documents} docs  ${(mb / Math.max(p.seconds, 1e-3)).toFixed(2)} MB/s`);
        }
      };
      try {
        let batch: Doc[] = [];
        let batchLen = 0;
        const flush = async () => {
          if (batch.length === 0) return;
          const ids = await encoder.encode(batch.map((d) => d.text));
          let total = 0;
          for (const a of ids) total += a.length + 1;
          const buf = dtype === 'uint16' ? new Uint16Array(total) : new Uint32Array(total);
          let k = 0;
          for (let d = 0; d < ids.length; d++) {
            const a = ids[d]!;
            const start = nTokens + k;
            for (let q = 0; q < a.length; q++) {
              const v = a[q]!;
              if (!(v >= 0 && v < vocab)) throw new DataError('TOKENIZER_INVALID', `token id ${v} is outside [0, ${vocab})`, 'the tokenizer produced an out-of-range id', u.inputs[0]);
              buf[k++] = v;
            }
            buf[k++] = eos;
            if ((nDocs + 1) * 3 > docs.length) {
              const bigger = new BigUint64Array(docs.length * 2);
              bigger.set(docs);
              docs = bigger;
            }
            docs[nDocs * 3] = BigInt(start);
            docs[nDocs * 3 + 1] = BigInt(nTokens + k);
            docs[nDocs * 3 + 2] = BigInt(firstDocId + nDocs);
            nDocs++;
          }
          writeAll(fd, buf);
          nTokens += total;
          batch = [];
          batchLen = 0;
          draw();
        };
        for await (const doc of readDocs(u, (n) => { bytes += n; })) {
          batch.push(doc);
          if (doc.text.trim() === '') emptyDocuments++;
          docNames.push(JSON.stringify(doc.id));
          batchLen += doc.text.length;
          if (batchLen >= batchChars) await flush();
        }
        await flush();
        fsyncSync(fd);
      } catch (e) {
        closeSync(fd);
        rmSync(tmp, { force: true });
        throw e;
      }
      closeSync(fd);
      writeNpy(docsFile, docs.subarray(0, nDocs * 3), [nDocs, 3]);
      writeFileAtomic(idsFile, docNames.length ? `${docNames.join('\n')}\n` : '');
      renameSync(tmp, tokFile);
      const file: ManifestFile = {
        path: path.basename(tokFile), docs: path.basename(docsFile), tokens: nTokens, documents: nDocs, firstDocId,
        source: { spec: u.spec, kind: u.kind, inputs, bytes },
      };
      writeFileAtomic(partFile, JSON.stringify({ ...file, tokenizerHash: hash, dtype } satisfies PartRecord, null, 1));
      createdFiles.push(tokFile, docsFile, idsFile, partFile);
      draw(true); // before the totals absorb this unit, or its bytes and documents count twice
      files.push(file);
      firstDocId += nDocs;
      totalBytes += bytes;
      written++;
    }
  } finally {
    if (tty) process.stderr.write('\n');
    if (ownTok) await tok.close?.();
  }
  const manifest: Manifest = {
    format: 'olmo-ts-data/1',
    tokenizer: { hash, vocabSize: vocab, eosTokenId: eos, ...(typeof opts.tokenizer === 'string' ? { file: path.resolve(opts.tokenizer) } : {}) },
    dtype,
    totalTokens: files.reduce((s, f) => s + f.tokens, 0),
    totalDocuments: firstDocId,
    files,
    createdAt: new Date().toISOString(),
  };
  if (manifest.totalDocuments === 0) {
    // leave nothing behind: the files of this run and the folders it created (if now empty)
    for (const f of createdFiles) rmSync(f, { force: true });
    for (const d of createdDirs.reverse()) { try { rmdirSync(d); } catch { /* not empty: keep */ } }
    throw new DataError('DATA_CORRUPT', 'empty corpus: the sources contain no documents', 'check the inputs', opts.sources.join(', '));
  }
  const manifestPath = path.join(out, MANIFEST_NAME);
  writeFileAtomic(manifestPath, JSON.stringify(manifest, null, 1));
  return { manifest, manifestPath, reused, written, bytes: totalBytes, seconds: (performance.now() - t0) / 1000, emptyDocuments };
}
