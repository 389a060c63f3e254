import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BloomFilter, bloomSize } from '../../src/curation/bloom.js';
import { runDedupe } from '../../src/curation/dedupe.js';
import { expectOlmoError, readJsonl, tmp, writeDocs } from './helpers.js';

describe('Bloom filter', () => {
  it('is sized by the textbook formulas m = -n ln p / ln²2, k = m/n ln 2', () => {
    for (const [n, p] of [[1000, 0.01], [1e6, 1e-3], [12345, 1e-6]] as const) {
      const { bits, hashes } = bloomSize(n, p);
      const m = (-n * Math.log(p)) / (Math.log(2) ** 2);
      expect(bits).toBe(Math.ceil(m));
      expect(hashes).toBe(Math.round((m / n) * Math.log(2)));
    }
  });
  for (const p of [0.01, 0.001]) {
    it(`measured false-positive rate is within 1.5x of the configured ${p}`, () => {
      const n = 20_000;
      const f = BloomFilter.create(n, p);
      for (let i = 0; i < n; i++) f.add(`inserted paragraph number ${i} with some text`);
      for (let i = 0; i < n; i++) expect(f.has(`inserted paragraph number ${i} with some text`)).toBe(true); // no false negatives
      const q = 400_000;
      let fp = 0;
      for (let i = 0; i < q; i++) if (f.has(`a different query ${i} that was never inserted`)) fp++;
      const rate = fp / q;
      expect(rate).toBeLessThan(1.5 * p);
      expect(rate).toBeGreaterThan(p / 1.5);
    });
  }
  it('saves and loads (same answers); a damaged file is DATA_CORRUPT', async () => {
    const d = tmp();
    const f = BloomFilter.create(1000, 0.01);
    for (let i = 0; i < 500; i++) f.add(`k${i}`);
    const file = path.join(d, 'f.bloom');
    f.save(file);
    const g = BloomFilter.load(file);
    for (let i = 0; i < 2000; i++) expect(g.has(`k${i}`)).toBe(f.has(`k${i}`));
    expect(g.inserted).toBe(500);
    writeFileSync(file, readFileSync(file).subarray(0, 100));
    await expectOlmoError(() => BloomFilter.load(file), 'DATA_CORRUPT', file);
    writeFileSync(file, 'not a filter');
    await expectOlmoError(() => BloomFilter.load(file), 'DATA_CORRUPT', 'magic');
  });
});

describe('dedupe — Dolma src/deduper.rs write_attributes', () => {
  it('paragraphs: spans per Dolma\'s offset rules (newline counted unless offset >= byte length - 1), empty paragraphs deduped unless skip_empty', async () => {
    const root = tmp();
    writeDocs(root, 'a.jsonl', [
      { id: '1', text: 'alpha\nbeta\n' }, // alpha [0,6) beta [6,10) "" [10,10): all new
      { id: '2', text: 'beta\ngamma' }, // beta [0,5) duplicate; gamma [5,10)
      { id: '3', text: 'x\n\ny' }, // "" at [2,3) is a duplicate of doc 1's empty paragraph
      { id: '4', text: '\u00e9\u00e9\u00e9\nbeta' }, // 8 chars, 11 bytes: "ééé" [0,4); "beta" ends at 8 < 11-1, so +1: [4,9) (past the text: Dolma's byte/char mix)
      { id: '5', text: '' }, // empty text: no attribute at all
    ]);
    await runDedupe({ documents: [path.join(root, 'documents')], name: 'dd', paragraphs: { attributeName: 'bff_duplicate_paragraph_spans' }, bloom: { file: path.join(root, 'p.bloom'), expectedItems: 1000, falsePositiveRate: 1e-9 }, quiet: true });
    const out = readJsonl<{ id: string; attributes: Record<string, number[][]> }>(path.join(root, 'attributes/dd/a.jsonl'));
    expect(out).toEqual([
      { id: '1', attributes: { bff_duplicate_paragraph_spans: [] } },
      { id: '2', attributes: { bff_duplicate_paragraph_spans: [[0, 5, 1]] } },
      { id: '3', attributes: { bff_duplicate_paragraph_spans: [[2, 3, 1]] } },
      { id: '4', attributes: { bff_duplicate_paragraph_spans: [[4, 9, 1]] } },
      { id: '5', attributes: {} },
    ]);
    // skip_empty: the blank paragraph of doc 3 is not a duplicate any more
    await runDedupe({ documents: [path.join(root, 'documents')], name: 'dd2', paragraphs: { attributeName: 'p' }, skipEmpty: true, bloom: { file: path.join(root, 'p2.bloom'), expectedItems: 1000, falsePositiveRate: 1e-9 }, quiet: true });
    expect(readJsonl<{ attributes: Record<string, unknown> }>(path.join(root, 'attributes/dd2/a.jsonl'))[2]!.attributes).toEqual({ p: [] });
  });

  it('documents by $.metadata.url (Bloom) and by $.text (exact): a repeat gets [[0, len(key) bytes, 1]], a first occurrence nothing', async () => {
    const root = tmp();
    writeDocs(root, 'x/a.jsonl.gz', [
      { id: 'a', text: 'same', metadata: { url: 'http://e.com/1' } },
      { id: 'b', text: 'other', metadata: { url: 'http://e.com/2' } },
    ]);
    writeDocs(root, 'x/b.jsonl', [
      { id: 'c', text: 'same', metadata: { url: 'http://e.com/1' } },
      { id: 'd', text: 'new', metadata: { url: 'http://é.com/3' } },
    ]);
    await runDedupe({ documents: [path.join(root, 'documents/**/*.jsonl*')], name: 'urls', documentKey: { attributeName: 'dup_url', key: '$.metadata.url' }, bloom: { file: path.join(root, 'u.bloom'), expectedItems: 100, falsePositiveRate: 1e-9 }, quiet: true });
    expect(readJsonl(path.join(root, 'attributes/urls/x/a.jsonl.gz')).map((x) => x.attributes)).toEqual([{}, {}]);
    expect(readJsonl(path.join(root, 'attributes/urls/x/b.jsonl')).map((x) => x.attributes)).toEqual([{ dup_url: [[0, 14, 1]] }, {}]);
    await runDedupe({ documents: [path.join(root, 'documents')], name: 'texts', documentKey: { attributeName: 'dup_text', key: '$.text' }, exact: true, bloom: { file: '' }, quiet: true });
    expect(readJsonl(path.join(root, 'attributes/texts/x/b.jsonl')).map((x) => x.attributes)).toEqual([{ dup_text: [[0, 4, 1]] }, {}]);
  });

  it('a run that fails mid-way and is restarted writes the same attributes as an uninterrupted run', async () => {
    const docs = (k: number): object[] => Array.from({ length: 50 }, (_, i) => ({ id: `${k}-${i}`, text: `para ${i % 7}\nunique ${k} ${i}\nshared ${i % 3}` }));
    const clean = tmp();
    for (let k = 0; k < 3; k++) writeDocs(clean, `f${k}.jsonl`, docs(k));
    const opts = (root: string) => ({ documents: [path.join(root, 'documents')], name: 'pd', paragraphs: { attributeName: 'bff_duplicate_paragraph_spans' }, bloom: { file: path.join(root, 'pd.bloom'), expectedItems: 10_000, falsePositiveRate: 1e-9 }, quiet: true });
    await runDedupe(opts(clean));

    const broken = tmp();
    writeDocs(broken, 'f0.jsonl', docs(0));
    writeDocs(broken, 'f1.jsonl', docs(1));
    writeDocs(broken, 'f2.jsonl', [...docs(2).slice(0, 20).map((d) => JSON.stringify(d)), '{"id": broken']);
    await expectOlmoError(runDedupe(opts(broken)), 'DATA_CORRUPT', 'f2.jsonl:21');
    // no temp files are left behind, f2 has no output, f0/f1 are done
    expect(readdirSync(path.join(broken, 'attributes/pd')).sort()).toEqual(['f0.jsonl', 'f1.jsonl']);
    writeDocs(broken, 'f2.jsonl', docs(2));
    await runDedupe(opts(broken));
    for (const f of ['f0.jsonl', 'f1.jsonl', 'f2.jsonl']) {
      expect(readFileSync(path.join(broken, 'attributes/pd', f), 'utf8')).toBe(readFileSync(path.join(clean, 'attributes/pd', f), 'utf8'));
    }
  });
});
