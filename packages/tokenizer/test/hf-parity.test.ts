/**
 * Oracle parity: every shared tokenizer encodes real text and the adversarial set to exactly the ids
 * HF `tokenizers` (Rust) produces, and decodes exactly as HF does.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Tokenizer } from '../src/index.js';
import { ADVERSARIAL, evalTexts, hasShared, hf, mobyDick, sample, sharedTexts, sotu, TOKENIZER_FILES, tokenizersDir } from './helpers.js';

// ~1.2 MB of mixed real text per tokenizer keeps the suite fast; OLMO_TOKENIZER_FULL=1 uses everything.
const FULL = process.env.OLMO_TOKENIZER_FULL === '1';
const budget = (n: number) => (FULL ? Infinity : n);

let corpus: string[] = [];
beforeAll(() => {
  corpus = [
    ...sample(sharedTexts(), budget(400_000)),
    ...sample(evalTexts(), budget(300_000)),
    ...sample(mobyDick(), budget(250_000)),
    ...sample(sotu(), budget(250_000)),
  ];
});

describe.skipIf(!hasShared).each(TOKENIZER_FILES)('%s matches HF tokenizers', (file) => {
  let ours: Tokenizer;
  let theirs: InstanceType<typeof hf.Tokenizer>;
  beforeAll(async () => {
    ours = await Tokenizer.fromFile(join(tokenizersDir, file));
    theirs = hf.Tokenizer.fromFile(join(tokenizersDir, file));
  });

  it('vocab size and token ↔ id agree', () => {
    expect(ours.vocabSize).toBe(theirs.getVocabSize(true));
    for (const id of [0, 1, 2, 100, 1000, 30000, 50253, 50254, 50276, 50277, 50279, ours.vocabSize - 1]) {
      if (id >= ours.vocabSize) continue;
      expect(ours.idToToken(id)).toBe(theirs.idToToken(id) ?? undefined);
      const t = ours.idToToken(id);
      if (t !== undefined) expect(ours.tokenToId(t)).toBe(theirs.tokenToId(t) ?? undefined);
    }
  });

  it('adversarial Unicode set: identical ids and decode', async () => {
    for (const s of ADVERSARIAL) {
      const want = (await theirs.encode(s, undefined, { addSpecialTokens: false })).getIds();
      expect(ours.encode(s), JSON.stringify(s)).toEqual(want);
      expect(ours.decode(want), JSON.stringify(s)).toBe(await theirs.decode(want, false));
      expect(ours.decode(want, { skipSpecialTokens: true })).toBe(await theirs.decode(want, true));
    }
  });

  it('real text (shared/text, eval, Moby Dick, SOTU): identical ids, lossless round trip', async () => {
    const want = await theirs.encodeBatch(corpus, { addSpecialTokens: false });
    let chars = 0;
    for (let i = 0; i < corpus.length; i++) {
      const got = ours.encode(corpus[i]!);
      const exp = want[i]!.getIds();
      if (got.length !== exp.length || got.some((v, k) => v !== exp[k])) expect(got, `doc ${i}: ${corpus[i]!.slice(0, 80)}`).toEqual(exp);
      // byte-level BPE without lossy normalization is lossless on NFC text
      const d = ours.decode(got);
      if (d !== corpus[i]!.normalize('NFC')) expect(d).toBe(corpus[i]!.normalize('NFC'));
      chars += corpus[i]!.length;
    }
    expect(chars).toBeGreaterThan(FULL ? 5e6 : 1e6);
  });
});
