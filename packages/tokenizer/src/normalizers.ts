/**
 * HF normalizers: NFC/NFD/NFKC/NFKD, Lowercase, Strip, Replace, Prepend and Sequence — what common
 * LLM tokenizers use. Unknown or model-specific ones (Precompiled, Bert, Nmt, StripAccents) fail
 * with TOKENIZER_UNSUPPORTED instead of normalizing differently.
 */
import { TokenizerError, unsupported } from './errors.js';
import { compilePattern } from './regex.js';
import { isWhitespace } from './unicode.js';

export type Normalizer = (s: string) => string;

export function buildNormalizer(cfg: unknown): Normalizer | null {
  if (cfg === null || cfg === undefined) return null;
  if (typeof cfg !== 'object') throw new TokenizerError(`normalizer must be an object, got ${typeof cfg}`);
  const c = cfg as Record<string, unknown>;
  switch (c.type) {
    case 'NFC': return (s) => s.normalize('NFC');
    case 'NFD': return (s) => s.normalize('NFD');
    case 'NFKC': return (s) => s.normalize('NFKC');
    case 'NFKD': return (s) => s.normalize('NFKD');
    case 'Lowercase': return (s) => s.toLowerCase();
    case 'Prepend': {
      const p = String(c.prepend ?? '');
      return (s) => (s.length ? p + s : s);
    }
    case 'Strip': {
      const left = c.strip_left !== false;
      const right = c.strip_right !== false;
      return (s) => {
        const cps = Array.from(s);
        let a = 0;
        let b = cps.length;
        if (left) while (a < b && isWhitespace(cps[a]!)) a++;
        if (right) while (b > a && isWhitespace(cps[b - 1]!)) b--;
        return cps.slice(a, b).join('');
      };
    }
    case 'Replace': {
      const pat = c.pattern as Record<string, string> | undefined;
      const content = String(c.content ?? '');
      if (!pat || (pat.String === undefined && pat.Regex === undefined)) throw new TokenizerError('Replace normalizer without pattern');
      const re = pat.String !== undefined ? compilePattern(pat.String, true) : compilePattern(pat.Regex!);
      return (s) => s.replace(re, () => content);
    }
    case 'Sequence': {
      const list = (c.normalizers as unknown[] | undefined) ?? [];
      if (!Array.isArray(list)) throw new TokenizerError('Sequence normalizer without a normalizers list');
      const fns = list.map(buildNormalizer).filter((f): f is Normalizer => f !== null);
      if (fns.length === 1) return fns[0]!;
      return (s) => {
        for (const f of fns) s = f(s);
        return s;
      };
    }
    default:
      throw unsupported(`normalizer ${String(c.type)}`);
  }
}

/**
 * Normalizes `s` and returns, for every UTF-16 unit of the result, the [start, end) span of `s` it
 * came from. Text is normalized in independent chunks (a base char plus its combining marks); if
 * chunk-wise normalization disagrees with whole-string normalization (rare: e.g. Hangul jamo
 * composition, final sigma), every unit maps to the whole span.
 */
export function normalizeAligned(n: Normalizer, s: string): { text: string; start: Int32Array; end: Int32Array } {
  const text = n(s);
  const start = new Int32Array(text.length);
  const end = new Int32Array(text.length);
  if (text === s) {
    for (let i = 0; i < s.length; i++) { start[i] = i; end[i] = i + 1; }
    // surrogate pairs map to the whole pair
    for (let i = 0; i + 1 < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0xd800 && c < 0xdc00) { end[i] = i + 2; start[i + 1] = i; i++; }
    }
    return { text, start, end };
  }
  // HF aligns a composed char with the first original char it came from, and chars produced by an
  // expansion with the original char: per chunk, output code point j ↔ input code point min(j, m−1).
  const chunks = s.match(/\P{M}\p{M}*|\p{M}+/gsu) ?? [];
  let out = '';
  let pos = 0;
  const parts: { a: number; ch: string; t: string }[] = [];
  for (const ch of chunks) {
    const t = n(ch);
    parts.push({ a: pos, ch, t });
    out += t;
    pos += ch.length;
  }
  if (out === text) {
    let k = 0;
    for (const p of parts) {
      const ins: [number, number][] = [];
      let u = p.a;
      for (const c of p.ch) { ins.push([u, u + c.length]); u += c.length; }
      let j = 0;
      for (const c of p.t) {
        const span = ins[Math.min(j, ins.length - 1)]!;
        for (let q = 0; q < c.length; q++, k++) { start[k] = span[0]; end[k] = span[1]; }
        j++;
      }
    }
  } else {
    start.fill(0);
    end.fill(s.length);
  }
  return { text, start, end };
}
