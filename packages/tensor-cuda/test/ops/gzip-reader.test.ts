// GzipFileReader (native/cpu/gzip_reader.cc) against Node's own zlib Gunzip stream on the same files:
// the same bytes for normal, multi-member and zero-padded files read through buffers smaller than the
// output, and the same error messages for truncated, empty, corrupt and garbage-trailed files.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32, createGunzip, deflateRawSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { GzipFileReader, gzipReaderAvailable, OlmoError } from '../../src/index.js';

const available = gzipReaderAvailable();
if (!available) console.log('gzip-reader.test: SKIPPED — the addon has no gzipReader (built without zlib, or not built)');
const d = available ? describe : describe.skip;

/** Node's gunzip of a file: its bytes, or the message of the error it raises. */
async function nodeGunzip(file: string): Promise<{ bytes?: Buffer; error?: string }> {
  const parts: Buffer[] = [];
  try {
    for await (const c of createReadStream(file).pipe(createGunzip())) parts.push(c as Buffer);
    return { bytes: Buffer.concat(parts) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** The reader's bytes through a `chunk`-byte buffer, or its error (after the bytes it returned). */
function nativeGunzip(file: string, chunk: number): { bytes: Buffer; error?: string } {
  const r = GzipFileReader.open(file);
  const parts: Buffer[] = [];
  const buf = Buffer.alloc(chunk);
  try {
    for (;;) {
      const n = r.read(buf, 0);
      if (n === 0) return { bytes: Buffer.concat(parts) };
      expect(n).toBeGreaterThan(0);
      expect(n).toBeLessThanOrEqual(chunk);
      parts.push(Buffer.from(buf.subarray(0, n)));
    }
  } catch (e) {
    expect(e).toBeInstanceOf(OlmoError);
    expect((e as OlmoError).code).toBe('DATA_CORRUPT');
    return { bytes: Buffer.concat(parts), error: (e as Error).message };
  } finally {
    r.close();
  }
}

d('GzipFileReader = Node zlib Gunzip', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'olmo-gz-'));
  const file = (name: string, b: Uint8Array) => { const f = path.join(dir, name); writeFileSync(f, b); return f; };
  // 3 MB of varied lines (compresses, but not to nothing), output far larger than the reader's buffers
  const text = Buffer.from(Array.from({ length: 60000 }, (_, i) => `line ${i} ${'xyz'.repeat(i % 17)} ${(i * 2654435761) % 1000003}\n`).join(''));
  const gz = gzipSync(text);

  it('the same bytes: one member (buffers of 1, 4096 and 1 MiB bytes), concatenated members, zero padding after the last member', async () => {
    const cases: [string, Buffer][] = [
      ['one.gz', gz],
      ['members.gz', Buffer.concat([gzipSync(text.subarray(0, 12345)), gzipSync(Buffer.alloc(0)), gzipSync(text.subarray(12345))])],
      ['padded.gz', Buffer.concat([gz, Buffer.alloc(1000)])],
    ];
    for (const [name, bytes] of cases) {
      const f = file(name, bytes);
      const want = await nodeGunzip(f);
      expect(want.error).toBeUndefined();
      expect(want.bytes!.equals(text)).toBe(true);
      for (const chunk of name === 'one.gz' ? [1, 4096, 1 << 20] : [4096]) {
        if (chunk === 1) {  // byte by byte: only the first 20000 bytes (speed)
          const r = GzipFileReader.open(f);
          const b = Buffer.alloc(1);
          const got: number[] = [];
          while (got.length < 20000 && r.read(b, 0) === 1) got.push(b[0]!);
          r.close();
          expect(Buffer.from(got).equals(text.subarray(0, 20000))).toBe(true);
          continue;
        }
        const got = nativeGunzip(f, chunk);
        expect(got.error, name).toBeUndefined();
        expect(got.bytes.equals(text), `${name} chunk ${chunk}`).toBe(true);
      }
    }
  });

  it('the same errors: truncated, empty, corrupt deflate data, garbage after a member, not gzip at all; output before the fault is returned first', async () => {
    const corrupt = Buffer.from(gz);
    for (let i = 100; i < 140; i++) corrupt[i] = corrupt[i]! ^ 0x5a;
    const cases: [string, Buffer][] = [
      ['truncated.gz', gz.subarray(0, gz.length - 40)],
      ['cut-header.gz', gz.subarray(0, 5)],
      ['empty.gz', Buffer.alloc(0)],
      ['corrupt.gz', corrupt],
      ['garbage.gz', Buffer.concat([gz, Buffer.from('trailing garbage')])],
      ['plain.gz', Buffer.from('{"id": "1", "text": "not compressed"}\n')],
    ];
    for (const [name, bytes] of cases) {
      const f = file(name, bytes);
      const want = await nodeGunzip(f);
      const got = nativeGunzip(f, 65536);
      expect(want.error, name).toBeDefined();
      expect(got.error, name).toBe(want.error);
      // before a fault the reader hands out what it decoded (flipped bits can decode to wrong bytes first)
      if (name !== 'corrupt.gz') expect(text.subarray(0, got.bytes.length).equals(got.bytes), name).toBe(true);
    }
    expect(nativeGunzip(file('t2.gz', gz.subarray(0, gz.length - 40)), 65536).error).toBe('unexpected end of file');
  });

  it('a missing file is NOT_FOUND; reading after close is INVALID_ARGUMENT', () => {
    expect(() => GzipFileReader.open(path.join(dir, 'missing.gz'))).toThrow(OlmoError);
    const r = GzipFileReader.open(file('ok.gz', gz));
    r.close();
    expect(() => r.read(Buffer.alloc(10))).toThrow(/closed/);
  });
});

// The libdeflate path (files <= 16 MiB inflated whole by libdeflate.so.0) against the zlib path
// (OLMO_GUNZIP_LIBDEFLATE=0) on the same files: the same bytes and the same errors, and each path
// really taken. The variable is read per file opened, so one process exercises both.
const libdeflateOnSystem = (() => {
  try {
    return execFileSync('ldconfig', ['-p'], { encoding: 'utf8' }).includes('libdeflate.so.0');
  } catch {
    return false;
  }
})();
if (available && !libdeflateOnSystem) console.log('gzip-reader.test: libdeflate.so.0 not installed — only the zlib fallback is checked (scripts/setup.sh installs libdeflate0)');

/** Reads `file` with the libdeflate switch on or off: bytes, error and the backend that served it. */
function readWith(libdeflate: boolean, file: string, chunk: number): { bytes: Buffer; error?: string; backend: string } {
  const before = process.env.OLMO_GUNZIP_LIBDEFLATE;
  if (libdeflate) delete process.env.OLMO_GUNZIP_LIBDEFLATE;
  else process.env.OLMO_GUNZIP_LIBDEFLATE = '0';
  try {
    const r = GzipFileReader.open(file);
    const buf = Buffer.alloc(chunk);
    const parts: Buffer[] = [];
    let error: string | undefined;
    try {
      for (;;) {
        const n = r.read(buf, 0);
        if (n === 0) break;
        parts.push(Buffer.from(buf.subarray(0, n)));
      }
    } catch (e) {
      expect(e).toBeInstanceOf(OlmoError);
      expect((e as OlmoError).code).toBe('DATA_CORRUPT');
      error = (e as Error).message;
    }
    const backend = r.backend;
    r.close();
    return { bytes: Buffer.concat(parts), error, backend };
  } finally {
    if (before === undefined) delete process.env.OLMO_GUNZIP_LIBDEFLATE;
    else process.env.OLMO_GUNZIP_LIBDEFLATE = before;
  }
}

/** A gzip member with the FHCRC flag: its header CRC16 right, or deliberately wrong. */
function gzipWithHeaderCrc(data: Buffer, goodCrc: boolean): Buffer {
  const header = Buffer.from([0x1f, 0x8b, 8, 0x02, 0, 0, 0, 0, 0, 0xff]);
  const crc16 = Buffer.alloc(2);
  crc16.writeUInt16LE((crc32(header) & 0xffff) ^ (goodCrc ? 0 : 0x1234));
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(data) >>> 0, 0);
  trailer.writeUInt32LE(data.length >>> 0, 4);
  return Buffer.concat([header, crc16, deflateRawSync(data), trailer]);
}

d('GzipFileReader: libdeflate path = zlib path', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'olmo-gzld-'));
  const file = (name: string, b: Uint8Array) => { const f = path.join(dir, name); writeFileSync(f, b); return f; };
  const text = Buffer.from(Array.from({ length: 60000 }, (_, i) => `line ${i} ${'xyz'.repeat(i % 17)} ${(i * 2654435761) % 1000003}\n`).join(''));
  const gz = gzipSync(text);
  const fast = libdeflateOnSystem ? 'libdeflate' : 'zlib';

  it('the same bytes: one member, multi-member (a big first member: the output buffer grows), empty members, zero padding, a checked header CRC', () => {
    const cases: [string, Buffer, string][] = [
      ['one.gz', gz, fast],
      ['members.gz', Buffer.concat([gzipSync(text.subarray(0, 12345)), gzipSync(Buffer.alloc(0)), gzipSync(text.subarray(12345))]), fast],
      // the last member's ISIZE (the first guess of the output size) is 10 bytes: the buffer doubles many times
      ['big-first.gz', Buffer.concat([gzipSync(text.subarray(0, text.length - 10)), gzipSync(text.subarray(text.length - 10))]), fast],
      ['padded.gz', Buffer.concat([gz, Buffer.alloc(1000)]), fast],
      // FHCRC: zlib verifies the header CRC and libdeflate would not, so such files go to zlib
      ['hcrc.gz', gzipWithHeaderCrc(text, true), 'zlib'],
    ];
    for (const [name, bytes, backend] of cases) {
      const f = file(name, bytes);
      for (const chunk of [4096, 1 << 20]) {
        const on = readWith(true, f, chunk);
        const off = readWith(false, f, chunk);
        expect(off.backend, name).toBe('zlib');
        expect(on.backend, name).toBe(backend);
        expect(off.error, name).toBeUndefined();
        expect(on.error, name).toBeUndefined();
        expect(on.bytes.equals(text), `${name} ${chunk}`).toBe(true);
        expect(off.bytes.equals(text), `${name} ${chunk}`).toBe(true);
      }
    }
    const empty = readWith(true, file('empty-member.gz', gzipSync(Buffer.alloc(0))), 4096);
    expect(empty.bytes.length).toBe(0);
    expect(empty.error).toBeUndefined();
  });

  it('the same typed errors and the same bytes before them: truncated, empty, corrupt, garbage after a member, not gzip, a wrong header CRC', async () => {
    const corrupt = Buffer.from(gz);
    for (let i = 100; i < 140; i++) corrupt[i] = corrupt[i]! ^ 0x5a;
    const cases: [string, Buffer][] = [
      ['truncated.gz', gz.subarray(0, gz.length - 40)],
      ['truncated-trailer.gz', gz.subarray(0, gz.length - 3)],
      ['cut-header.gz', gz.subarray(0, 5)],
      ['empty.gz', Buffer.alloc(0)],
      ['corrupt.gz', corrupt],
      ['garbage.gz', Buffer.concat([gz, Buffer.from('trailing garbage')])],
      ['plain.gz', Buffer.from('{"id": "1", "text": "not compressed"}\n')],
      ['bad-hcrc.gz', gzipWithHeaderCrc(text, false)],
    ];
    for (const [name, bytes] of cases) {
      const f = file(name, bytes);
      const on = readWith(true, f, 65536);
      const off = readWith(false, f, 65536);
      expect(on.error, name).toBeDefined();
      expect(on.error, name).toBe(off.error);
      expect(on.bytes.equals(off.bytes), name).toBe(true);
      expect(on.backend, name).toBe('zlib');  // libdeflate failed (or was not tried): zlib read it again
      const want = await nodeGunzip(f);
      expect(on.error, name).toBe(want.error);
    }
  });

  it('a file over 16 MiB streams through zlib even with libdeflate on, with the same bytes', () => {
    // incompressible bytes at level 1: just over 16 MiB compressed
    const big = randomBytes(17 << 20);
    const f = file('big.gz', gzipSync(big, { level: 1 }));
    const on = readWith(true, f, 1 << 20);
    expect(on.backend).toBe('zlib');
    expect(on.error).toBeUndefined();
    expect(on.bytes.equals(big)).toBe(true);
  });
});
