/**
 * Byte-level BPE training. Output is an HF tokenizer.json config (ByteLevel pre-tokenizer/decoder,
 * special tokens first) that HF `tokenizers` loads and encodes identically.
 *
 * Algorithm (as HF's BpeTrainer): count pre-tokens once, work over unique words with their counts;
 * keep pair counts plus pair → words-containing-it; pick the most frequent pair from a max-heap
 * with lazy invalidation (a popped entry whose count is stale is re-pushed with the current count);
 * merging touches only the words that contain the pair. Ties: smaller (left, right) ids first.
 */
import { BYTE_TO_CHAR, utf8 } from './bytelevel.js';
import { TokenizerArgumentError } from './errors.js';
import { compilePattern } from './regex.js';
import { GPT2_PATTERN } from './pretokenizers.js';
import { wellFormed } from './unicode.js';

/** The cl100k pre-tokenizer regex (Oniguruma syntax, as in allenai_dolma2.json). */
export const CL100K_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

export interface TrainOptions {
  /** Final vocabulary size including the 256 byte tokens and the special tokens. */
  vocabSize: number;
  /** Stop when the best pair occurs fewer times than this. Default 2. */
  minFrequency?: number;
  /** Special tokens, given ids 0..n-1 in order. Default ['<|endoftext|>']. */
  specialTokens?: string[];
  /** Pre-tokenizer: 'gpt2' (default), 'cl100k', or an Oniguruma regex source. */
  pattern?: string;
  /** eos token content (default: '<|endoftext|>' when among the specials). */
  eosToken?: string;
}

const KEY = 2 ** 21;

class MaxHeap {
  private c: number[] = [];
  private k: number[] = [];
  get size(): number { return this.c.length; }
  private better(i: number, j: number): boolean {
    return this.c[i]! > this.c[j]! || (this.c[i] === this.c[j] && this.k[i]! < this.k[j]!);
  }
  private swap(i: number, j: number): void {
    const c = this.c[i]!; this.c[i] = this.c[j]!; this.c[j] = c;
    const k = this.k[i]!; this.k[i] = this.k[j]!; this.k[j] = k;
  }
  push(count: number, key: number): void {
    this.c.push(count); this.k.push(key);
    let i = this.c.length - 1;
    while (i > 0) { const p = (i - 1) >> 1; if (!this.better(i, p)) break; this.swap(i, p); i = p; }
  }
  pop(): [number, number] {
    const top: [number, number] = [this.c[0]!, this.k[0]!];
    const lc = this.c.pop()!; const lk = this.k.pop()!;
    if (this.c.length) {
      this.c[0] = lc; this.k[0] = lk;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1; const r = l + 1; let m = i;
        if (l < this.c.length && this.better(l, m)) m = l;
        if (r < this.c.length && this.better(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m); i = m;
      }
    }
    return top;
  }
}

export function trainConfig(texts: Iterable<string>, opts: TrainOptions): Record<string, unknown> {
  const specials = opts.specialTokens ?? ['<|endoftext|>'];
  const minFreq = opts.minFrequency ?? 2;
  if (!Number.isInteger(opts.vocabSize) || opts.vocabSize < 256 + specials.length) {
    throw new TokenizerArgumentError(`vocabSize must be an integer ≥ ${256 + specials.length} (256 bytes + special tokens)`);
  }
  const src = opts.pattern === undefined || opts.pattern === 'gpt2' ? GPT2_PATTERN : opts.pattern === 'cl100k' ? CL100K_PATTERN : opts.pattern;
  const re = compilePattern(src);

  // 1. unique pre-tokens with counts
  const counts = new Map<string, number>();
  for (const text of texts) {
    if (typeof text !== 'string') throw new TokenizerArgumentError('train expects an iterable of strings');
    const t = wellFormed(text);
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(t)) !== null) {
      const w = m[0];
      if (!w) { re.lastIndex++; continue; }
      counts.set(w, (counts.get(w) ?? 0) + 1);
    }
  }

  // 2. symbols: specials, then the 256 bytes
  const vocab: string[] = [...specials];
  const base = vocab.length;
  for (let b = 0; b < 256; b++) vocab.push(BYTE_TO_CHAR[b]!);
  const idOf = new Map<string, number>();
  vocab.forEach((t, i) => { if (!idOf.has(t)) idOf.set(t, i); });
  const words: Int32Array[] = [];
  const wcount: number[] = [];
  for (const [w, c] of counts) {
    const bytes = utf8(w);
    const ids = new Int32Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) ids[i] = base + bytes[i]!;
    words.push(ids);
    wcount.push(c);
  }
  counts.clear();

  // 3. pair statistics
  const pairCount = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  const addPairs = (wi: number, sign: number) => {
    const w = words[wi]!;
    const c = wcount[wi]! * sign;
    for (let i = 0; i + 1 < w.length; i++) {
      const key = w[i]! * KEY + w[i + 1]!;
      pairCount.set(key, (pairCount.get(key) ?? 0) + c);
      if (sign > 0) {
        let s = where.get(key);
        if (!s) where.set(key, (s = new Set()));
        s.add(wi);
      }
    }
  };
  for (let wi = 0; wi < words.length; wi++) addPairs(wi, 1);
  const heap = new MaxHeap();
  for (const [k, c] of pairCount) heap.push(c, k);

  // 4. merge loop
  const merges: [string, string][] = [];
  while (vocab.length < opts.vocabSize && heap.size > 0) {
    const [c, key] = heap.pop();
    const cur = pairCount.get(key) ?? 0;
    if (c !== cur) { if (cur > 0) heap.push(cur, key); continue; }
    if (cur < minFreq || cur <= 0) break;
    const a = Math.floor(key / KEY);
    const b = key - a * KEY;
    // a merge can rebuild an existing string (e.g. a special token's text): reuse that id
    const merged = vocab[a]! + vocab[b]!;
    let nid = idOf.get(merged);
    if (nid === undefined) {
      nid = vocab.length;
      vocab.push(merged);
      idOf.set(merged, nid);
    }
    merges.push([vocab[a]!, vocab[b]!]);
    const touched = new Set<number>();
    for (const wi of where.get(key) ?? []) {
      const w = words[wi]!;
      let has = false;
      for (let i = 0; i + 1 < w.length; i++) if (w[i] === a && w[i + 1] === b) { has = true; break; }
      if (!has) continue;
      addPairs(wi, -1);
      const nw: number[] = [];
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === a && w[i + 1] === b) { nw.push(nid); i++; } else nw.push(w[i]!);
      }
      words[wi] = Int32Array.from(nw);
      addPairs(wi, 1);
      for (let i = 0; i + 1 < nw.length; i++) if (nw[i] === nid || nw[i + 1] === nid) touched.add(nw[i]! * KEY + nw[i + 1]!);
    }
    where.delete(key);
    pairCount.delete(key);
    for (const k of touched) heap.push(pairCount.get(k)!, k);
  }

  const vocabObj: Record<string, number> = {};
  vocab.forEach((t, i) => { if (!(t in vocabObj)) vocabObj[t] = i; });
  const gpt2 = src === GPT2_PATTERN;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: gpt2
      ? { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true }
      : {
        type: 'Sequence',
        pretokenizers: [
          { type: 'Split', pattern: { Regex: src }, behavior: 'Isolated', invert: false },
          { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
        ],
      },
    post_processor: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab: vocabObj, merges,
    },
  };
}
