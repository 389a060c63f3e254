/**
 * Safetensors IO, bounded and validated.
 *
 * Reader: the 8-byte little-endian header length, the JSON header and every tensor's offsets are
 * checked against the real file size before any data is read (header ≤ 100 MB and inside the
 * file, known dtypes, shape × dtype size = byte extent, extents inside the data section, no two
 * extents overlapping). Every failure is a typed CHECKPOINT_CORRUPT error; nothing is ever read
 * out of bounds. Tensor data is read with positioned reads straight from the file, in bounded
 * chunks, and converted (F32 / BF16 / F16 / F64 → float32) chunk by chunk — the file is never
 * loaded whole, and never read twice.
 *
 * Writer: streams one tensor at a time to a temporary file and renames it into place (atomic);
 * sharded sets (`model-00001-of-0000N.safetensors` + `model.safetensors.index.json`, HF layout)
 * when the total exceeds `maxShardSize`.
 */
import { open, rename, rm, readFile, readdir, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { CheckpointError, NotFoundError } from './errors.js';
import { readExact, TensorFile } from './tensor-file.js';

export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'U16' | 'U32' | 'U64' | 'BOOL' | 'F8_E4M3' | 'F8_E5M2';

export const SAFETENSORS_DTYPE_BYTES: Record<SafetensorsDType, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, U16: 2, U32: 4, U64: 8, BOOL: 1, F8_E4M3: 1, F8_E5M2: 1,
};

/** Float dtypes this reader converts to float32. */
export const READABLE_FLOAT_DTYPES: readonly SafetensorsDType[] = ['F32', 'BF16', 'F16', 'F64'];

export const MAX_HEADER_BYTES = 100_000_000;

export interface TensorInfo {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** Absolute byte range in the file [begin, end). */
  begin: number;
  end: number;
  numel: number;
}

/**
 * Validates a safetensors header. `headerLen` is the u64 from the first 8 bytes, `json` the header
 * text, `fileSize` the real size of the file. Returns the tensor table (absolute offsets).
 */
export function parseSafetensorsHeader(headerLen: number, json: string, fileSize: number, file = '<buffer>'): { tensors: Map<string, TensorInfo>; metadata: Record<string, string> } {
  const fail = (msg: string, hint?: string): never => { throw new CheckpointError(`${file}: ${msg}`, hint); };
  const dataStart = 8 + headerLen;
  if (dataStart > fileSize) fail(`header length ${headerLen} runs past the end of the file (${fileSize} bytes)`, 'the file is truncated or not a safetensors file');
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (e) {
    return fail(`header is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) fail('header must be a JSON object');
  const dataLen = fileSize - dataStart;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('__metadata__ must be an object of strings');
      for (const v of Object.values(raw as object)) if (typeof v !== 'string') fail('__metadata__ values must be strings');
      metadata = raw as Record<string, string>;
      continue;
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(`tensor '${name}': entry must be an object`);
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e.dtype !== 'string' || !(e.dtype in SAFETENSORS_DTYPE_BYTES)) fail(`tensor '${name}': unknown dtype ${JSON.stringify(e.dtype)}`, `supported: ${Object.keys(SAFETENSORS_DTYPE_BYTES).join(', ')}`);
    const dtype = e.dtype as SafetensorsDType;
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`tensor '${name}': shape must be an array of non-negative integers`);
    const shape = e.shape as number[];
    if (!Array.isArray(e.data_offsets) || e.data_offsets.length !== 2 || !e.data_offsets.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`tensor '${name}': data_offsets must be two non-negative integers`);
    }
    const [b, en] = e.data_offsets as [number, number];
    if (b > en) fail(`tensor '${name}': data_offsets [${b}, ${en}] are reversed`);
    if (en > dataLen) fail(`tensor '${name}': data_offsets [${b}, ${en}] run past the end of the data (${dataLen} bytes)`, 'the file is truncated');
    let numel = 1;
    for (const d of shape) numel *= d;
    if (!Number.isSafeInteger(numel * SAFETENSORS_DTYPE_BYTES[dtype]) || numel * SAFETENSORS_DTYPE_BYTES[dtype] !== en - b) {
      fail(`tensor '${name}': shape [${shape.join(', ')}] × ${dtype} (${SAFETENSORS_DTYPE_BYTES[dtype]} B) = ${numel * SAFETENSORS_DTYPE_BYTES[dtype]} bytes, but data_offsets span ${en - b}`);
    }
    tensors.set(name, { name, dtype, shape, begin: dataStart + b, end: dataStart + en, numel });
  }
  // No two extents may overlap (zero-length tensors cannot overlap anything).
  const sorted = [...tensors.values()].filter((t) => t.end > t.begin).sort((x, y) => x.begin - y.begin);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.begin < sorted[i - 1]!.end) fail(`tensors '${sorted[i - 1]!.name}' and '${sorted[i]!.name}' overlap`, 'the header offsets are corrupt');
  }
  return { tensors, metadata };
}

// ------------------------------------------------------------------ dtype conversion

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

export function f32ToBf16(x: number): number {
  f32buf[0] = x;
  const u = u32buf[0]!;
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 0x40) & 0xffff;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

export function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

export function f32ToF16(x: number): number {
  f32buf[0] = x;
  const u = u32buf[0]!;
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let r = mant >>> shift;
    const rem = mant & ((1 << shift) - 1), half = 1 << (shift - 1);
    if (rem > half || (rem === half && (r & 1))) r++;
    return sign | r;
  }
  let r = mant >>> 13;
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (r & 1))) {
    r++;
    if (r === 0x400) { r = 0; e++; if (e >= 31) return sign | 0x7c00; }
  }
  return sign | (e << 10) | r;
}

/** Converts raw little-endian bytes of `dtype` into float32 values (`out.length` elements). */
function convertToF32(bytes: Uint8Array, dtype: SafetensorsDType, out: Float32Array): void {
  const n = out.length;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32':
      if (bytes.byteOffset % 4 === 0) out.set(new Float32Array(bytes.buffer, bytes.byteOffset, n));
      else for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
      return;
    case 'BF16': {
      const o32 = new Uint32Array(out.buffer, out.byteOffset, n);
      for (let i = 0; i < n; i++) o32[i] = (bytes[2 * i]! | (bytes[2 * i + 1]! << 8)) << 16;
      return;
    }
    case 'F16':
      for (let i = 0; i < n; i++) out[i] = f16ToF32(bytes[2 * i]! | (bytes[2 * i + 1]! << 8));
      return;
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, true);
      return;
    default:
      throw new CheckpointError(`dtype ${dtype} cannot be converted to float32`, 'float tensors must be F32, BF16, F16 or F64');
  }
}

// ------------------------------------------------------------------ reader

const DEFAULT_CHUNK_BYTES = 64 << 20;

/** Elements per chunk: about chunkBytes, a positive multiple of `multipleOf`. */
function chunkElements(chunkBytes: number, esize: number, multipleOf: number): number {
  const m = Math.max(1, multipleOf);
  return Math.max(1, Math.floor(chunkBytes / esize / m)) * m;
}

export class SafetensorsFile extends TensorFile {
  private constructor(
    path: string,
    fh: FileHandle,
    readonly fileSize: number,
    readonly tensors: ReadonlyMap<string, TensorInfo>,
    readonly metadata: Readonly<Record<string, string>>,
  ) {
    super(path, fh);
  }

  /** Opens and validates a safetensors file (reads only the header). */
  static async open(file: string): Promise<SafetensorsFile> {
    let fh: FileHandle;
    try {
      fh = await open(file, 'r');
    } catch (e) {
      throw new NotFoundError(`cannot open ${file}: ${(e as Error).message}`);
    }
    try {
      const size = (await fh.stat()).size;
      if (size < 8) throw new CheckpointError(`${file}: ${size} bytes is too short for a safetensors file`, 'the file is truncated');
      const lenBuf = new Uint8Array(8);
      await readExact(fh, lenBuf, 0, file);
      const len64 = new DataView(lenBuf.buffer).getBigUint64(0, true);
      if (len64 > BigInt(MAX_HEADER_BYTES)) throw new CheckpointError(`${file}: header length ${len64} exceeds the ${MAX_HEADER_BYTES}-byte limit`, 'not a safetensors file, or a corrupt one');
      const headerLen = Number(len64);
      if (8 + headerLen > size) throw new CheckpointError(`${file}: header length ${headerLen} runs past the end of the file (${size} bytes)`, 'the file is truncated or not a safetensors file');
      const hbuf = new Uint8Array(headerLen);
      await readExact(fh, hbuf, 8, file);
      let json: string;
      try {
        json = new TextDecoder('utf-8', { fatal: true }).decode(hbuf);
      } catch {
        throw new CheckpointError(`${file}: header is not valid UTF-8`);
      }
      const { tensors, metadata } = parseSafetensorsHeader(headerLen, json, size, file);
      return new SafetensorsFile(file, fh, size, tensors, metadata);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  names(): string[] {
    return [...this.tensors.keys()];
  }

  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new CheckpointError(`${this.path}: no tensor '${name}'`, 'the checkpoint is missing a parameter');
    return t;
  }

  /**
   * Streams tensor `name` as float32 in bounded chunks: `sink(values, elementOffset)` is called
   * once per chunk (the array is reused between calls — copy it if you keep it).
   */
  async readChunks(name: string, sink: (values: Float32Array, elementOffset: number) => void, chunkBytes = DEFAULT_CHUNK_BYTES, multipleOf = 1): Promise<void> {
    const t = this.info(name);
    if (!READABLE_FLOAT_DTYPES.includes(t.dtype)) throw new CheckpointError(`${this.path}: tensor '${name}' has dtype ${t.dtype}`, 'parameters must be F32, BF16, F16 or F64');
    const out = t.dtype === 'F32' ? null : new Float32Array(Math.min(chunkElements(chunkBytes, SAFETENSORS_DTYPE_BYTES[t.dtype], multipleOf), t.numel));
    await this.readRawChunks(name, (bytes, e0) => {
      if (t.dtype === 'F32') return sink(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4), e0);
      const o = out!.subarray(0, bytes.length / SAFETENSORS_DTYPE_BYTES[t.dtype]);
      convertToF32(bytes, t.dtype, o);
      sink(o, e0);
    }, chunkBytes, multipleOf);
  }

  /**
   * Streams tensor `name`'s stored bytes (no conversion) in bounded chunks of whole multiples of
   * `multipleOf` elements (e.g. whole rows): `sink(bytes, elementOffset)`; the buffer is reused.
   * Positioned reads (not a mapping), so the bytes pass through the page cache, not the RSS.
   */
  async readRawChunks(name: string, sink: (bytes: Uint8Array, elementOffset: number) => void, chunkBytes = DEFAULT_CHUNK_BYTES, multipleOf = 1): Promise<void> {
    const t = this.info(name);
    const fh = this.handle();
    const esize = SAFETENSORS_DTYPE_BYTES[t.dtype];
    const perChunk = chunkElements(chunkBytes, esize, multipleOf);
    // 8-byte aligned backing so F32 / F64 views of it are legal.
    const raw = new Uint8Array(new ArrayBuffer(Math.ceil((Math.min(perChunk, t.numel) * esize) / 8) * 8));
    for (let e0 = 0; e0 < t.numel; e0 += perChunk) {
      const n = Math.min(perChunk, t.numel - e0);
      const bytes = raw.subarray(0, n * esize);
      await readExact(fh, bytes, t.begin + e0 * esize, this.path);
      sink(bytes, e0);
    }
  }

}


/** A set of safetensors files (one file or an HF sharded set) viewed as one name → tensor table. */
export class SafetensorsSet {
  private constructor(readonly files: SafetensorsFile[], private byName: Map<string, SafetensorsFile>) {}

  /** Opens `dir/model.safetensors.index.json` (sharded) or `dir/model.safetensors`. */
  static async openDir(dir: string): Promise<SafetensorsSet> {
    const indexPath = path.join(dir, 'model.safetensors.index.json');
    let indexText: string | null = null;
    try {
      indexText = await readFile(indexPath, 'utf8');
    } catch {
      indexText = null;
    }
    if (indexText === null) {
      const single = path.join(dir, 'model.safetensors');
      const f = await SafetensorsFile.open(single).catch((e) => {
        if ((e as { code?: string }).code === 'NOT_FOUND') throw new NotFoundError(`no model.safetensors or model.safetensors.index.json in ${dir}`, 'pass an HF model folder');
        throw e;
      });
      return new SafetensorsSet([f], new Map(f.names().map((n) => [n, f])));
    }
    let index: { weight_map?: unknown };
    try {
      index = JSON.parse(indexText) as { weight_map?: unknown };
    } catch (e) {
      throw new CheckpointError(`${indexPath} is not valid JSON: ${(e as Error).message}`);
    }
    const wm = index.weight_map;
    if (typeof wm !== 'object' || wm === null || Array.isArray(wm)) throw new CheckpointError(`${indexPath}: weight_map must be an object`);
    const shardNames = new Set<string>();
    for (const [name, f] of Object.entries(wm)) {
      if (typeof f !== 'string' || f.includes('/') || f.includes('\\') || f === '..' || f === '.') throw new CheckpointError(`${indexPath}: tensor '${name}' maps to an invalid file ${JSON.stringify(f)}`);
      shardNames.add(f);
    }
    const files: SafetensorsFile[] = [];
    const byFile = new Map<string, SafetensorsFile>();
    try {
      for (const s of shardNames) {
        const f = await SafetensorsFile.open(path.join(dir, s)).catch((e) => {
          if ((e as { code?: string }).code === 'NOT_FOUND') throw new CheckpointError(`${indexPath} lists missing shard ${s}`, 'the sharded checkpoint is incomplete');
          throw e;
        });
        files.push(f);
        byFile.set(s, f);
      }
    } catch (e) {
      await Promise.all(files.map((f) => f.close()));
      throw e;
    }
    const byName = new Map<string, SafetensorsFile>();
    for (const [name, s] of Object.entries(wm as Record<string, string>)) {
      const f = byFile.get(s)!;
      if (!f.tensors.has(name)) {
        await Promise.all(files.map((x) => x.close()));
        throw new CheckpointError(`${indexPath}: tensor '${name}' is listed in ${s} but that shard does not contain it`);
      }
      byName.set(name, f);
    }
    return new SafetensorsSet(files, byName);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  file(name: string): SafetensorsFile {
    const f = this.byName.get(name);
    if (!f) throw new CheckpointError(`checkpoint has no tensor '${name}'`, 'the checkpoint is missing a parameter');
    return f;
  }

  info(name: string): TensorInfo {
    return this.file(name).info(name);
  }

  async close(): Promise<void> {
    await Promise.all(this.files.map((f) => f.close()));
  }
}

// ------------------------------------------------------------------ writer

export type SaveDType = 'float32' | 'bfloat16' | 'float16';

const SAVE_DTYPE: Record<SaveDType, SafetensorsDType> = { float32: 'F32', bfloat16: 'BF16', float16: 'F16' };

export interface WriteEntry {
  name: string;
  shape: readonly number[];
  /** Produces the tensor's float32 values (called once, when the tensor is written). */
  data: Float32Array | (() => Float32Array | Promise<Float32Array>);
  /**
   * Optional: the tensor already stored in some dtype (e.g. bfloat16 weights). Used instead of
   * `data` when the file is written in that dtype — bytes go out as they are, with no float32 copy.
   */
  raw?: { dtype: SafetensorsDType; bytes: () => Uint8Array };
}

function encode(values: Float32Array, dtype: SafetensorsDType): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint16Array(values.length);
  if (dtype === 'BF16') for (let i = 0; i < values.length; i++) out[i] = f32ToBf16(values[i]!);
  else for (let i = 0; i < values.length; i++) out[i] = f32ToF16(values[i]!);
  return new Uint8Array(out.buffer);
}

function numelOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Builds a header (8-byte aligned with trailing spaces, like the reference implementation). */
function buildHeader(entries: readonly WriteEntry[], dtype: SafetensorsDType, metadata?: Record<string, string>): { header: Uint8Array; dataBytes: number } {
  const obj: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) obj.__metadata__ = metadata;
  let off = 0;
  for (const e of entries) {
    const n = numelOf(e.shape) * SAFETENSORS_DTYPE_BYTES[dtype];
    obj[e.name] = { dtype, shape: [...e.shape], data_offsets: [off, off + n] };
    off += n;
  }
  let json = JSON.stringify(obj);
  const len = Buffer.byteLength(json);
  json += ' '.repeat((8 - ((8 + len) % 8)) % 8);
  const hb = Buffer.from(json, 'utf8');
  const header = new Uint8Array(8 + hb.length);
  new DataView(header.buffer).setBigUint64(0, BigInt(hb.length), true);
  header.set(hb, 8);
  return { header, dataBytes: off };
}

async function writeFileFrom(file: string, entries: readonly WriteEntry[], dtype: SafetensorsDType, metadata?: Record<string, string>): Promise<void> {
  const { header } = buildHeader(entries, dtype, metadata);
  const fh = await open(file, 'w');
  try {
    let pos = 0;
    await fh.write(header, 0, header.length, pos);
    pos += header.length;
    for (const e of entries) {
      let bytes: Uint8Array;
      if (e.raw && e.raw.dtype === dtype) {
        bytes = e.raw.bytes();
        if (bytes.length !== numelOf(e.shape) * SAFETENSORS_DTYPE_BYTES[dtype]) throw new CheckpointError(`writing '${e.name}': ${bytes.length} bytes for shape [${e.shape.join(', ')}] ${dtype}`, 'internal: data and shape disagree');
      } else {
        const values = typeof e.data === 'function' ? await e.data() : e.data;
        if (values.length !== numelOf(e.shape)) throw new CheckpointError(`writing '${e.name}': ${values.length} values for shape [${e.shape.join(', ')}]`, 'internal: data and shape disagree');
        bytes = encode(values, dtype);
      }
      let done = 0;
      while (done < bytes.length) {
        const { bytesWritten } = await fh.write(bytes, done, bytes.length - done, pos + done);
        done += bytesWritten;
      }
      pos += bytes.length;
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function tmpName(file: string): string {
  return `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
}

/** Writes one safetensors file atomically (temporary file + rename). */
export async function writeSafetensors(file: string, entries: readonly WriteEntry[], opts: { dtype?: SaveDType; metadata?: Record<string, string> } = {}): Promise<void> {
  const dtype = SAVE_DTYPE[opts.dtype ?? 'float32'];
  const tmp = tmpName(file);
  try {
    await writeFileFrom(tmp, entries, dtype, opts.metadata);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** Parses 1000, '500MB', '5GB', '2GiB' → bytes. */
export function parseByteSize(v: number | string): number {
  if (typeof v === 'number') return v;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?i?B)?\s*$/i.exec(v);
  if (!m) throw new CheckpointError(`invalid size '${v}'`, "use bytes or a string like '5GB'");
  const unit = (m[2] ?? 'B').toUpperCase();
  const pow: Record<string, number> = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KIB: 1024, MIB: 1024 ** 2, GIB: 1024 ** 3, TIB: 1024 ** 4 };
  const f = pow[unit];
  if (!f) throw new CheckpointError(`invalid size unit in '${v}'`);
  return Math.floor(Number(m[1]) * f);
}

const OWN_FILE = /^(model\.safetensors|model\.safetensors\.index\.json|model-\d{5}-of-\d{5}\.safetensors)$/;

/**
 * Saves `entries` into `dir` as `model.safetensors`, or as HF shards + index when the total
 * exceeds `maxShardSize` (bytes or '5GB'). Every file is written to a temporary name first and
 * renamed into place; stale model files from an earlier save are removed afterwards.
 */
export async function saveSafetensorsDir(dir: string, entries: readonly WriteEntry[], opts: { dtype?: SaveDType; maxShardSize?: number | string; metadata?: Record<string, string> } = {}): Promise<string[]> {
  const dtypeName = opts.dtype ?? 'float32';
  const dtype = SAVE_DTYPE[dtypeName];
  if (!dtype) throw new CheckpointError(`cannot save dtype '${String(opts.dtype)}'`, 'use float32, bfloat16 or float16');
  const esize = SAFETENSORS_DTYPE_BYTES[dtype];
  const maxShard = opts.maxShardSize === undefined ? Infinity : parseByteSize(opts.maxShardSize);
  const total = entries.reduce((a, e) => a + numelOf(e.shape) * esize, 0);
  const shards: WriteEntry[][] = [];
  if (total <= maxShard) shards.push([...entries]);
  else {
    let cur: WriteEntry[] = [], size = 0;
    for (const e of entries) {
      const n = numelOf(e.shape) * esize;
      if (cur.length && size + n > maxShard) { shards.push(cur); cur = []; size = 0; }
      cur.push(e);
      size += n;
    }
    if (cur.length) shards.push(cur);
  }
  const metadata = { format: 'pt', ...(opts.metadata ?? {}) };
  const written: Array<{ tmp: string; final: string }> = [];
  try {
    const names = shards.length === 1 ? ['model.safetensors']
      : shards.map((_, i) => `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`);
    for (let i = 0; i < shards.length; i++) {
      const final = path.join(dir, names[i]!);
      const tmp = tmpName(final);
      written.push({ tmp, final });
      await writeFileFrom(tmp, shards[i]!, dtype, metadata);
    }
    if (shards.length > 1) {
      const weightMap: Record<string, string> = {};
      shards.forEach((s, i) => { for (const e of s) weightMap[e.name] = names[i]!; });
      const final = path.join(dir, 'model.safetensors.index.json');
      const tmp = tmpName(final);
      written.push({ tmp, final });
      await writeFile(tmp, JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2));
    }
    for (const w of written) await rename(w.tmp, w.final);
    const keep = new Set(written.map((w) => path.basename(w.final)));
    for (const f of await readdir(dir)) if (OWN_FILE.test(f) && !keep.has(f)) await rm(path.join(dir, f), { force: true });
    return written.map((w) => w.final);
  } catch (e) {
    await Promise.all(written.map((w) => rm(w.tmp, { force: true })));
    throw e;
  }
}
