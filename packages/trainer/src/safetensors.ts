/**
 * Minimal float32 safetensors IO for optimizer state (the model itself is written by
 * @olmo/model's savePretrained). Bounded parsing: header length, offsets and sizes are checked.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { CheckpointError } from './errors.js';

export function writeSafetensorsF32(path: string, tensors: Array<{ name: string; shape: readonly number[]; data: Float32Array }>, metadata: Record<string, string> = {}): void {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let off = 0;
  for (const t of tensors) {
    const n = t.data.byteLength;
    header[t.name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [off, off + n] };
    off += n;
  }
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const hb = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + hb.length + off);
  out.writeBigUInt64LE(BigInt(hb.length), 0);
  hb.copy(out, 8);
  let p = 8 + hb.length;
  for (const t of tensors) {
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(out, p);
    p += t.data.byteLength;
  }
  writeFileSync(path, out);
}

export function readSafetensorsF32(path: string): { tensors: Map<string, { shape: number[]; data: Float32Array }>; metadata: Record<string, string> } {
  let buf: Buffer;
  try { buf = readFileSync(path); } catch (e) { throw new CheckpointError(`cannot read ${path}: ${(e as Error).message}`); }
  if (buf.length < 8) throw new CheckpointError(`${path}: file too short for a safetensors header`);
  const hlen = Number(buf.readBigUInt64LE(0));
  if (hlen > buf.length - 8 || hlen > 100_000_000) throw new CheckpointError(`${path}: header length ${hlen} exceeds the file`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try { header = JSON.parse(buf.subarray(8, 8 + hlen).toString('utf8')); } catch { throw new CheckpointError(`${path}: header is not JSON`); }
  const base = 8 + hlen, dataLen = buf.length - base;
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, e] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const ent = e as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (ent.dtype !== 'F32') throw new CheckpointError(`${path}: tensor ${name} has dtype ${ent.dtype}, expected F32`);
    const [a, b] = ent.data_offsets;
    const n = ent.shape.reduce((x, y) => x * y, 1);
    if (!(a >= 0 && b <= dataLen && b - a === n * 4)) throw new CheckpointError(`${path}: tensor ${name} offsets [${a}, ${b}] invalid`);
    const data = new Float32Array(n);
    Buffer.from(data.buffer).set(buf.subarray(base + a, base + b));
    tensors.set(name, { shape: ent.shape, data });
  }
  return { tensors, metadata: (header['__metadata__'] as Record<string, string>) ?? {} };
}
