/**
 * tiktoken ranks (shipped in `js-tiktoken`, no download) → an HF-format byte-level BPE config.
 *
 * tiktoken merges by the rank of the concatenated bytes; HF BPE merges listed pairs by rank. The
 * two agree when each token of rank r gets exactly one merge: the two parts that tiktoken's own BPE
 * produces on the token's bytes using only ranks below r (the standard tiktoken→HF conversion; it
 * reproduces `allenai_dolma2.json`'s merges exactly, which the tests check).
 */
import { PairTable } from './bpe.js';
import { BYTE_TO_CHAR } from './bytelevel.js';
import { TokenizerError } from './errors.js';
import { GPT2_PATTERN } from './pretokenizers.js';

export interface SpecialTokenSpec {
  content: string;
  id: number;
  /** Default true. Non-special added tokens (e.g. dolma2's `<|extra_id_N|>`) are still matched in text. */
  special?: boolean;
}

export interface TiktokenOptions {
  /** Added tokens: a content → id map (all special) or a list; default: the encoding's own specials. */
  specialTokens?: Record<string, number> | SpecialTokenSpec[];
  /** Override the pre-tokenizer regex (Oniguruma syntax, as in tokenizer.json). */
  pattern?: string;
}

// Static specifiers so bundlers and vite see every rank file (each is a few MB; loaded on demand).
const LOADERS: Record<string, () => Promise<{ default: unknown }>> = {
  cl100k_base: () => import('js-tiktoken/ranks/cl100k_base'),
  o200k_base: () => import('js-tiktoken/ranks/o200k_base'),
  r50k_base: () => import('js-tiktoken/ranks/r50k_base'),
  p50k_base: () => import('js-tiktoken/ranks/p50k_base'),
  p50k_edit: () => import('js-tiktoken/ranks/p50k_edit'),
  gpt2: () => import('js-tiktoken/ranks/gpt2'),
};
const NAMES = new Set(Object.keys(LOADERS));
/** js-tiktoken spells the case-insensitive contractions out; real tiktoken and HF use `(?i:...)`. */
const EXPANDED = "('s|'S|'t|'T|'re|'rE|'Re|'RE|'ve|'vE|'Ve|'VE|'m|'M|'ll|'lL|'Ll|'LL|'d|'D)";
const CI = "(?i:'s|'t|'re|'ve|'m|'ll|'d)";

/** OLMo-2 (dolma2) added tokens on top of cl100k_base, as in allenai_dolma2.json. */
export function dolma2SpecialTokens(): SpecialTokenSpec[] {
  const s = (content: string, id: number, special = true): SpecialTokenSpec => ({ content, id, special });
  const list = [
    s('<|extra_id_0|>', 100256, false), s('<|endoftext|>', 100257), s('<|fim_prefix|>', 100258),
    s('<|fim_middle|>', 100259), s('<|fim_suffix|>', 100260), s('|||PHONE_NUMBER|||', 100261, false),
    s('|||EMAIL_ADDRESS|||', 100262, false), s('|||IP_ADDRESS|||', 100263, false), s('<|im_start|>', 100264),
    s('<|im_end|>', 100265),
  ];
  for (let i = 1; i <= 10; i++) list.push(s(`<|extra_id_${i}|>`, 100265 + i, false));
  list.push(s('<|endofprompt|>', 100276), s('<|pad|>', 100277));
  return list;
}

interface Ranks { pat_str: string; special_tokens: Record<string, number>; bpe_ranks: string }

/** Decodes js-tiktoken's compressed rank format: lines of `<tag> <offset> <base64 token>...`. */
function parseRanks(r: Ranks): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const line of r.bpe_ranks.split('\n')) {
    if (!line) continue;
    const parts = line.split(' ');
    const offset = Number.parseInt(parts[1]!, 10);
    for (let i = 2; i < parts.length; i++) out[offset + i - 2] = Buffer.from(parts[i]!, 'base64');
  }
  return out;
}

const bl = (b: Uint8Array) => {
  let s = '';
  for (let i = 0; i < b.length; i++) s += BYTE_TO_CHAR[b[i]!];
  return s;
};

export async function tiktokenConfig(name: string, opts: TiktokenOptions): Promise<Record<string, unknown>> {
  if (!NAMES.has(name)) throw new TokenizerError(`unknown tiktoken encoding ${JSON.stringify(name)}`, `use one of ${[...NAMES].join(', ')}`);
  let ranks: Ranks;
  try {
    ranks = (await LOADERS[name]!()).default as Ranks;
  } catch (e) {
    throw new TokenizerError(`cannot load js-tiktoken ranks for ${name}`, 'install js-tiktoken', 'TOKENIZER_INVALID', { cause: e });
  }
  const tokens = parseRanks(ranks);
  const vocab: Record<string, number> = {};
  tokens.forEach((t, r) => { if (t) vocab[bl(t)] = r; });
  // Tokens in rank order; each token's merge is what BPE over the merges found so far (all of
  // lower rank) leaves as two parts. Integer pair table instead of string concatenation: ~5× faster.
  const merges: string[] = [];
  const table = new PairTable(tokens.length);
  const strs: string[] = tokens.map((t) => (t ? bl(t) : ''));
  const byteRank = new Int32Array(256).fill(-1);
  tokens.forEach((t, r) => { if (t && t.length === 1) byteRank[t[0]!] = r; });
  let sym = new Int32Array(256);
  let rk = new Int32Array(256);
  for (let r = 0; r < tokens.length; r++) {
    const t = tokens[r];
    if (!t || t.length < 2) continue;
    if (sym.length < t.length) { sym = new Int32Array(t.length * 2); rk = new Int32Array(t.length * 2); }
    let n = t.length;
    for (let i = 0; i < n; i++) sym[i] = byteRank[t[i]!]!;
    for (let i = 0; i + 1 < n; i++) rk[i] = table.get(sym[i]!, sym[i + 1]!);
    while (n > 2) {
      let best = -1;
      let br = Infinity;
      for (let i = 0; i + 1 < n; i++) if (rk[i]! >= 0 && rk[i]! < br) { br = rk[i]!; best = i; }
      if (best < 0) break;
      table.get(sym[best]!, sym[best + 1]!);
      sym[best] = table.lastId;
      for (let j = best + 1; j + 1 < n; j++) { sym[j] = sym[j + 1]!; rk[j] = rk[j + 1]!; }
      n--;
      if (best > 0) rk[best - 1] = table.get(sym[best - 1]!, sym[best]!);
      if (best + 1 < n) rk[best] = table.get(sym[best]!, sym[best + 1]!);
    }
    if (n !== 2 || sym[0]! < 0 || sym[1]! < 0) throw new TokenizerError(`tiktoken token of rank ${r} is not reachable by merges`);
    table.set(sym[0]!, sym[1]!, r, r);
    merges.push(`${strs[sym[0]!]} ${strs[sym[1]!]}`);
  }
  let specials: SpecialTokenSpec[];
  if (Array.isArray(opts.specialTokens)) specials = opts.specialTokens;
  else specials = Object.entries(opts.specialTokens ?? ranks.special_tokens).map(([content, id]) => ({ content, id, special: true }));
  specials = [...specials].sort((a, b) => a.id - b.id);
  for (const s of specials) vocab[s.content] = s.id;
  const gpt2 = name === 'r50k_base' || name === 'gpt2' || name.startsWith('p50k');
  const pattern = opts.pattern ?? (gpt2 ? GPT2_PATTERN : ranks.pat_str.replace(EXPANDED, CI));
  const useByteLevelRegex = opts.pattern === undefined && gpt2;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((s) => ({
      id: s.id, content: s.content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: s.special !== false,
    })),
    normalizer: null,
    pre_tokenizer: useByteLevelRegex
      ? { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true }
      : {
        type: 'Sequence',
        pretokenizers: [
          { type: 'Split', pattern: { Regex: pattern }, behavior: 'Removed', invert: true },
          { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
        ],
      },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
      fuse_unk: false, byte_fallback: false, vocab, merges,
    },
  };
}
