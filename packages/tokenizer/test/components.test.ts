/**
 * The less common HF components, each checked against HF tokenizers on small hand-built configs:
 * byte_fallback + unk + Llama-style normalizer/decoder + TemplateProcessing; continuing_subword_prefix
 * / end_of_word_suffix; added tokens with single_word / lstrip / rstrip; Split behaviours, Digits,
 * NFKC + Lowercase on a byte-level vocab; ignore_merges.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tokenizer } from '../src/index.js';
import { ADVERSARIAL, hasShared, hf, tokenizersDir } from './helpers.js';

async function same(cfg: object, texts: string[], special = false): Promise<void> {
  const ours = Tokenizer.fromJSON(cfg);
  const theirs = hf.Tokenizer.fromString(JSON.stringify(cfg));
  for (const s of texts) {
    const want = (await theirs.encode(s, undefined, { addSpecialTokens: special })).getIds();
    expect(ours.encode(s, { addSpecialTokens: special }), JSON.stringify(s)).toEqual(want);
    expect(ours.decode(want), `decode ${JSON.stringify(s)}`).toBe(await theirs.decode(want, false));
    expect(ours.decode(want, { skipSpecialTokens: true })).toBe(await theirs.decode(want, true));
  }
}

/** vocab + merges where each merge's product is added to the vocab by HF's rule. */
function bpe(base: string[], merges: [string, string][], prefix = '') {
  const vocab: Record<string, number> = {};
  for (const t of base) vocab[t] ??= Object.keys(vocab).length;
  for (const [a, b] of merges) {
    vocab[a] ??= Object.keys(vocab).length;
    vocab[b] ??= Object.keys(vocab).length;
    vocab[a + (prefix && b.startsWith(prefix) ? b.slice(prefix.length) : b)] ??= Object.keys(vocab).length;
  }
  return { vocab, merges: merges.map(([a, b]) => `${a} ${b}`) };
}

const TEXTS = ['the cat sat on the mat', 'there in an thee', 'héllo wörld 😀 ǅ', '  spaced  out  ', 'x', 'unknown § ¶ chars', ''];

describe('HF components vs HF tokenizers', () => {
  it('Llama-style: byte_fallback, unk, Prepend/Replace normalizer, ByteFallback/Fuse/Strip decoder, template', async () => {
    const bytes = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    const m = bpe(['<unk>', '<s>', '</s>', ...bytes, ...'abcdefghijklmnopqrstuvwxyz▁'.split('')],
      [['t', 'h'], ['▁', 'th'], ['e', 'r'], ['i', 'n'], ['a', 'n'], ['▁', 'a'], ['th', 'e'], ['▁th', 'e'], ['a', 't'], ['▁', 'c']]);
    const cfg = {
      added_tokens: ['<unk>', '<s>', '</s>'].map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, special: true, normalized: false })),
      normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
      pre_tokenizer: null,
      post_processor: {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
        pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
        special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
      },
      decoder: { type: 'Sequence', decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 }] },
      model: { type: 'BPE', dropout: null, unk_token: '<unk>', fuse_unk: true, byte_fallback: true, ...m },
    };
    await same(cfg, TEXTS);
    await same(cfg, TEXTS, true);
    // without byte fallback, unknown chars become (fused) <unk>
    await same({ ...cfg, model: { ...cfg.model, byte_fallback: false } }, TEXTS);
    await same({ ...cfg, model: { ...cfg.model, byte_fallback: false, fuse_unk: false } }, TEXTS);
  });

  it('continuing_subword_prefix and end_of_word_suffix with WhitespaceSplit', async () => {
    const letters = 'abcdefghijklmnopqrstuvwxyz'.split('');
    const base = ['<unk>', ...letters, ...letters.map((c) => `##${c}`), ...letters.map((c) => `${c}</w>`), ...letters.map((c) => `##${c}</w>`)];
    const m = bpe(base, [['t', '##h'], ['th', '##e</w>'], ['##a', '##t</w>'], ['c', '##at</w>'], ['s', '##at</w>'], ['##e', '##r</w>']], '##');
    const cfg = {
      added_tokens: [{ id: 0, content: '<unk>', single_word: false, lstrip: false, rstrip: false, special: true, normalized: false }],
      normalizer: { type: 'Lowercase' },
      pre_tokenizer: { type: 'WhitespaceSplit' },
      decoder: null,
      model: { type: 'BPE', unk_token: '<unk>', continuing_subword_prefix: '##', end_of_word_suffix: '</w>', ...m },
    };
    await same(cfg, [...TEXTS, 'The CAT Sat', 'other cater']);
    expect(Tokenizer.fromJSON(cfg).encodeWithOffsets('the cat').offsets).toEqual([[0, 3], [4, 7]]);
  });

  it.skipIf(!hasShared)('added tokens (single_word, lstrip, rstrip, normalized), Split behaviours, Digits, NFKC+Lowercase', async () => {
    const base = JSON.parse(readFileSync(join(tokenizersDir, 'allenai_gpt-neox-olmo-dolma-v1_5.json'), 'utf8'));
    const extra = [
      { id: 50280, content: '[MASK]', single_word: false, lstrip: true, rstrip: true, normalized: false, special: true },
      { id: 50281, content: 'foo', single_word: true, lstrip: false, rstrip: false, normalized: true, special: false },
      { id: 50282, content: '<sep>', single_word: false, lstrip: false, rstrip: true, normalized: false, special: true },
      { id: 50283, content: 'ǆx', single_word: false, lstrip: false, rstrip: false, normalized: true, special: false },
    ];
    const texts = [...TEXTS, 'a [MASK] b  [MASK]\t\tc[MASK]', 'foo food afoo foo_ foo.', 'x<sep>   y <sep>', 'ǄX ǅx ǆx', 'v2.0-beta--rc 12345 ①②',
      ...ADVERSARIAL.filter((s) => s.isWellFormed())];
    const behaviors = ['Isolated', 'Removed', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'];
    // each behaviour once; invert alternates (and the second Split always has the opposite)
    for (const [k, behavior] of behaviors.entries()) {
      for (const invert of [k % 2 === 0]) {
        const cfg = {
          ...base,
          added_tokens: [...base.added_tokens, ...extra],
          normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Lowercase' }] },
          pre_tokenizer: { type: 'Sequence', pretokenizers: [
            { type: 'Digits', individual_digits: true },
            { type: 'Split', pattern: { String: '-' }, behavior, invert },
            { type: 'Split', pattern: { Regex: '\\.|\\s+' }, behavior, invert: !invert },
            { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
          ] },
        };
        await same(cfg, texts);
      }
    }
  });

  it.skipIf(!hasShared)('ignore_merges', async () => {
    const base = JSON.parse(readFileSync(join(tokenizersDir, 'allenai_dolma2.json'), 'utf8'));
    const cfg = { ...base, model: { ...base.model, ignore_merges: true } };
    await same(cfg, ADVERSARIAL.filter((s) => s.isWellFormed()).concat(['hello world tokenization']));
  });
});

/** A byte-level BPE config with no ../shared dependency: GPT-2's ranks from js-tiktoken. */
async function gpt2Config(): Promise<Record<string, unknown>> {
  return (await Tokenizer.fromTiktoken('gpt2')).toJSON() as Record<string, unknown>;
}

/** Decomposition and compatibility cases: precomposed accents, ligatures, Hangul, super/subscripts, circled digits. */
const UNICODE_TEXTS = ['café naïve Å Ω', 'ﬁne ﬂour ﬀ', '한국어 텍스트', 'x² H₂O ½ ①②', 'ǅ ǈ ǋ ẞ', 'e\u0301 vs é', 'Ⅻ ㎏ ﹏', ...TEXTS];

describe('more HF components vs HF tokenizers (no ../shared needed)', () => {
  it.each(['NFD', 'NFKD'])('%s normalizer on a byte-level vocab', async (form) => {
    const base = await gpt2Config();
    await same({ ...base, normalizer: { type: form } }, UNICODE_TEXTS);
    await same({ ...base, normalizer: { type: 'Sequence', normalizers: [{ type: form }, { type: 'Lowercase' }] } }, UNICODE_TEXTS);
    // The normalizer really runs: the decomposed form encodes to other ids than the raw text.
    const ours = Tokenizer.fromJSON({ ...base, normalizer: { type: form } });
    const raw = Tokenizer.fromJSON(base);
    expect(ours.encode('café')).toEqual(raw.encode('cafe\u0301'));
    expect(ours.encode('café')).not.toEqual(raw.encode('café'));
    if (form === 'NFKD') expect(ours.encode('ﬁne')).toEqual(raw.encode('fine'));
    else expect(ours.encode('ﬁne')).toEqual(raw.encode('ﬁne')); // NFD keeps compatibility characters
  });

  it.each([
    { replacement: '▁', prepend_scheme: 'always', split: true },
    { replacement: '▁', prepend_scheme: 'first', split: true },
    { replacement: '▁', prepend_scheme: 'never', split: true },
    { replacement: '▁', add_prefix_space: true },
  ])('Metaspace decoder %o', async (dec) => {
    const letters = 'abcdefghijklmnopqrstuvwxyz'.split('');
    const m = bpe(['<unk>', '<s>', ...letters, '▁'], [['▁', 't'], ['h', 'e'], ['▁t', 'he'], ['▁', 'c'], ['a', 't'], ['▁c', 'at'], ['▁', 's']]);
    const cfg = {
      added_tokens: ['<unk>', '<s>'].map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, special: true, normalized: false })),
      normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
      pre_tokenizer: null,
      post_processor: null,
      decoder: { type: 'Metaspace', ...dec },
      model: { type: 'BPE', dropout: null, unk_token: '<unk>', fuse_unk: true, byte_fallback: false, ...m },
    };
    const texts = ['the cat sat', ' the  cat ', 'cats', 'x', ''];
    await same(cfg, texts);
    // Decoding a hand-picked id sequence (first token with and without the ▁ prefix).
    const ours = Tokenizer.fromJSON(cfg);
    const theirs = hf.Tokenizer.fromString(JSON.stringify(cfg));
    for (const toks of [['▁the', '▁cat'], ['t', 'he', '▁cat'], ['▁', '▁s', 'at']]) {
      const ids = toks.map((t) => m.vocab[t]!);
      expect(ours.decode(ids), toks.join('|')).toBe(await theirs.decode(ids, false));
    }
  });

  it('BertProcessing: [CLS] … [SEP] around the sequence when special tokens are added', async () => {
    const base = await gpt2Config();
    const cfg = {
      ...base,
      added_tokens: [
        ...(base.added_tokens as object[]),
        { id: 50257, content: '[CLS]', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
        { id: 50258, content: '[SEP]', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
      ],
      post_processor: { type: 'BertProcessing', sep: ['[SEP]', 50258], cls: ['[CLS]', 50257] },
    };
    await same(cfg, TEXTS, true);
    await same(cfg, TEXTS, false);
    const ids = Tokenizer.fromJSON(cfg).encode('hello world', { addSpecialTokens: true });
    expect(ids[0]).toBe(50257);
    expect(ids.at(-1)).toBe(50258);
  });

  it('RobertaProcessing: <s> … </s>, and its add_prefix_space / trim_offsets change the offsets as in HF', async () => {
    const base = await gpt2Config();
    for (const [addPrefixSpace, trimOffsets] of [[true, true], [false, true], [true, false], [false, false]] as const) {
      const cfg = {
        ...base,
        added_tokens: [
          ...(base.added_tokens as object[]),
          { id: 50257, content: '<s>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
          { id: 50258, content: '</s>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
        ],
        pre_tokenizer: { type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: true, use_regex: true },
        post_processor: { type: 'RobertaProcessing', sep: ['</s>', 50258], cls: ['<s>', 50257], trim_offsets: trimOffsets, add_prefix_space: addPrefixSpace },
      };
      await same(cfg, TEXTS, true);
      const ours = Tokenizer.fromJSON(cfg);
      const theirs = hf.Tokenizer.fromString(JSON.stringify(cfg));
      for (const s of ['hello  world', ' spaced out ', 'ascii only text']) {
        const enc = await theirs.encode(s, undefined, { addSpecialTokens: false });
        const got = ours.encodeWithOffsets(s);
        expect(got.ids).toEqual(enc.getIds());
        expect(got.offsets, `${JSON.stringify(s)} prefix=${addPrefixSpace} trim=${trimOffsets}`).toEqual(enc.getOffsets());
      }
      const withSpecials = ours.encode('hello', { addSpecialTokens: true });
      expect([withSpecials[0], withSpecials.at(-1)]).toEqual([50257, 50258]);
    }
  });
});
