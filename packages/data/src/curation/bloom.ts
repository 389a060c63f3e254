/**
 * Bloom filter for dedup and decontamination (Dolma's bloom_filter.rs, own file format).
 * Sized from the expected number of items n and the false-positive rate p:
 *   m = ceil(-n ln p / (ln 2)^2) bits, k = max(1, round(m / n · ln 2)) hashes,
 * positions by double hashing (h1 + i·h2 mod m) from three independent 32-bit MurmurHash3 values of
 * the key's UTF-16 units (53-bit h1, h2). File: "OLMOBLM1" + uint32 header length + JSON header +
 * the bit array; written atomically; loading checks magic, header and size.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DataError } from '../errors.js';
import { writeFileAtomic } from '../npy.js';

const MAGIC = 'OLMOBLM1';

/** MurmurHash3 (x86, 32-bit) of a string's UTF-16 units. */
export function murmur32(s: string, seed: number): number {
  let h = seed >>> 0;
  const n = s.length;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    let k = (s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16)) >>> 0;
    k = Math.imul(k, 0xcc9e2d51); k = (k << 15) | (k >>> 17); k = Math.imul(k, 0x1b873593);
    h ^= k; h = (h << 13) | (h >>> 19); h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (i < n) {
    let k = s.charCodeAt(i);
    k = Math.imul(k, 0xcc9e2d51); k = (k << 15) | (k >>> 17); k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= n * 2;
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b); h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35); h ^= h >>> 16;
  return h >>> 0;
}

export interface BloomHeader {
  bits: number;
  hashes: number;
  expectedItems: number;
  falsePositiveRate: number;
  inserted: number;
  hash: 'murmur3x3-utf16-v1';
  /** files already folded into this filter (resume bookkeeping of dedupe) */
  done?: string[];
}

export function bloomSize(expectedItems: number, falsePositiveRate: number): { bits: number; hashes: number } {
  if (!(expectedItems >= 1) || !(falsePositiveRate > 0 && falsePositiveRate < 1)) {
    throw new DataError('INVALID_ARGUMENT', `bloom filter needs expected items ≥ 1 and 0 < false-positive rate < 1 (got ${expectedItems}, ${falsePositiveRate})`, 'set --expected-items / --false-positive-rate');
  }
  const bits = Math.max(64, Math.ceil((-expectedItems * Math.log(falsePositiveRate)) / (Math.LN2 * Math.LN2)));
  const hashes = Math.max(1, Math.round((bits / expectedItems) * Math.LN2));
  return { bits, hashes };
}

export class BloomFilter {
  readonly bits: Uint8Array;
  inserted: number;
  done: string[];

  private constructor(readonly header: BloomHeader, bits?: Uint8Array) {
    this.bits = bits ?? new Uint8Array(Math.ceil(header.bits / 8));
    this.inserted = header.inserted;
    this.done = header.done ?? [];
  }

  static create(expectedItems: number, falsePositiveRate: number): BloomFilter {
    const { bits, hashes } = bloomSize(expectedItems, falsePositiveRate);
    return new BloomFilter({ bits, hashes, expectedItems, falsePositiveRate, inserted: 0, hash: 'murmur3x3-utf16-v1' });
  }

  static load(file: string): BloomFilter {
    if (!existsSync(file)) throw new DataError('NOT_FOUND', 'bloom filter file not found', 'check --bloom-file', file);
    const buf = readFileSync(file);
    if (buf.length < 12 || buf.subarray(0, 8).toString('latin1') !== MAGIC) throw new DataError('DATA_CORRUPT', 'not an olmo bloom filter file (bad magic)', 'pass a file written by olmo data dedupe/decon', file);
    const hlen = buf.readUInt32LE(8);
    let h: BloomHeader;
    try {
      h = JSON.parse(buf.subarray(12, 12 + hlen).toString('utf8')) as BloomHeader;
    } catch {
      throw new DataError('DATA_CORRUPT', 'bloom filter header is not valid JSON', 're-create the filter', file);
    }
    const nbytes = Math.ceil(h.bits / 8);
    if (h.hash !== 'murmur3x3-utf16-v1' || !(h.hashes >= 1) || buf.length !== 12 + hlen + nbytes) {
      throw new DataError('DATA_CORRUPT', `bloom filter size/hash mismatch (file ${buf.length} bytes, header says ${12 + hlen + nbytes})`, 're-create the filter', file);
    }
    return new BloomFilter(h, new Uint8Array(buf.subarray(12 + hlen)));
  }

  save(file: string): void {
    const header = Buffer.from(JSON.stringify({ ...this.header, inserted: this.inserted, done: this.done }), 'utf8');
    const pre = Buffer.alloc(12);
    pre.write(MAGIC, 0, 'latin1');
    pre.writeUInt32LE(header.length, 8);
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    writeFileAtomic(file, [pre, header, this.bits]);
  }

  private positions(key: string, out: Float64Array): void {
    const m = this.header.bits;
    const a = murmur32(key, 0x9747b28c);
    const b = murmur32(key, 0x5bd1e995);
    const c = murmur32(key, 0x1b873593);
    const h1 = (a * 2097152 + (c >>> 11)) % m;
    const h2 = ((b * 2097152 + (c & 0x7ff)) % m) || 1;
    for (let i = 0; i < out.length; i++) out[i] = (h1 + i * h2) % m;
  }

  private scratch(): Float64Array {
    return (this._scratch ??= new Float64Array(this.header.hashes));
  }
  private _scratch: Float64Array | undefined;

  has(key: string): boolean {
    const p = this.scratch();
    this.positions(key, p);
    for (let i = 0; i < p.length; i++) {
      const x = p[i]!;
      if (!(this.bits[Math.floor(x / 8)]! & (1 << (x % 8)))) return false;
    }
    return true;
  }

  add(key: string): void {
    const p = this.scratch();
    this.positions(key, p);
    for (let i = 0; i < p.length; i++) {
      const x = p[i]!;
      const byte = Math.floor(x / 8);
      this.bits[byte] = this.bits[byte]! | (1 << (x % 8));
    }
    this.inserted++;
  }

  /** Returns whether `key` was (probably) present, inserting it unless readOnly. */
  testAndAdd(key: string, readOnly = false): boolean {
    if (this.has(key)) return true;
    if (!readOnly) this.add(key);
    return false;
  }
}
