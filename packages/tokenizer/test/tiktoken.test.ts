/**
 * tiktoken ranks from js-tiktoken: OLMo-2's dolma2 tokenizer rebuilt from cl100k_base + specials is
 * the same tokenizer as ../shared/tokenizers/allenai_dolma2.json (same merges, same config hash) and
 * encodes identically to it and to js-tiktoken / tiktoken on real text.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { getEncoding } from 'js-tiktoken';
import { beforeAll, describe, expect, it } from 'vitest';
import { dolma2SpecialTokens, Tokenizer } from '../src/index.js';
import { ADVERSARIAL, hasShared, hf, mobyDick, sample, sharedTexts, tokenizersDir } from './helpers.js';

const require = createRequire(import.meta.url);
let wasm: { get_encoding(name: string): { encode(s: string, a?: unknown, d?: unknown): Uint32Array; free(): void } } | null = null;
try { wasm = require('tiktoken'); } catch { console.warn('[tokenizer tests] tiktoken (wasm) not installed: skipping its comparison'); }

describe('fromTiktoken', () => {
  let cl100k: Tokenizer;
  beforeAll(async () => {
    cl100k = await Tokenizer.fromTiktoken('cl100k_base', { specialTokens: dolma2SpecialTokens() });
  });

  it.skipIf(!hasShared)('dolma2 from cl100k ranks + specials == allenai_dolma2.json (merges, vocab, config hash)', async () => {
    const file = JSON.parse(readFileSync(join(tokenizersDir, 'allenai_dolma2.json'), 'utf8'));
    const mine = cl100k.toJSON() as typeof file;
    expect(mine.model.merges).toEqual(file.model.merges);
    expect(mine.model.vocab).toEqual(file.model.vocab);
    expect(mine.added_tokens).toEqual(file.added_tokens);
    expect(mine.pre_tokenizer).toEqual(file.pre_tokenizer);
    const fromFile = Tokenizer.fromJSON(file);
    expect(cl100k.hash()).toBe(fromFile.hash());
  });

  it.skipIf(!hasShared)('encodes real + adversarial text exactly like the HF dolma2 file and js-tiktoken', async () => {
    const theirs = hf.Tokenizer.fromFile(join(tokenizersDir, 'allenai_dolma2.json'));
    const jt = getEncoding('cl100k_base');
    const docs = [...sample(sharedTexts(), 300_000), ...sample(mobyDick(), 200_000), ...ADVERSARIAL];
    const want = await theirs.encodeBatch(docs, { addSpecialTokens: false });
    for (let i = 0; i < docs.length; i++) {
      const got = cl100k.encode(docs[i]!);
      expect(got).toEqual(want[i]!.getIds());
      // js-tiktoken spells the contractions out case by case, so "'ſ" (long s) differs there only
      if (!docs[i]!.includes('<|') && !docs[i]!.includes('ſ')) expect(got).toEqual(jt.encode(docs[i]!, [], []));
    }
  });

  it.skipIf(!wasm)('agrees with the tiktoken wasm package on cl100k (adversarial set)', () => {
    const enc = wasm!.get_encoding('cl100k_base');
    for (const s of ADVERSARIAL) {
      if (s.includes('<|') || !s.isWellFormed()) continue;
      expect(cl100k.encode(s), JSON.stringify(s)).toEqual(Array.from(enc.encode(s, [], [])));
    }
    enc.free();
  });

  it.each(['o200k_base', 'r50k_base', 'p50k_base', 'gpt2'])('%s matches js-tiktoken', async (name) => {
    const tok = await Tokenizer.fromTiktoken(name);
    const jt = getEncoding(name as 'o200k_base');
    const docs = [...ADVERSARIAL.filter((s) => !s.includes('<|') && !s.includes('ſ')), ...sample(mobyDick(), 60_000)];
    for (const s of docs) expect(tok.encode(s), JSON.stringify(s.slice(0, 50))).toEqual(jt.encode(s, [], []));
    expect(tok.eosTokenId).toBe(name === 'o200k_base' ? 199999 : 50256);
    expect(tok.decode(tok.encode('round trip ✓'))).toBe('round trip ✓');
  });

  it('p50k_base: the whitespace-run tokens (ids 50257..50280) encode like js-tiktoken and the saved tokenizer.json encodes identically in HF tokenizers', async () => {
    const tok = await Tokenizer.fromTiktoken('p50k_base');
    const jt = getEncoding('p50k_base');
    const code = ['def f(x):\n    if x:\n        return  x\n\t\treturn\n', ' '.repeat(30) + 'end', 'a' + ' '.repeat(24) + 'b', '\n\n\n   \n'];
    let wsTokens = 0;
    for (const s of code) {
      const ids = tok.encode(s);
      expect(ids, JSON.stringify(s)).toEqual(jt.encode(s, [], []));
      wsTokens += ids.filter((i) => i >= 50257 && i <= 50280).length;
      expect(tok.decode(ids)).toBe(s);
    }
    expect(wsTokens).toBeGreaterThan(0); // p50k's extra tokens (runs of spaces) are really used
    for (const name of ['p50k_base', 'gpt2']) {
      const t = await Tokenizer.fromTiktoken(name);
      const theirs = hf.Tokenizer.fromString(JSON.stringify(t.toJSON()));
      const docs = [...code, ...ADVERSARIAL.filter((x) => !x.includes('<|') && x.isWellFormed()), ...sample(mobyDick(), 30_000)];
      const want = await theirs.encodeBatch(docs, { addSpecialTokens: false });
      docs.forEach((d, i) => expect(t.encode(d), `${name}: ${JSON.stringify(d.slice(0, 40))}`).toEqual(want[i]!.getIds()));
    }
  });

  it('unknown encoding → TOKENIZER_INVALID', async () => {
    await expect(Tokenizer.fromTiktoken('nope')).rejects.toMatchObject({ code: 'TOKENIZER_INVALID' });
  });
});
