/**
 * MemMapDataset with OLMo semantics (olmo/data/memmap_dataset.py): every token file is a raw
 * little-endian uint16/uint32 array cut into fixed `seqLen` chunks (remainder dropped), instances are
 * numbered across files in order. Reads are positioned reads (fs.readSync on cached fds) — a file is
 * never loaded whole. Optional document boundaries come from the `<stem>.docs.npy` sidecar written
 * by `prepare` (or from eos positions).
 */
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { badArg, configInvalid, corrupt, DataError, notFound } from './errors.js';
import { checkManifestTokenizer, MANIFEST_NAME, manifestFor, readManifest, type TokenDtype, type TokenizerIdentity } from './manifest.js';
import { readNpy } from './npy.js';

export interface MemMapOptions {
  seqLen: number;
  dtype: TokenDtype;
  /** Per-path metadata (one object for all, or one per path); `label` is OLMo's convention. */
  metadata?: Record<string, unknown> | Record<string, unknown>[];
  /** Validate every read token id < vocabSize (DATA_CORRUPT naming the file otherwise). */
  vocabSize?: number;
  /** Check each file's manifest (if present) against the run's tokenizer. */
  tokenizer?: TokenizerIdentity;
  /** eos id for doc lengths when a file has no sidecar (OLMo's generate_doc_lengths). */
  eosTokenId?: number;
  /** Max simultaneously open fds (LRU). Default 128. */
  maxOpenFiles?: number;
}

export interface Instance {
  inputIds: Int32Array;
  /** Global instance index in this dataset. */
  index: number;
  /** Token file the instance comes from. */
  source: string;
  /** Token offset of the instance in its file. */
  offset: number;
  metadata?: Record<string, unknown>;
  /** Global ids of the documents overlapping the instance (from the sidecar). */
  docIds?: number[];
  /** Lengths of the document segments inside the instance (sum = seqLen), for doc-masked attention. */
  docLens?: number[];
  /** The source's own id of each document in docIds (JSONL `id`, line number, file name), when recorded. */
  docNames?: string[];
}

interface FileInfo {
  path: string;
  tokens: number;
  instances: number;
  offset: number; // first global instance index
  docs?: BigUint64Array | null; // flattened [D,3], lazily loaded (null = no sidecar)
  docNames?: string[] | null; // source ids per document (<stem>.docids.jsonl), lazily loaded
}

/** Expands directories and manifest.json paths to the token files they list. */
export function expandPaths(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (!existsSync(p)) throw notFound(p, 'token file not found', 'check data.paths');
    const st = statSync(p);
    if (st.isDirectory() || path.basename(p) === MANIFEST_NAME) {
      const mf = st.isDirectory() ? path.join(p, MANIFEST_NAME) : p;
      const m = readManifest(mf);
      for (const f of m.files) out.push(path.join(path.dirname(mf), f.path));
    } else {
      out.push(p);
    }
  }
  return out;
}

export function sidecarPath(tokenFile: string): string {
  return tokenFile.replace(/(\.npy)?$/, '.docs.npy');
}

export function docIdsPath(tokenFile: string): string {
  return tokenFile.replace(/(\.npy)?$/, '.docids.jsonl');
}

export class MemMapDataset {
  readonly seqLen: number;
  readonly dtype: TokenDtype;
  readonly files: readonly Omit<FileInfo, 'docs'>[];
  readonly length: number;
  private readonly infos: FileInfo[];
  private readonly itemSize: number;
  private readonly meta: (Record<string, unknown> | undefined)[];
  private readonly fds = new Map<string, number>();
  private readonly maxOpen: number;
  private readonly vocabSize: number | undefined;
  private readonly eosTokenId: number | undefined;
  private scratch: Buffer = Buffer.alloc(0);

  private constructor(infos: FileInfo[], opts: MemMapOptions, meta: (Record<string, unknown> | undefined)[]) {
    this.seqLen = opts.seqLen;
    this.dtype = opts.dtype;
    this.itemSize = opts.dtype === 'uint16' ? 2 : 4;
    this.infos = infos;
    this.files = infos.map(({ path: p, tokens, instances, offset }) => ({ path: p, tokens, instances, offset }));
    const last = infos[infos.length - 1];
    this.length = last ? last.offset + last.instances : 0;
    this.meta = meta;
    this.maxOpen = opts.maxOpenFiles ?? 128;
    this.vocabSize = opts.vocabSize;
    this.eosTokenId = opts.eosTokenId;
  }

  static async open(paths: string | readonly string[], opts: MemMapOptions): Promise<MemMapDataset> {
    return MemMapDataset.openSync(paths, opts);
  }

  static openSync(paths: string | readonly string[], opts: MemMapOptions): MemMapDataset {
    if (!opts || !Number.isSafeInteger(opts.seqLen) || opts.seqLen < 1) throw badArg(`seqLen must be a positive integer, got ${opts?.seqLen}`);
    if (opts.dtype !== 'uint16' && opts.dtype !== 'uint32') throw badArg(`dtype must be 'uint16' or 'uint32', got ${String(opts.dtype)}`);
    const list = expandPaths(typeof paths === 'string' ? [paths] : paths);
    if (list.length === 0) throw configInvalid('no token files given', 'pass at least one path');
    const itemSize = opts.dtype === 'uint16' ? 2 : 4;
    if (Array.isArray(opts.metadata) && opts.metadata.length !== list.length) {
      throw badArg(`metadata has ${opts.metadata.length} entries for ${list.length} paths`);
    }
    const checked = new Set<string>();
    const infos: FileInfo[] = [];
    let offset = 0;
    for (const p of list) {
      if (!existsSync(p)) throw notFound(p, 'token file not found', 'check data.paths');
      const st = statSync(p);
      if (!st.isFile()) throw notFound(p, 'not a file');
      const mf = manifestFor(p);
      if (mf && !checked.has(mf.file)) {
        checked.add(mf.file);
        if (mf.manifest.dtype !== opts.dtype) {
          throw configInvalid(`data was written as ${mf.manifest.dtype} but the run reads ${opts.dtype}`, `set memmap dtype to ${mf.manifest.dtype}`, mf.file);
        }
        if (opts.tokenizer) checkManifestTokenizer(mf.file, mf.manifest, opts.tokenizer);
      }
      if (st.size % itemSize !== 0) {
        throw corrupt(p, `token file size ${st.size} is not a multiple of ${itemSize} (${opts.dtype})`,
          `is the dtype right? (memmap_dtype ${opts.dtype === 'uint16' ? 'uint32' : 'uint16'}?) or the file is truncated`);
      }
      const tokens = st.size / itemSize;
      const instances = Math.floor(tokens / opts.seqLen);
      infos.push({ path: p, tokens, instances, offset });
      offset += instances;
    }
    if (offset === 0) {
      throw new DataError('DATA_CORRUPT', `empty corpus: no file holds a full sequence of ${opts.seqLen} tokens`,
        'add data or reduce the sequence length', list.length === 1 ? list[0] : list.join(', '));
    }
    if (offset > 2 ** 32) throw corrupt(list[0]!, `${offset} instances exceed 2^32 (OLMo's uint32 indices)`);
    const meta = list.map((_, i) => (Array.isArray(opts.metadata) ? opts.metadata[i] : opts.metadata));
    return new MemMapDataset(infos, opts, meta);
  }

  /** Index of the file holding global instance `i` (binary search over offsets). */
  private fileOf(i: number): number {
    let lo = 0, hi = this.infos.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.infos[mid]!.offset <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private fd(p: string): number {
    let fd = this.fds.get(p);
    if (fd !== undefined) {
      this.fds.delete(p);
      this.fds.set(p, fd); // LRU touch
      return fd;
    }
    if (this.fds.size >= this.maxOpen) {
      const [oldest, ofd] = this.fds.entries().next().value as [string, number];
      closeSync(ofd);
      this.fds.delete(oldest);
    }
    try {
      fd = openSync(p, 'r');
    } catch {
      throw notFound(p, 'token file disappeared');
    }
    this.fds.set(p, fd);
    return fd;
  }

  /** Reads `count` tokens at token `offset` of file index `f` into `out`. */
  readTokens(f: number, offset: number, count: number, out: Int32Array = new Int32Array(count)): Int32Array {
    const info = this.infos[f]!;
    const bytes = count * this.itemSize;
    if (this.scratch.length < bytes) this.scratch = Buffer.allocUnsafe(Math.max(bytes, 1 << 16));
    const fd = this.fd(info.path);
    let got = 0;
    while (got < bytes) {
      const r = readSync(fd, this.scratch, got, bytes - got, offset * this.itemSize + got);
      if (r <= 0) throw corrupt(info.path, `short read at token ${offset + got / this.itemSize} (file changed?)`);
      got += r;
    }
    const s = this.scratch; // allocUnsafe(>= 64 KiB) is never pooled, so its offset is aligned
    const raw = this.itemSize === 2 ? new Uint16Array(s.buffer, s.byteOffset, count) : new Uint32Array(s.buffer, s.byteOffset, count);
    if (this.itemSize === 2) out.set(raw);
    else out.set(new Int32Array(s.buffer, s.byteOffset, count));
    if (this.vocabSize !== undefined) {
      for (let k = 0; k < count; k++) {
        const v = raw[k]!;
        if (v >= this.vocabSize) {
          throw corrupt(info.path, `token id ${v} at token ${offset + k} is >= vocab size ${this.vocabSize}`,
            'the data was tokenized with a different (larger) vocabulary, or dtype is wrong');
        }
      }
    }
    return out;
  }

  private docsOf(f: number): BigUint64Array | null {
    const info = this.infos[f]!;
    if (info.docs !== undefined) return info.docs;
    const sc = sidecarPath(info.path);
    if (!existsSync(sc)) return (info.docs = null);
    const { data, shape } = readNpy(sc);
    if (!(data instanceof BigUint64Array) || shape.length !== 2 || shape[1] !== 3) throw corrupt(sc, `sidecar must be uint64 [D, 3], got shape (${shape})`);
    return (info.docs = data);
  }

  private docNamesOf(f: number): string[] | null {
    const info = this.infos[f]!;
    if (info.docNames !== undefined) return info.docNames;
    const file = docIdsPath(info.path);
    if (!existsSync(file)) return (info.docNames = null);
    const text = readFileSync(file, 'utf8');
    try {
      info.docNames = text.split('\n').filter((l) => l.length > 0).map((l) => String(JSON.parse(l)));
    } catch (e) {
      throw corrupt(file, `invalid document id list: ${(e as Error).message}`);
    }
    return info.docNames;
  }

  /** Documents overlapping tokens [start, end) of file f: [docId, segStart, segEnd][] (clipped). */
  docsIn(f: number, start: number, end: number): [number, number, number][] | undefined {
    const d = this.docsOf(f);
    if (!d) return undefined;
    const D = d.length / 3;
    let lo = 0, hi = D; // first doc with end > start
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (Number(d[3 * mid + 1]!) > start) hi = mid;
      else lo = mid + 1;
    }
    const out: [number, number, number][] = [];
    for (let k = lo; k < D; k++) {
      const s = Number(d[3 * k]!), e = Number(d[3 * k + 1]!);
      if (s >= end) break;
      out.push([Number(d[3 * k + 2]!), Math.max(s, start), Math.min(e, end)]);
    }
    return out;
  }

  get(i: number): Instance {
    if (!Number.isSafeInteger(i) || i < 0 || i >= this.length) throw badArg(`instance index ${i} out of range [0, ${this.length})`);
    const f = this.fileOf(i);
    const info = this.infos[f]!;
    const offset = (i - info.offset) * this.seqLen;
    const inputIds = this.readTokens(f, offset, this.seqLen);
    const inst: Instance = { inputIds, index: i, source: info.path, offset };
    const m = this.meta[f];
    if (m) inst.metadata = m;
    const docs = this.docsIn(f, offset, offset + this.seqLen);
    if (docs) {
      inst.docIds = docs.map((x) => x[0]);
      inst.docLens = docs.map((x) => x[2] - x[1]);
      const names = this.docNamesOf(f);
      const first = this.docsOf(f)![2];
      if (names && first !== undefined) inst.docNames = inst.docIds.map((id) => names[id - Number(first)] ?? '?');
    } else if (this.eosTokenId !== undefined) {
      const lens: number[] = [];
      let last = 0;
      for (let k = 0; k < inputIds.length; k++) if (inputIds[k] === this.eosTokenId) { lens.push(k + 1 - last); last = k + 1; }
      if (last < inputIds.length) lens.push(inputIds.length - last);
      inst.docLens = lens;
    }
    return inst;
  }

  /** Closes cached file descriptors (the dataset stays usable; fds reopen on demand). */
  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
