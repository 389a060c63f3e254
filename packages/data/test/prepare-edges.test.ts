/** `olmo data prepare` at the edges: progress counts each unit once, empty corpora leave nothing behind, empty texts warn. */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { prepare, runDataCli, type PrepareProgress } from '../src/index.js';
import { ByteTokenizer } from './fake-tokenizer.js';

const dir = mkdtempSync(path.join(tmpdir(), 'olmo-prep-edges-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tok = new ByteTokenizer();
const jsonl = (name: string, texts: string[]) => {
  const f = path.join(dir, name);
  writeFileSync(f, texts.map((text, i) => JSON.stringify({ text, id: i })).join('\n') + '\n');
  return f;
};

describe('prepare edges', () => {
  it('progress counts each unit once: the last report equals the summary', async () => {
    const a = jsonl('a.jsonl', Array.from({ length: 50 }, (_, i) => `document ${i} `.repeat(20)));
    const b = jsonl('b.jsonl', Array.from({ length: 30 }, (_, i) => `other ${i} `.repeat(10)));
    const events: PrepareProgress[] = [];
    const r = await prepare({ tokenizer: tok, out: path.join(dir, 'p'), sources: [a, b], progress: (p) => events.push({ ...p }), batchChars: 2000 });
    const last = events.at(-1)!;
    expect([last.bytes, last.documents]).toEqual([r.bytes, r.manifest.totalDocuments]);
    expect(r.manifest.totalDocuments).toBe(80);
    for (let i = 1; i < events.length; i++) {
      expect(events[i]!.bytes).toBeGreaterThanOrEqual(events[i - 1]!.bytes);
      expect(events[i]!.documents).toBeLessThanOrEqual(80);
    }
  });

  it('an empty corpus fails with DATA_CORRUPT and leaves no files or folders it created', async () => {
    const blank = path.join(dir, 'blank.jsonl');
    writeFileSync(blank, '\n\n');
    const out = path.join(dir, 'empty-out');
    await expect(prepare({ tokenizer: tok, out, sources: [blank], progress: false })).rejects.toMatchObject({ code: 'DATA_CORRUPT' });
    expect(existsSync(out)).toBe(false);
    // into an existing folder: its own files stay, ours go
    const existing = path.join(dir, 'existing');
    mkdirSync(existing);
    writeFileSync(path.join(existing, 'keep.txt'), 'x');
    await expect(prepare({ tokenizer: tok, out: existing, sources: [blank], progress: false })).rejects.toMatchObject({ code: 'DATA_CORRUPT' });
    expect(readdirSync(existing)).toEqual(['keep.txt']);
  });

  it('a corpus of only empty texts is prepared with a warning that gives the counts', async () => {
    const { Tokenizer } = await import('@olmo/tokenizer');
    const tokFile = path.join(dir, 'tok.json');
    await Tokenizer.train(['some text to learn merges from '.repeat(20)], { vocabSize: 270, specialTokens: ['<|endoftext|>'] }).save(tokFile);
    const src = jsonl('empties.jsonl', ['', '   ', '', '\n']);
    let out = '', err = '';
    const code = await runDataCli(['prepare', '--tokenizer', tokFile, '--out', path.join(dir, 'e'), '--quiet', src], { stdout: (s) => { out += s; }, stderr: (s) => { err += s; } });
    expect(code, err).toBe(0);
    expect(err).toBe('warning: 4 of 4 documents are empty or whitespace only (each is a lone EOS token): the corpus has no text\n');
    expect(out, out).toMatch(/documents 4 {2}tokens \d+ /);
    const r = await prepare({ tokenizer: tok, out: path.join(dir, 'e2'), sources: [jsonl('mixed.jsonl', ['a', '', 'b'])], progress: false });
    expect(r.emptyDocuments).toBe(1);
  });
});
