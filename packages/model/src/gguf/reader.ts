/**
 * A validating GGUF v3 reader. Every count, length, dimension and offset is checked against the
 * file size before it is used, so a truncated or hostile file yields a typed `OlmoError`
 * (CHECKPOINT_CORRUPT; DTYPE_UNSUPPORTED for a valid tensor type we do not decode), never an
 * out-of-bounds read or a huge allocation. Tensor data is read on demand in bounded chunks
 * (positioned reads), raw or decoded into float32; `load-weights.ts` maps the file instead where
 * a tensor can be used in place. Every tensor's absolute offset `begin` is a multiple of the
 * file's alignment (general.alignment, default 32): the header parser checks the relative offsets
 * and aligns the data section start.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { CheckpointError, NotFoundError, OlmoError } from '../errors.js';
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_VERSION, Q8_0_BLOCK, Q8_0_BLOCK_BYTES, TYPE_NAME, ValueType, VALUE_TYPE_BYTES, tensorBytes, type GgufTensorType } from './format.js';
import { decodeTensor } from './quant.js';
import type { GgufScalar } from './writer.js';
import { readExact, TensorFile } from '../tensor-file.js';

export type GgufMetaValue = GgufScalar | GgufScalar[];

export interface GgufTensorInfo {
  name: string;
  /** Row-major (torch) shape: ne reversed. */
  shape: number[];
  type: GgufTensorType;
  /** Absolute byte offset in the file. */
  begin: number;
  nbytes: number;
  numel: number;
}

/** Highest ggml type id we know of (types up to it that we do not decode are DTYPE_UNSUPPORTED). */
const MAX_KNOWN_GGML_TYPE = 39;
const GGML_MAX_DIMS = 4;
/** The header is read in one buffer; it may not exceed this (real vocabularies need a few MB). */
const MAX_HEADER_BYTES = 1 << 30;
const DEFAULT_CHUNK_BYTES = 64 << 20;

class NeedMore extends Error {}
const dec = new TextDecoder('utf-8', { fatal: true });

/** Cursor over the header bytes read so far; `fileSize` bounds every length before it is trusted. */
class Cursor {
  pos = 0;
  private dv: DataView;
  constructor(private buf: Uint8Array, private fileSize: number, private file: string) {
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  fail(what: string): never {
    throw new CheckpointError(`${this.file}: invalid GGUF: ${what} (at byte ${this.pos})`, 'the GGUF file is truncated or corrupt: re-export or re-download it');
  }
  private need(n: number, what: string): void {
    if (this.pos + n > this.fileSize) this.fail(`${what} runs past the end of the file (${this.fileSize} bytes)`);
    if (this.pos + n > this.buf.length) throw new NeedMore();
  }
  remaining(): number { return this.fileSize - this.pos; }
  u8(what: string): number { this.need(1, what); return this.dv.getUint8(this.pos++); }
  u32(what: string): number { this.need(4, what); const v = this.dv.getUint32(this.pos, true); this.pos += 4; return v; }
  u64(what: string): number {
    this.need(8, what);
    const v = this.dv.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${what} = ${v} is absurd`);
    return Number(v);
  }
  str(what: string): string {
    const n = this.u64(`${what} length`);
    if (n > this.remaining()) this.fail(`${what} length ${n} exceeds the ${this.remaining()} bytes left in the file`);
    this.need(n, what);
    const bytes = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    try { return dec.decode(bytes); } catch { return this.fail(`${what} is not valid UTF-8`); }
  }
  scalar(t: number, what: string): GgufScalar {
    if (t === ValueType.STRING) return this.str(what);
    const size = VALUE_TYPE_BYTES[t];
    if (size === undefined) this.fail(`${what} has unknown value type ${t}`);
    this.need(size, what);
    const p = this.pos;
    this.pos += size;
    switch (t) {
      case ValueType.UINT8: return this.dv.getUint8(p);
      case ValueType.INT8: return this.dv.getInt8(p);
      case ValueType.UINT16: return this.dv.getUint16(p, true);
      case ValueType.INT16: return this.dv.getInt16(p, true);
      case ValueType.UINT32: return this.dv.getUint32(p, true);
      case ValueType.INT32: return this.dv.getInt32(p, true);
      case ValueType.FLOAT32: return this.dv.getFloat32(p, true);
      case ValueType.BOOL: return this.dv.getUint8(p) !== 0;
      case ValueType.UINT64: { const v = this.dv.getBigUint64(p, true); return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v; }
      case ValueType.INT64: { const v = this.dv.getBigInt64(p, true); return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v; }
      default: return this.dv.getFloat64(p, true);
    }
  }
}

interface ParsedHeader {
  version: number;
  metadata: Map<string, GgufMetaValue>;
  tensors: Map<string, GgufTensorInfo>;
  alignment: number;
  dataStart: number;
}

/** Parses the header from `buf` (the first bytes of a file of `fileSize` bytes). Throws NeedMore if `buf` is too short. */
function parseHeader(buf: Uint8Array, fileSize: number, file: string): ParsedHeader {
  const c = new Cursor(buf, fileSize, file);
  const magic = c.u32('magic');
  if (magic !== GGUF_MAGIC) c.fail(`bad magic 0x${magic.toString(16).padStart(8, '0')} (expected "GGUF")`);
  const version = c.u32('version');
  if (version !== GGUF_VERSION) {
    throw new CheckpointError(`${file}: GGUF version ${version} is not supported (only version ${GGUF_VERSION}, little-endian)`, 'convert the file with a current llama.cpp / `olmo export gguf`');
  }
  const nTensors = c.u64('tensor count');
  const nKv = c.u64('metadata count');
  // Each KV takes ≥ 12 bytes (key length + type), each tensor info ≥ 24: bound the counts by the file.
  if (nKv * 12 > c.remaining()) c.fail(`metadata count ${nKv} cannot fit in the file`);
  if (nTensors * 24 > c.remaining()) c.fail(`tensor count ${nTensors} cannot fit in the file`);
  const metadata = new Map<string, GgufMetaValue>();
  for (let i = 0; i < nKv; i++) {
    const key = c.str(`metadata key #${i}`);
    if (metadata.has(key)) c.fail(`duplicate metadata key '${key}'`);
    const t = c.u32(`type of '${key}'`);
    if (t === ValueType.ARRAY) {
      const et = c.u32(`element type of '${key}'`);
      if (et === ValueType.ARRAY) c.fail(`'${key}': nested arrays are not supported`);
      const n = c.u64(`length of '${key}'`);
      const minSize = et === ValueType.STRING ? 8 : VALUE_TYPE_BYTES[et];
      if (minSize === undefined) c.fail(`'${key}' has unknown element type ${et}`);
      if (n * minSize > c.remaining()) c.fail(`array '${key}' of ${n} elements cannot fit in the file`);
      const arr: GgufScalar[] = new Array(n);
      for (let j = 0; j < n; j++) arr[j] = c.scalar(et, `'${key}'[${j}]`);
      metadata.set(key, arr);
    } else metadata.set(key, c.scalar(t, `'${key}'`));
  }
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const al = metadata.get('general.alignment');
  if (al !== undefined) {
    if (typeof al !== 'number' || !Number.isInteger(al) || al <= 0 || (al & (al - 1)) !== 0 || al > 1 << 20) c.fail(`general.alignment ${String(al)} is not a power of two`);
    alignment = al as number;
  }
  const raw: Array<Omit<GgufTensorInfo, 'begin'> & { offset: number }> = [];
  const seen = new Set<string>();
  for (let i = 0; i < nTensors; i++) {
    const name = c.str(`tensor name #${i}`);
    if (seen.has(name)) c.fail(`duplicate tensor '${name}'`);
    seen.add(name);
    const nd = c.u32(`dimension count of '${name}'`);
    if (nd < 1 || nd > GGML_MAX_DIMS) c.fail(`tensor '${name}' has ${nd} dimensions (1..${GGML_MAX_DIMS})`);
    const ne: number[] = [];
    let numel = 1;
    for (let d = 0; d < nd; d++) {
      const v = c.u64(`dimension ${d} of '${name}'`);
      if (v < 1) c.fail(`tensor '${name}' has an empty dimension`);
      numel *= v;
      if (numel > fileSize) c.fail(`tensor '${name}' has ${numel}+ elements, more than the file has bytes`);
      ne.push(v);
    }
    const typeId = c.u32(`type of '${name}'`);
    const type = TYPE_NAME[typeId];
    if (!type) {
      if (typeId <= MAX_KNOWN_GGML_TYPE) {
        throw new OlmoError('DTYPE_UNSUPPORTED', `${file}: tensor '${name}' has ggml type ${typeId}, which olmo-ts does not read`, 'export with --type f32, f16, bf16 or q8_0');
      }
      c.fail(`tensor '${name}' has unknown ggml type ${typeId}`);
    }
    if (type === 'q8_0' && ne[0]! % Q8_0_BLOCK !== 0) c.fail(`q8_0 tensor '${name}' has rows of ${ne[0]} (not a multiple of ${Q8_0_BLOCK})`);
    const offset = c.u64(`offset of '${name}'`);
    if (offset % alignment !== 0) c.fail(`tensor '${name}' offset ${offset} is not aligned to ${alignment}`);
    raw.push({ name, shape: ne.slice().reverse(), type, nbytes: tensorBytes(type, numel), numel, offset });
  }
  const dataStart = Math.ceil(c.pos / alignment) * alignment;
  if (dataStart > fileSize) c.fail('the tensor data section is missing');
  const dataSize = fileSize - dataStart;
  const tensors = new Map<string, GgufTensorInfo>();
  for (const t of raw) {
    if (t.offset + t.nbytes > dataSize) {
      throw new CheckpointError(`${file}: tensor '${t.name}' [${t.offset}, ${t.offset + t.nbytes}) lies outside the ${dataSize}-byte data section`, 'the GGUF file is truncated or corrupt: re-export it');
    }
    tensors.set(t.name, { name: t.name, shape: t.shape, type: t.type, nbytes: t.nbytes, numel: t.numel, begin: dataStart + t.offset });
  }
  const sorted = [...tensors.values()].sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.begin < sorted[i - 1]!.begin + sorted[i - 1]!.nbytes) c.fail(`tensors '${sorted[i - 1]!.name}' and '${sorted[i]!.name}' overlap`);
  }
  return { version, metadata, tensors, alignment, dataStart };
}

/** Parses a GGUF header held entirely in memory (for tests and tools). */
export function parseGgufHeader(bytes: Uint8Array, file = '<buffer>'): ParsedHeader {
  try {
    return parseHeader(bytes, bytes.length, file);
  } catch (e) {
    if (e instanceof NeedMore) throw new OlmoError('INTERNAL', 'GGUF header parser asked for bytes beyond a complete buffer');
    throw e;
  }
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}
function lcm(a: number, b: number): number {
  return (a / gcd(a, b)) * b;
}

export class GgufFile extends TensorFile {
  private constructor(
    path: string,
    readonly version: number,
    readonly metadata: Map<string, GgufMetaValue>,
    readonly tensors: Map<string, GgufTensorInfo>,
    readonly alignment: number,
    fh: FileHandle,
  ) {
    super(path, fh);
  }

  static async open(file: string): Promise<GgufFile> {
    let fh: FileHandle;
    try {
      fh = await open(file, 'r');
    } catch (e) {
      throw new NotFoundError(`cannot open ${file}: ${(e as Error).message}`, 'pass the path of a .gguf file');
    }
    try {
      const size = (await fh.stat()).size;
      let want = Math.min(size, 1 << 20);
      for (;;) {
        const buf = new Uint8Array(want);
        await readExact(fh, buf, 0, file);
        try {
          const h = parseHeader(buf, size, file);
          return new GgufFile(file, h.version, h.metadata, h.tensors, h.alignment, fh);
        } catch (e) {
          if (!(e instanceof NeedMore)) throw e;
          if (want >= size || want >= MAX_HEADER_BYTES) throw new CheckpointError(`${file}: GGUF header larger than ${MAX_HEADER_BYTES} bytes`, 'the file is corrupt');
          want = Math.min(size, want * 4, MAX_HEADER_BYTES);
        }
      }
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  info(name: string): GgufTensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new CheckpointError(`${this.path}: no tensor '${name}'`, 'the GGUF file is incomplete or for another architecture');
    return t;
  }

  /** A metadata value, or undefined. */
  get(key: string): GgufMetaValue | undefined {
    return this.metadata.get(key);
  }

  /**
   * Streams tensor `name`'s stored bytes (no decoding) in bounded chunks of whole multiples of
   * `multipleOf` elements (e.g. whole rows; q8_0 chunks are always whole blocks):
   * `sink(bytes, elementOffset, elements)`; the buffer is reused between calls. Positioned reads,
   * not the mapping, so the bytes pass through the page cache and never count as this process's RSS.
   */
  async readRawChunks(name: string, sink: (bytes: Uint8Array, elementOffset: number, elements: number) => void, chunkBytes = DEFAULT_CHUNK_BYTES, multipleOf = 1): Promise<void> {
    const t = this.info(name);
    const fh = this.handle();
    const [unitElems, unitBytes] = t.type === 'q8_0' ? [Q8_0_BLOCK, Q8_0_BLOCK_BYTES] : [1, tensorBytes(t.type, 1)];
    // A chunk holds whole units and whole multiples of `multipleOf` elements.
    const step = lcm(unitElems, Math.max(1, multipleOf));
    const elemsPerChunk = Math.max(1, Math.floor(chunkBytes / ((step / unitElems) * unitBytes))) * step;
    const first = Math.min(elemsPerChunk, t.numel);
    // 8-byte aligned backing so float32 views of it are legal.
    const raw = new Uint8Array(new ArrayBuffer(Math.ceil(((first / unitElems) * unitBytes) / 8) * 8));
    for (let e0 = 0; e0 < t.numel; e0 += elemsPerChunk) {
      const n = Math.min(elemsPerChunk, t.numel - e0);
      const bytes = raw.subarray(0, (n / unitElems) * unitBytes);
      await readExact(fh, bytes, t.begin + (e0 / unitElems) * unitBytes, this.path);
      sink(bytes, e0, n);
    }
  }

  /**
   * Streams tensor `name` as float32 in bounded chunks: `sink(values, elementOffset)` (the array
   * is reused between calls). Chunks are whole q8_0 blocks and whole multiples of `multipleOf`.
   */
  async readChunks(name: string, sink: (values: Float32Array, elementOffset: number) => void, chunkBytes = DEFAULT_CHUNK_BYTES, multipleOf = 1): Promise<void> {
    const t = this.info(name);
    let out: Float32Array | null = null;
    await this.readRawChunks(name, (bytes, e0, n) => {
      out ??= new Float32Array(n);
      const o = out.subarray(0, n);
      decodeTensor(bytes, t.type, o);
      sink(o, e0);
    }, chunkBytes, multipleOf);
  }

}
