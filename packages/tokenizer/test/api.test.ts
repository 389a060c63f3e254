/**
 * Public API behaviour: OLMo special-token semantics, truncation, offsets (vs HF), eos/pad
 * resolution (the OLMo-1 eos trap), save/load/hash, batch encoding on worker threads.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Tokenizer, type TokenizerLike } from '../src/index.js';
import { ADVERSARIAL, hasShared, hf, sharedTexts, TOKENIZER_FILES, tokenizersDir } from './helpers.js';
import { ensureFreshDist } from '../../../test/support/fresh-dist.js';

/** HF offsets count Unicode scalar values; ours are UTF-16 indices. */
function charToUtf16(s: string): number[] {
  const map: number[] = [];
  let u = 0;
  for (const ch of s) { map.push(u); u += ch.length; }
  map.push(u);
  return map;
}

describe.skipIf(!hasShared)('OLMo tokenizers: special tokens, eos trap, truncation', () => {
  let v15: Tokenizer;
  let pii: Tokenizer;
  let dolma2: Tokenizer;
  beforeAll(async () => {
    [v15, pii, dolma2] = await Promise.all(TOKENIZER_FILES.map((f) => Tokenizer.fromFile(join(tokenizersDir, f))));
  });

  it('eos/pad ids: dolma-v1_5 eos 50279, pii-special id 50279 is |||IP_ADDRESS|||, dolma2 eos 100257', () => {
    expect(v15.eosTokenId).toBe(50279);
    expect(v15.idToToken(50279)).toBe('<|endoftext|>');
    expect(v15.padTokenId).toBe(1);
    expect(pii.idToToken(50279)).toBe('|||IP_ADDRESS|||');
    expect(pii.eosTokenId).toBe(0);
    expect(dolma2.eosTokenId).toBe(100257);
    expect(dolma2.padTokenId).toBe(100277);
    const o = Tokenizer.fromJSON(v15.toJSON(), { eosToken: '<|padding|>' });
    expect(o.eosTokenId).toBe(1);
    const tl: TokenizerLike = v15;
    expect(tl.decode(tl.encode('x'))).toBe('x');
  });

  it('appends eos only when asked, and not twice', () => {
    const ids = v15.encode('Hello world');
    expect(ids).toEqual([12092, 1533]);
    expect(v15.encode('Hello world', { addSpecialTokens: true })).toEqual([...ids, 50279]);
    expect(v15.encode('Hello world<|endoftext|>', { addSpecialTokens: true })).toEqual([...ids, 50279]);
    expect(v15.encode('', { addSpecialTokens: true })).toEqual([50279]);
    expect(v15.encodeBatch(['a', 'b'], { addSpecialTokens: true })).toEqual([[66, 50279], [67, 50279]]);
  });

  it('truncates (room kept for eos; left or right)', () => {
    const ids = dolma2.encode('one two three four five six');
    expect(dolma2.encode('one two three four five six', { maxLength: 3 })).toEqual(ids.slice(0, 3));
    expect(dolma2.encode('one two three four five six', { maxLength: 3, truncationSide: 'left' })).toEqual(ids.slice(-3));
    expect(dolma2.encode('one two three four five six', { maxLength: 3, addSpecialTokens: true })).toEqual([...ids.slice(0, 2), 100257]);
    const t = Tokenizer.fromJSON(dolma2.toJSON(), { maxLength: 2 });
    expect(t.encode('one two three')).toHaveLength(2);
    expect(() => dolma2.encode('x', { maxLength: -1 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('decode skips special tokens on request', () => {
    const ids = dolma2.encode('a<|endoftext|>b<|extra_id_1|>');
    expect(dolma2.decode(ids)).toBe('a<|endoftext|>b<|extra_id_1|>');
    // <|extra_id_N|> is a non-special added token in dolma2: it stays
    expect(dolma2.decode(ids, { skipSpecialTokens: true })).toBe('ab<|extra_id_1|>');
  });

  it.each([0, 1, 2])('offsets match HF (converted to UTF-16) for tokenizer %i', async (k) => {
    const ours = [v15, pii, dolma2][k]!;
    const theirs = hf.Tokenizer.fromFile(join(tokenizersDir, TOKENIZER_FILES[k]!));
    const texts = [...ADVERSARIAL.filter((s) => s.isWellFormed()), sharedTexts()[0]!.slice(0, 5000)];
    for (const s of texts) {
      const got = ours.encodeWithOffsets(s);
      const enc = await theirs.encode(s, undefined, { addSpecialTokens: false });
      expect(got.ids).toEqual(enc.getIds());
      const map = charToUtf16(s);
      const want = enc.getOffsets().map(([a, b]) => [map[a!], map[b!]]);
      expect(got.offsets, JSON.stringify(s.slice(0, 60))).toEqual(want);
    }
  });

  it('save → fromFile round trip is byte-identical in behaviour and hash; write is atomic', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'olmo-tok-'));
    const path = join(dir, 'sub/tokenizer.json');
    await dolma2.save(path);
    expect(readdirSync(join(dir, 'sub'))).toEqual(['tokenizer.json']);
    const back = await Tokenizer.fromFile(path);
    expect(back.hash()).toBe(dolma2.hash());
    expect(dolma2.hash()).toMatch(/^[0-9a-f]{64}$/);
    expect(v15.hash()).not.toBe(pii.hash());
    const s = 'Round trip <|im_start|> ✓';
    expect(back.encode(s)).toEqual(dolma2.encode(s));
    const theirs = hf.Tokenizer.fromFile(path);
    expect((await theirs.encode(s, undefined, { addSpecialTokens: false })).getIds()).toEqual(dolma2.encode(s));
    expect(JSON.parse(readFileSync(path, 'utf8')).model.type).toBe('BPE');
  });
});

describe.skipIf(!hasShared)('encodeBatchAsync on worker threads', () => {
  // workers run compiled JS: rebuild dist when a source is newer (or refuse, OLMO_NO_REBUILD=1)
  beforeAll(() => { ensureFreshDist(['tokenizer']); }, 300_000);
  it('2 threads give the same ids as encodeBatch, in order', async () => {
    const tok = await Tokenizer.fromFile(join(tokenizersDir, 'allenai_dolma2.json'));
    const docs = sharedTexts().slice(0, 60);
    const want = tok.encodeBatch(docs, { addSpecialTokens: true });
    const got = await tok.encodeBatchAsync(docs, { threads: 2, addSpecialTokens: true });
    expect(got).toEqual(want);
    await tok.close();
  });
});
