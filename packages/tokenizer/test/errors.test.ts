/** Bad input fails with typed errors (OlmoError subclasses with a code), never a wrong encoding. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OlmoError, Tokenizer, TokenizerError } from '../src/index.js';

const tiny = () => ({
  added_tokens: [{ id: 5, content: '<eos>', special: true, normalized: false }],
  normalizer: null,
  pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, use_regex: true },
  decoder: { type: 'ByteLevel' },
  model: { type: 'BPE', vocab: { a: 0, b: 1, ab: 2, c: 3, abc: 4 }, merges: ['a b', ['ab', 'c']] },
});

describe('typed errors', () => {
  it('a missing tokenizer file is NOT_FOUND naming the path (not TOKENIZER_INVALID)', async () => {
    await expect(Tokenizer.fromFile('/nonexistent/tokenizer.json')).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('/nonexistent/tokenizer.json') });
  });
  it('a tiny hand-made tokenizer works (string and pair merges)', () => {
    const t = Tokenizer.fromJSON(tiny());
    expect(t.encode('abc')).toEqual([4]);
    expect(t.encode('ab<eos>')).toEqual([2, 5]);
    expect(t.decode([4, 5])).toBe('abc<eos>');
  });

  it('malformed JSON → TOKENIZER_INVALID', async () => {
    expect(() => Tokenizer.fromJSON('{"model": ')).toThrow(TokenizerError);
    const dir = mkdtempSync(join(tmpdir(), 'olmo-tok-'));
    writeFileSync(join(dir, 't.json'), '{ not json');
    await expect(Tokenizer.fromFile(join(dir, 't.json'))).rejects.toMatchObject({ code: 'TOKENIZER_INVALID' });
    await expect(Tokenizer.fromFile(join(dir, 'missing.json'))).rejects.toBeInstanceOf(OlmoError);
  });

  it('unknown model type / unsupported components name the component', () => {
    const e1 = (() => { try { Tokenizer.fromJSON({ ...tiny(), model: { type: 'Banana' } }); } catch (e) { return e; } })();
    expect(e1).toBeInstanceOf(TokenizerError);
    expect((e1 as TokenizerError).code).toBe('TOKENIZER_INVALID');
    expect(() => Tokenizer.fromJSON({ ...tiny(), model: { type: 'Unigram', vocab: [] } })).toThrow(/model Unigram/);
    expect(() => Tokenizer.fromJSON({ ...tiny(), normalizer: { type: 'Precompiled' } })).toThrow(expect.objectContaining({ code: 'TOKENIZER_UNSUPPORTED', message: expect.stringContaining('normalizer Precompiled') }));
    expect(() => Tokenizer.fromJSON({ ...tiny(), pre_tokenizer: { type: 'Metaspace' } })).toThrow(/pre_tokenizer Metaspace/);
    expect(() => Tokenizer.fromJSON({ ...tiny(), decoder: { type: 'CTC' } })).toThrow(/decoder CTC/);
    expect(() => Tokenizer.fromJSON({ ...tiny(), post_processor: { type: 'Whatever' } })).toThrow(/post_processor Whatever/);
    expect(() => Tokenizer.fromJSON({ ...tiny(), pre_tokenizer: { type: 'Split', pattern: { Regex: 'a(?x)b' }, behavior: 'Isolated' } })).toThrow(/Regex/);
  });

  it('missing merges / merges over unknown tokens → TOKENIZER_INVALID', () => {
    const m = tiny();
    expect(() => Tokenizer.fromJSON({ ...m, model: { type: 'BPE', vocab: m.model.vocab } })).toThrow(/merges/);
    expect(() => Tokenizer.fromJSON({ ...m, model: { type: 'BPE', vocab: m.model.vocab, merges: ['a z'] } })).toThrow(/missing from the vocab/);
    expect(() => Tokenizer.fromJSON({ ...m, model: { type: 'BPE', vocab: m.model.vocab, merges: ['a b c'] } })).toThrow(TokenizerError);
    expect(() => Tokenizer.fromJSON({ model: { type: 'BPE', vocab: { a: -1 }, merges: [] } })).toThrow(/invalid id/);
    expect(() => Tokenizer.fromJSON('[]')).toThrow(TokenizerError);
  });

  // HF stores ids as u32; ours index int32 tables: anything that is not an integer in 0..2^31-1 is a
  // corrupt file, wherever the id appears (added_tokens, model.vocab, post_processor special ids).
  const badIds: Array<[string, unknown]> = [
    ['negative', -1], ['negative zero-ish', -0.5], ['fractional', 5.5], ['NaN', NaN], ['Infinity', Infinity],
    ['string', '5'], ['null', null], ['missing', undefined], ['2^31', 2 ** 31], ['huge', 1e20], ['boolean', true],
  ];
  it.each(badIds)('added_tokens id %s → TOKENIZER_INVALID naming the token', (_what, id) => {
    const cfg = { ...tiny(), added_tokens: [{ id, content: '<eos>', special: true, normalized: false }] };
    expect(() => Tokenizer.fromJSON(cfg)).toThrow(expect.objectContaining({
      code: 'TOKENIZER_INVALID', message: expect.stringMatching(/added_tokens\[0\] \("<eos>"\) has invalid id/),
    }));
  });
  it.each(badIds)('model.vocab id %s → TOKENIZER_INVALID naming the entry', (_what, id) => {
    const m = tiny();
    const cfg = { ...m, model: { ...m.model, vocab: { ...m.model.vocab, c: id } } };
    expect(() => Tokenizer.fromJSON(cfg)).toThrow(expect.objectContaining({ code: 'TOKENIZER_INVALID', message: expect.stringContaining('model.vocab entry "c" has invalid id') }));
  });
  it.each(badIds)('post_processor special-token id %s → TOKENIZER_INVALID', (_what, id) => {
    const bert = { ...tiny(), post_processor: { type: 'BertProcessing', cls: ['<eos>', id], sep: ['<eos>', 5] } };
    expect(() => Tokenizer.fromJSON(bert)).toThrow(expect.objectContaining({ code: 'TOKENIZER_INVALID', message: expect.stringContaining('post_processor cls has invalid id') }));
    const template = {
      ...tiny(),
      post_processor: { type: 'TemplateProcessing', single: [{ Sequence: { id: 'A' } }, { SpecialToken: { id: '<eos>' } }], special_tokens: { '<eos>': { id: '<eos>', ids: [id] } } },
    };
    expect(() => Tokenizer.fromJSON(template)).toThrow(expect.objectContaining({ code: 'TOKENIZER_INVALID', message: expect.stringContaining('ids[0] has invalid id') }));
  });
  it('the id bounds are inclusive at 0 and 2^31-1, and a negative id in a file on disk is rejected too', async () => {
    const edge = { ...tiny(), added_tokens: [{ id: 2 ** 31 - 1, content: '<eos>', special: true, normalized: false }], post_processor: { type: 'BertProcessing', cls: ['a', 0], sep: ['<eos>', 5] } };
    expect(Tokenizer.fromJSON(edge).encode('ab<eos>')).toEqual([2, 5]); // HF re-assigns the added id: next after the vocab
    const dir = mkdtempSync(join(tmpdir(), 'olmo-tok-'));
    writeFileSync(join(dir, 'neg.json'), JSON.stringify(tiny()).replace('"id":5', '"id":-7'));
    await expect(Tokenizer.fromFile(join(dir, 'neg.json'))).rejects.toMatchObject({ code: 'TOKENIZER_INVALID', message: expect.stringContaining('invalid id -7') });
  });

  it('ids out of range in decode → INVALID_ARGUMENT', () => {
    const t = Tokenizer.fromJSON(tiny());
    expect(() => t.decode([0, 99])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => t.decode([-1])).toThrow(OlmoError);
    expect(() => t.decode([1.5])).toThrow(OlmoError);
    expect(() => t.encode(42 as unknown as string)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('errors carry the shared olmo brand', () => {
    const e = new TokenizerError('x');
    expect(e).toBeInstanceOf(OlmoError);
    expect((e as unknown as Record<symbol, unknown>)[Symbol.for('olmo.error')]).toBe(true);
    expect(e.hint).toBeTruthy();
  });
});
