/**
 * HF tokenizer.json ⇄ GGUF `tokenizer.ggml.*` metadata for OLMo's byte-level BPE tokenizers, as
 * llama.cpp's converter writes them: model "gpt2", tokens padded with `[PAD{id}]` up to the
 * embedding rows, token types (NORMAL 1, CONTROL 3 for special added tokens, USER_DEFINED 4 for
 * other added tokens, UNUSED 5 for padding), merges as "a b", and the pre-tokenizer name llama.cpp
 * selects its split regex by: "olmo" for GPT-2/GPT-NeoX-style ByteLevel (OLMo-1's tokenizers),
 * "dbrx" for the cl100k split regex (OLMo-2's dolma2 tokenizer).
 */
import { OlmoError } from '../errors.js';
import { ValueType } from './format.js';
import type { GgufMetaValue } from './reader.js';
import type { GgufValue } from './writer.js';

export const TOKEN_TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

/** The cl100k pre-tokenizer split pattern (OLMo-2's dolma2 tokenizer; llama.cpp pre "dbrx"). */
export const CL100K_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

interface TokJson {
  model?: { type?: string; vocab?: Record<string, number>; merges?: Array<string | [string, string]> };
  added_tokens?: Array<{ id: number; content: string; special?: boolean }>;
  pre_tokenizer?: Record<string, unknown> | null;
}

const bad = (file: string, what: string): never => {
  throw new OlmoError('TOKENIZER_INVALID', `${file}: ${what}`, 'pass a valid HF tokenizer.json with --tokenizer');
};

/** llama.cpp's pre-tokenizer name for a tokenizer.json pre_tokenizer, or null if none fits. */
export function llamaPreTokenizerName(pre: Record<string, unknown> | null | undefined): string | null {
  if (!pre) return null;
  if (pre.type === 'ByteLevel' && pre.use_regex !== false) return 'olmo';
  if (pre.type === 'Sequence' && Array.isArray(pre.pretokenizers)) {
    const [split, bl] = pre.pretokenizers as Array<Record<string, unknown>>;
    const pattern = (split?.pattern as { Regex?: string } | undefined)?.Regex;
    if (split?.type === 'Split' && pattern === CL100K_PATTERN && bl?.type === 'ByteLevel' && bl.use_regex === false) return 'dbrx';
  }
  return null;
}

export interface TokenizerMetaOptions {
  /** Rows of the embedding (the GGUF vocabulary is padded to it). */
  embeddingSize: number;
  bos: number | null;
  eos: number | null;
  pad: number | null;
  /** Overrides the detected llama.cpp pre-tokenizer name. */
  pre?: string;
  file?: string;
}

/** `tokenizer.ggml.*` metadata entries for a parsed tokenizer.json. */
export function tokenizerMetadata(json: unknown, o: TokenizerMetaOptions): Map<string, GgufValue> {
  const file = o.file ?? 'tokenizer.json';
  const t = json as TokJson;
  if (typeof t !== 'object' || t === null || typeof t.model !== 'object' || t.model === null) bad(file, 'no "model" object');
  if (t.model!.type !== 'BPE') {
    throw new OlmoError('TOKENIZER_UNSUPPORTED', `${file}: model type '${String(t.model!.type)}' cannot be exported to GGUF`, 'OLMo tokenizers are byte-level BPE');
  }
  const tokens: Array<string | undefined> = new Array(o.embeddingSize);
  const types = new Array<number>(o.embeddingSize).fill(TOKEN_TYPE.UNUSED);
  const vocab = t.model!.vocab;
  if (typeof vocab !== 'object' || vocab === null) bad(file, 'model.vocab is missing');
  const place = (tok: string, id: unknown, type: number) => {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) bad(file, `token ${JSON.stringify(tok)} has id ${String(id)}`);
    if ((id as number) >= o.embeddingSize) {
      throw new OlmoError('TOKENIZER_INVALID', `${file}: token id ${String(id)} ≥ the model's ${o.embeddingSize} embedding rows`, 'the tokenizer does not belong to this model');
    }
    tokens[id as number] = tok;
    types[id as number] = type;
  };
  for (const [tok, id] of Object.entries(vocab!)) place(tok, id, TOKEN_TYPE.NORMAL);
  for (const a of t.added_tokens ?? []) place(a.content, a.id, a.special ? TOKEN_TYPE.CONTROL : TOKEN_TYPE.USER_DEFINED);
  for (let i = 0; i < o.embeddingSize; i++) if (tokens[i] === undefined) tokens[i] = `[PAD${i}]`;
  const merges = (t.model!.merges ?? []).map((m, i) => {
    if (typeof m === 'string') return m;
    if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') return `${m[0]} ${m[1]}`;
    return bad(file, `merge #${i} is neither "a b" nor ["a", "b"]`);
  });
  const pre = o.pre ?? llamaPreTokenizerName(t.pre_tokenizer);
  if (!pre) {
    throw new OlmoError('TOKENIZER_UNSUPPORTED', `${file}: llama.cpp has no pre-tokenizer matching ${JSON.stringify(t.pre_tokenizer).slice(0, 200)}`,
      "pass --tokenizer-pre NAME (llama.cpp's name, e.g. olmo, dbrx, gpt-2) if you know which one matches");
  }
  const m = new Map<string, GgufValue>();
  m.set('tokenizer.ggml.model', { type: ValueType.STRING, value: 'gpt2' });
  m.set('tokenizer.ggml.pre', { type: ValueType.STRING, value: pre });
  m.set('tokenizer.ggml.tokens', { type: ValueType.ARRAY, elem: ValueType.STRING, value: tokens as string[] });
  m.set('tokenizer.ggml.token_type', { type: ValueType.ARRAY, elem: ValueType.INT32, value: types });
  m.set('tokenizer.ggml.merges', { type: ValueType.ARRAY, elem: ValueType.STRING, value: merges });
  if (o.bos !== null) m.set('tokenizer.ggml.bos_token_id', { type: ValueType.UINT32, value: o.bos });
  if (o.eos !== null) m.set('tokenizer.ggml.eos_token_id', { type: ValueType.UINT32, value: o.eos });
  if (o.pad !== null) m.set('tokenizer.ggml.padding_token_id', { type: ValueType.UINT32, value: o.pad });
  // OLMo's HF tokenizers add neither BOS nor EOS.
  m.set('tokenizer.ggml.add_bos_token', { type: ValueType.BOOL, value: false });
  m.set('tokenizer.ggml.add_eos_token', { type: ValueType.BOOL, value: false });
  return m;
}

/**
 * Rebuilds an HF tokenizer.json (loadable by @olmo/tokenizer and HF `tokenizers`) from a GGUF
 * file's `tokenizer.ggml.*` metadata. Padding tokens (UNUSED) are dropped; special (CONTROL) and
 * user-defined tokens become added tokens. Supports the pre-tokenizers we export ("olmo", "dbrx").
 */
export function tokenizerJsonFromGguf(meta: ReadonlyMap<string, GgufMetaValue>, file = '<gguf>'): Record<string, unknown> {
  const invalid = (what: string): never => { throw new OlmoError('TOKENIZER_INVALID', `${file}: ${what}`, 'the GGUF file has no usable tokenizer'); };
  if (meta.get('tokenizer.ggml.model') !== 'gpt2') invalid(`tokenizer.ggml.model is ${JSON.stringify(meta.get('tokenizer.ggml.model'))}, expected "gpt2" (byte-level BPE)`);
  const tokens = meta.get('tokenizer.ggml.tokens');
  const types = meta.get('tokenizer.ggml.token_type');
  const merges = meta.get('tokenizer.ggml.merges') ?? [];
  if (!Array.isArray(tokens) || tokens.some((x) => typeof x !== 'string')) return invalid('tokenizer.ggml.tokens is not a string array');
  if (types !== undefined && (!Array.isArray(types) || types.length !== tokens.length)) invalid('tokenizer.ggml.token_type does not match the tokens');
  if (!Array.isArray(merges) || merges.some((x) => typeof x !== 'string')) invalid('tokenizer.ggml.merges is not a string array');
  const pre = meta.get('tokenizer.ggml.pre');
  const byteLevel = (useRegex: boolean) => ({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: useRegex });
  let preTokenizer: unknown;
  let normalizer: unknown = null;
  if (pre === 'olmo' || pre === 'gpt-2' || pre === undefined) {
    preTokenizer = byteLevel(true);
    if (pre === 'olmo') normalizer = { type: 'NFC' };
  } else if (pre === 'dbrx') {
    preTokenizer = { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: CL100K_PATTERN }, behavior: 'Removed', invert: true }, byteLevel(false)] };
  } else {
    throw new OlmoError('TOKENIZER_UNSUPPORTED', `${file}: tokenizer.ggml.pre '${String(pre)}' has no tokenizer.json equivalent here`, 'use the model\'s original tokenizer.json');
  }
  // No prototype: tokens such as "toString" or "constructor" are ordinary vocabulary entries.
  const vocab: Record<string, number> = Object.create(null) as Record<string, number>;
  const added: Array<Record<string, unknown>> = [];
  (tokens as string[]).forEach((tok, id) => {
    const type = types ? Number((types as GgufMetaValue[])[id]) : TOKEN_TYPE.NORMAL;
    if (type === TOKEN_TYPE.UNUSED) return;
    if (!Object.hasOwn(vocab, tok)) vocab[tok] = id;
    if (type === TOKEN_TYPE.CONTROL || type === TOKEN_TYPE.USER_DEFINED) {
      added.push({ id, content: tok, single_word: false, lstrip: false, rstrip: false, normalized: type === TOKEN_TYPE.USER_DEFINED, special: type === TOKEN_TYPE.CONTROL });
    }
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer,
    pre_tokenizer: preTokenizer,
    post_processor: pre === 'dbrx' ? null : byteLevel(true),
    decoder: byteLevel(true),
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
  };
}
