/**
 * NumPy .npy (format version 1.0) reading and writing for 1-D/2-D little-endian integer arrays, and
 * atomic file writes. Order files are real .npy files (numpy.load works on them). Token files are
 * NOT: OLMo's token files are headerless raw arrays that merely carry the .npy suffix.
 */
import { closeSync, fsyncSync, openSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { corrupt, notFound } from './errors.js';

export type NpyDtype = '<u2' | '<u4' | '<u8' | '<i4' | '<i8';
export type IntArray = Uint16Array | Uint32Array | BigUint64Array | Int32Array | BigInt64Array;

const CTOR = { '<u2': Uint16Array, '<u4': Uint32Array, '<u8': BigUint64Array, '<i4': Int32Array, '<i8': BigInt64Array } as const;

export function dtypeOf(a: IntArray): NpyDtype {
  if (a instanceof Uint16Array) return '<u2';
  if (a instanceof Uint32Array) return '<u4';
  if (a instanceof BigUint64Array) return '<u8';
  if (a instanceof Int32Array) return '<i4';
  return '<i8';
}

export function npyHeader(descr: NpyDtype, shape: readonly number[]): Buffer {
  const shp = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shp}, }`;
  const total = 10 + dict.length + 1;
  dict += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const h = Buffer.alloc(10 + dict.length);
  h.write('\x93NUMPY', 0, 'latin1');
  h[6] = 1;
  h[7] = 0;
  h.writeUInt16LE(dict.length, 8);
  h.write(dict, 10, 'latin1');
  return h;
}

/** Writes bytes in ≤1 GiB pieces (writeSync's per-call limit is 2 GiB). */
export function writeAll(fd: number, data: ArrayBufferView, position?: number): void {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const CH = 1 << 30;
  let pos = position;
  for (let off = 0; off < bytes.length;) {
    const n = writeSync(fd, bytes, off, Math.min(CH, bytes.length - off), pos);
    off += n;
    if (pos !== undefined) pos += n;
  }
}

/** Writes `path` atomically: tmp file in the same directory, fsync, rename. */
export function writeFileAtomic(path: string, parts: ArrayBufferView[] | string): void {
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const fd = openSync(tmp, 'w');
  try {
    if (typeof parts === 'string') writeAll(fd, Buffer.from(parts, 'utf8'));
    else for (const p of parts) writeAll(fd, p);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
}

export function writeNpy(path: string, data: IntArray, shape: readonly number[] = [data.length]): void {
  writeFileAtomic(path, [npyHeader(dtypeOf(data), shape), data]);
}

export interface NpyHeader { descr: NpyDtype; shape: number[]; dataOffset: number }

export function readNpyHeader(path: string, fd: number): NpyHeader {
  const pre = Buffer.alloc(12);
  readSync(fd, pre, 0, 12, 0);
  if (pre.toString('latin1', 0, 6) !== '\x93NUMPY') throw corrupt(path, 'not a NumPy .npy file (bad magic)');
  const major = pre[6]!;
  const hlen = major === 1 ? pre.readUInt16LE(8) : pre.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const hb = Buffer.alloc(hlen);
  readSync(fd, hb, 0, hlen, start);
  const h = hb.toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(h)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(h)?.[1];
  const shapeStr = /'shape':\s*\(([^)]*)\)/.exec(h)?.[1];
  if (!descr || !(descr in CTOR) || fortran !== 'False' || shapeStr === undefined) {
    throw corrupt(path, `unsupported .npy header ${h.trim()}`, 'expected a C-order little-endian integer array');
  }
  const shape = shapeStr.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  return { descr: descr as NpyDtype, shape, dataOffset: start + hlen };
}

/** Reads a whole .npy file (order files, sidecars: small relative to the corpus). */
export function readNpy(path: string): { data: IntArray; shape: number[] } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    throw notFound(path);
  }
  try {
    const h = readNpyHeader(path, fd);
    const n = h.shape.reduce((a, b) => a * b, 1);
    const Ctor = CTOR[h.descr];
    const bytes = n * Ctor.BYTES_PER_ELEMENT;
    const size = statSync(path).size;
    if (size !== h.dataOffset + bytes) throw corrupt(path, `.npy size ${size} != header ${h.dataOffset} + ${bytes} data bytes`);
    const data = new Ctor(n);
    const view = new Uint8Array(data.buffer);
    const CH = 1 << 30;
    for (let off = 0; off < bytes;) {
      const r = readSync(fd, view, off, Math.min(CH, bytes - off), h.dataOffset + off);
      if (r <= 0) throw corrupt(path, 'short read');
      off += r;
    }
    return { data, shape: h.shape };
  } finally {
    closeSync(fd);
  }
}
