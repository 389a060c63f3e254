import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError, MemMapDataset, OlmoError, prepare } from '../src/index.js';
import { ByteTokenizer } from './fake-tokenizer.js';

const root = mkdtempSync(path.join(tmpdir(), 'olmo-memmap-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function expectCode(fn: () => unknown, code: string, pathPart?: string) {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(OlmoError);
    expect((e as OlmoError).code).toBe(code);
    if (pathPart) {
      expect((e as DataError).path).toContain(pathPart);
      expect((e as Error).message).toContain(pathPart);
    }
    return;
  }
  expect.unreachable(`expected ${code}`);
}
async function expectCodeAsync(p: Promise<unknown>, code: string, pathPart?: string) {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(OlmoError);
    expect((e as OlmoError).code).toBe(code);
    if (pathPart) expect((e as Error).message).toContain(pathPart);
    return;
  }
  expect.unreachable(`expected ${code}`);
}

describe('MemMapDataset (OLMo semantics)', () => {
  const f1 = path.join(root, 'x.npy');
  const f2 = path.join(root, 'y.npy');
  const a = new Uint16Array(103).map((_, i) => i); // 10 instances of 10, 3 dropped
  const b = new Uint16Array(25).map((_, i) => 1000 + i); // 2 instances
  writeFileSync(f1, a);
  writeFileSync(f2, b);

  it('chunks each file into seqLen instances, remainder dropped, indexed across files', async () => {
    const ds = await MemMapDataset.open([f1, f2], { seqLen: 10, dtype: 'uint16', metadata: [{ label: 'x' }, { label: 'y' }] });
    expect(ds.length).toBe(12);
    expect(Array.from(ds.get(3).inputIds)).toEqual([30, 31, 32, 33, 34, 35, 36, 37, 38, 39]);
    const last = ds.get(11);
    expect(last).toMatchObject({ index: 11, source: f2, offset: 10, metadata: { label: 'y' } });
    expect(last.inputIds[0]).toBe(1010);
    expect(last.inputIds).toBeInstanceOf(Int32Array);
    expectCode(() => ds.get(12), 'INVALID_ARGUMENT');
    ds.close();
  });

  it('uint32 files and eos-derived doc lengths', async () => {
    const f = path.join(root, 'u32.npy');
    writeFileSync(f, new Uint32Array([70000, 5, 9, 70001, 9, 1, 2, 3]));
    const ds = await MemMapDataset.open(f, { seqLen: 4, dtype: 'uint32', eosTokenId: 9 });
    expect(Array.from(ds.get(0).inputIds)).toEqual([70000, 5, 9, 70001]);
    expect(ds.get(0).docLens).toEqual([3, 1]);
    expect(ds.get(1).docLens).toEqual([1, 3]);
  });

  it('bad input → typed errors naming the offending path', async () => {
    const odd = path.join(root, 'odd.npy');
    writeFileSync(odd, Buffer.alloc(7));
    expectCode(() => MemMapDataset.openSync([f1, odd], { seqLen: 2, dtype: 'uint16' }), 'DATA_CORRUPT', 'odd.npy');
    const four = path.join(root, 'four.npy');
    writeFileSync(four, Buffer.alloc(6));
    expectCode(() => MemMapDataset.openSync(four, { seqLen: 1, dtype: 'uint32' }), 'DATA_CORRUPT', 'four.npy');
    expectCode(() => MemMapDataset.openSync([path.join(root, 'missing.npy')], { seqLen: 2, dtype: 'uint16' }), 'NOT_FOUND', 'missing.npy');
    const short = path.join(root, 'short.npy');
    writeFileSync(short, new Uint16Array(5));
    expectCode(() => MemMapDataset.openSync(short, { seqLen: 8, dtype: 'uint16' }), 'DATA_CORRUPT', 'short.npy');
    const big = path.join(root, 'bigid.npy');
    writeFileSync(big, new Uint16Array([1, 2, 3, 60000]));
    const ds = MemMapDataset.openSync(big, { seqLen: 2, dtype: 'uint16', vocabSize: 50280 });
    expect(ds.get(0).inputIds[1]).toBe(2);
    expectCode(() => ds.get(1), 'DATA_CORRUPT', 'bigid.npy');
    expectCode(() => MemMapDataset.openSync(f1, { seqLen: 0, dtype: 'uint16' }), 'INVALID_ARGUMENT');
    expectCode(() => MemMapDataset.openSync(f1, { seqLen: 2, dtype: 'int8' as 'uint16' }), 'INVALID_ARGUMENT');
  });

  it('prepared data: sidecar doc ids, manifest tokenizer/dtype checks', async () => {
    const src = path.join(root, 'docs.jsonl');
    writeFileSync(src, ['aaaa', 'bb', 'cccccc'].map((t) => JSON.stringify({ text: t })).join('\n'));
    const out = path.join(root, 'prep');
    const tok = new ByteTokenizer();
    await prepare({ tokenizer: tok, out, sources: [src], progress: false });
    // tokens: aaaa<eos> bb<eos> cccccc<eos> = 5 + 3 + 7 = 15 → 3 instances of 4 (+3 dropped)
    const ds = MemMapDataset.openSync(out, { seqLen: 4, dtype: 'uint16', tokenizer: { hash: tok.hash(), vocabSize: 257, eosTokenId: 256 } });
    expect(ds.length).toBe(3);
    expect(ds.get(0).docIds).toEqual([0]);
    expect(ds.get(1).docIds).toEqual([0, 1]);
    expect(ds.get(1).docLens).toEqual([1, 3]);
    expect(ds.get(1).docNames).toEqual(['1', '2']); // JSONL line numbers (no "id" field)
    expect(ds.get(2).docIds).toEqual([2]);
    expectCode(() => MemMapDataset.openSync(out, { seqLen: 4, dtype: 'uint16', tokenizer: { hash: 'other-tokenizer' } }), 'CONFIG_INVALID', 'manifest.json');
    expectCode(() => MemMapDataset.openSync(out, { seqLen: 4, dtype: 'uint16', tokenizer: { vocabSize: 50280 } }), 'CONFIG_INVALID', 'manifest.json');
    expectCode(() => MemMapDataset.openSync(out, { seqLen: 4, dtype: 'uint32' }), 'CONFIG_INVALID', 'manifest.json');
  });

  it('prepare rejects bad sources with typed errors', async () => {
    const tok = new ByteTokenizer();
    const empty = path.join(root, 'empty.jsonl');
    writeFileSync(empty, '');
    await expectCodeAsync(prepare({ tokenizer: tok, out: path.join(root, 'p1'), sources: [empty], progress: false }), 'DATA_CORRUPT', 'empty.jsonl');
    const badLine = path.join(root, 'bad.jsonl');
    writeFileSync(badLine, '{"text": "ok"}\n{"text": oops}\n');
    await expectCodeAsync(prepare({ tokenizer: tok, out: path.join(root, 'p2'), sources: [badLine], progress: false }), 'DATA_CORRUPT', 'bad.jsonl:2');
    const noText = path.join(root, 'notext.jsonl');
    writeFileSync(noText, '{"body": "x"}\n');
    await expectCodeAsync(prepare({ tokenizer: tok, out: path.join(root, 'p3'), sources: [noText], progress: false }), 'DATA_CORRUPT', 'notext.jsonl:1');
    const gz = path.join(root, 'corrupt.jsonl.gz');
    writeFileSync(gz, gzipSync('{"text": "x"}\n').subarray(0, 12));
    await expectCodeAsync(prepare({ tokenizer: tok, out: path.join(root, 'p4'), sources: [gz], progress: false }), 'DATA_CORRUPT', 'corrupt.jsonl.gz');
    await expectCodeAsync(prepare({ tokenizer: tok, out: path.join(root, 'p5'), sources: [path.join(root, 'nope.jsonl')], progress: false }), 'NOT_FOUND', 'nope.jsonl');
    mkdirSync(path.join(root, 'emptydir'), { recursive: true });
    await expectCodeAsync(prepare({ tokenizer: tok, out: path.join(root, 'p6'), sources: [path.join(root, 'emptydir')], progress: false }), 'NOT_FOUND', 'emptydir');
    const liar = { ...tok, encode: () => [300], decode: tok.decode, hash: tok.hash, eosTokenId: 256, vocabSize: 257 };
    const one = path.join(root, 'one.txt');
    writeFileSync(one, 'x');
    await expectCodeAsync(prepare({ tokenizer: liar, out: path.join(root, 'p7'), sources: [one], progress: false }), 'TOKENIZER_INVALID', 'one.txt');
  });
});
