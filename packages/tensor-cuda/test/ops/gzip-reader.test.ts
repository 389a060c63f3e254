// GzipFileReader (native/cpu/gzip_reader.cc) against Node's own zlib Gunzip stream on the same files:
// the same bytes for normal, multi-member and zero-padded files read through buffers smaller than the
// output, and the same error messages for truncated, empty, corrupt and garbage-trailed files.
import { createReadStream, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createGunzip, gzipSync } from 'node:zlib';
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
