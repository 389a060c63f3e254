/**
 * A streaming GGUF v3 writer: the header (metadata + tensor infos, whose offsets follow from the
 * shapes alone) is written first, then each tensor is produced, encoded and written one at a time,
 * so peak memory is one tensor. The file appears atomically (temp file + rename).
 */
import { open, rename, rm } from 'node:fs/promises';
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_VERSION, TYPE_ID, ValueType, VALUE_TYPE_BYTES, Q8_0_BLOCK, tensorBytes, type GgufTensorType } from './format.js';
import { encodeTensor } from './quant.js';
import { OlmoError } from '../errors.js';

export type GgufScalar = number | bigint | boolean | string;
/** One metadata value: a scalar of `type`, or an array of `elem` scalars. */
export type GgufValue =
  | { type: Exclude<ValueType, ValueType.ARRAY>; value: GgufScalar }
  | { type: ValueType.ARRAY; elem: Exclude<ValueType, ValueType.ARRAY>; value: readonly GgufScalar[] };

export interface GgufTensorEntry {
  /** GGUF name, e.g. `blk.0.attn_q.weight`. */
  name: string;
  /** Row-major (torch) shape; written as ne = reversed shape. */
  shape: readonly number[];
  type: GgufTensorType;
  /** The float32 values in row-major order (called once, when the tensor is written). */
  data: () => Float32Array | Promise<Float32Array>;
}

const enc = new TextEncoder();

class ByteSink {
  private chunks: Uint8Array[] = [];
  length = 0;
  private push(b: Uint8Array): void { this.chunks.push(b); this.length += b.length; }
  u32(v: number): void { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v, true); this.push(b); }
  u64(v: number | bigint): void { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(v), true); this.push(b); }
  str(s: string): void { const b = enc.encode(s); this.u64(b.length); this.push(b); }
  scalar(t: ValueType, v: GgufScalar): void {
    if (t === ValueType.STRING) { this.str(String(v)); return; }
    const b = new Uint8Array(VALUE_TYPE_BYTES[t]!);
    const dv = new DataView(b.buffer);
    switch (t) {
      case ValueType.UINT8: dv.setUint8(0, Number(v)); break;
      case ValueType.INT8: dv.setInt8(0, Number(v)); break;
      case ValueType.UINT16: dv.setUint16(0, Number(v), true); break;
      case ValueType.INT16: dv.setInt16(0, Number(v), true); break;
      case ValueType.UINT32: dv.setUint32(0, Number(v), true); break;
      case ValueType.INT32: dv.setInt32(0, Number(v), true); break;
      case ValueType.FLOAT32: dv.setFloat32(0, Number(v), true); break;
      case ValueType.BOOL: dv.setUint8(0, v ? 1 : 0); break;
      case ValueType.UINT64: dv.setBigUint64(0, BigInt(v), true); break;
      case ValueType.INT64: dv.setBigInt64(0, BigInt(v), true); break;
      case ValueType.FLOAT64: dv.setFloat64(0, Number(v), true); break;
      default: throw new OlmoError('INTERNAL', `GGUF writer: bad value type ${t}`);
    }
    this.push(b);
  }
  pad(align: number): void { const r = this.length % align; if (r) this.push(new Uint8Array(align - r)); }
  bytes(): Uint8Array { const out = new Uint8Array(this.length); let o = 0; for (const c of this.chunks) { out.set(c, o); o += c.length; } return out; }
}

/** Writes a GGUF v3 file. Metadata keys are written in insertion order. */
export async function writeGguf(file: string, metadata: ReadonlyMap<string, GgufValue>, tensors: readonly GgufTensorEntry[], alignment = GGUF_DEFAULT_ALIGNMENT): Promise<void> {
  const head = new ByteSink();
  head.u32(GGUF_MAGIC);
  head.u32(GGUF_VERSION);
  head.u64(tensors.length);
  head.u64(metadata.size);
  for (const [key, val] of metadata) {
    head.str(key);
    head.u32(val.type);
    if (val.type === ValueType.ARRAY) {
      head.u32(val.elem);
      head.u64(val.value.length);
      for (const v of val.value) head.scalar(val.elem, v);
    } else head.scalar(val.type, val.value);
  }
  const sizes: number[] = [];
  let offset = 0;
  for (const t of tensors) {
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (t.type === 'q8_0' && t.shape[t.shape.length - 1]! % Q8_0_BLOCK !== 0) {
      throw new OlmoError('INVALID_ARGUMENT', `tensor ${t.name}: rows of ${t.shape[t.shape.length - 1]} are not a multiple of 32, cannot be q8_0`);
    }
    head.str(t.name);
    head.u32(t.shape.length);
    for (let i = t.shape.length - 1; i >= 0; i--) head.u64(t.shape[i]!);
    head.u32(TYPE_ID[t.type]);
    head.u64(offset);
    const nbytes = tensorBytes(t.type, numel);
    sizes.push(nbytes);
    offset += Math.ceil(nbytes / alignment) * alignment;
  }
  head.pad(alignment);

  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  const fh = await open(tmp, 'w');
  try {
    let pos = 0;
    const put = async (b: Uint8Array) => {
      let done = 0;
      while (done < b.length) {
        const { bytesWritten } = await fh.write(b, done, b.length - done, pos);
        done += bytesWritten;
        pos += bytesWritten;
      }
    };
    await put(head.bytes());
    for (let i = 0; i < tensors.length; i++) {
      const t = tensors[i]!;
      const values = await t.data();
      const numel = t.shape.reduce((a, b) => a * b, 1);
      if (values.length !== numel) throw new OlmoError('SHAPE_MISMATCH', `tensor ${t.name}: ${values.length} values for shape [${t.shape.join(', ')}]`);
      const bytes = encodeTensor(values, t.type);
      await put(bytes);
      const padTo = Math.ceil(sizes[i]! / alignment) * alignment;
      if (padTo > bytes.length) await put(new Uint8Array(padTo - bytes.length));
    }
    await fh.sync();
    await fh.close();
    await rename(tmp, file);
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
}
