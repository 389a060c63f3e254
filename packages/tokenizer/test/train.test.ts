/**
 * BPE training: the trained tokenizer saved as tokenizer.json loads in HF tokenizers and encodes
 * identically there and here; training is deterministic. (Training speed is measured in
 * bench/tokenizer/train.mjs, not here: a timed assertion in a test on a shared machine proves nothing.)
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Tokenizer } from '../src/index.js';
import { ADVERSARIAL, hf, mobyDick, sample, sotu } from './helpers.js';

describe('Tokenizer.train', () => {
  let train: string[];
  let heldOut: string[];
  beforeAll(() => {
    const md = mobyDick();
    train = [...md.slice(0, 100), ...sample(sotu(), 800_000)];
    heldOut = [...md.slice(100), ...ADVERSARIAL];
  });

  it.each(['gpt2', 'cl100k'])('pattern %s: saved file loads in HF and encodes identically', async (pattern) => {
    const tok = Tokenizer.train(train, { vocabSize: 2048, minFrequency: 2, specialTokens: ['<|endoftext|>', '<|pad|>'], pattern });
    expect(tok.vocabSize).toBe(2048);
    expect(tok.eosTokenId).toBe(0);
    expect(tok.padTokenId).toBe(1);

    const path = join(mkdtempSync(join(tmpdir(), 'olmo-train-')), 'tokenizer.json');
    await tok.save(path);
    const theirs = hf.Tokenizer.fromFile(path);
    expect(theirs.getVocabSize(true)).toBe(2048);
    const docs = [...heldOut, 'a<|endoftext|>b<|pad|>'];
    const want = await theirs.encodeBatch(docs, { addSpecialTokens: false });
    for (let i = 0; i < docs.length; i++) {
      const got = tok.encode(docs[i]!);
      expect(got, JSON.stringify(docs[i]!.slice(0, 40))).toEqual(want[i]!.getIds());
      if (docs[i]!.isWellFormed()) expect(tok.decode(got)).toBe(docs[i]);
    }
    // compression sanity: trained merges are used
    const sampleText = heldOut[0]!;
    expect(tok.encode(sampleText).length).toBeLessThan(Buffer.byteLength(sampleText) / 2.5);
    const back = await Tokenizer.fromFile(path);
    expect(back.hash()).toBe(tok.hash());
  });

  it('is deterministic and respects minFrequency', () => {
    const a = Tokenizer.train(['ab ab ab cd'], { vocabSize: 300, minFrequency: 2 });
    const b = Tokenizer.train(['ab ab ab cd'], { vocabSize: 300, minFrequency: 2 });
    expect(a.hash()).toBe(b.hash());
    // 'a b' (3×), 'Ġ a' (2×), 'Ġa b'(2×) qualify; 'c d' (1×) does not
    expect(a.vocabSize).toBeLessThan(300);
    expect(a.tokenToId('ab')).toBeDefined();
    expect(a.tokenToId('cd')).toBeUndefined();
    expect(() => Tokenizer.train(['x'], { vocabSize: 10 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('a merge that rebuilds a special token string reuses its id; HF still agrees', async () => {
    const tok = Tokenizer.train(['<|endoftext|>'.repeat(40), 'x<|endoftext|>y '.repeat(20)], { vocabSize: 320, minFrequency: 2 });
    const path = join(mkdtempSync(join(tmpdir(), 'olmo-train-')), 'tokenizer.json');
    await tok.save(path);
    const theirs = hf.Tokenizer.fromFile(path);
    for (const s of ['<|endoftext|>', 'a <|endoftext|> b', '<|endoftext', 'x<|endoftext|>y']) {
      expect(tok.encode(s)).toEqual((await theirs.encode(s, undefined, { addSpecialTokens: false })).getIds());
    }
  });
});
