/**
 * Hand-written pre-tokenizers for the two regexes nearly every byte-level BPE uses (GPT-2 and
 * cl100k). They reproduce the backtracking regex's leftmost-first result exactly (each branch below
 * mirrors one alternative, in order, including what backtracking does on `\s+(?!\S)` and
 * `\s*[\r\n]+`) but without building a match object per piece: ~3–5× faster than the RegExp. The
 * regex path remains for every other pattern; tests fuzz the two against each other.
 *
 * Character classes follow Oniguruma: `\s` = White_Space, `\p{L}`, `\p{N}` from the JS engine's
 * Unicode tables. Input must be well-formed UTF-16 (Tokenizer.encode replaces lone surrogates).
 */
import { WS_RANGES } from './regex.js';

const L = 1;
const N = 2;
const WS = 4;
let table: Uint8Array | null = null;
const astral = new Map<number, number>();
const RE_L = /\p{L}/u;
const RE_N = /\p{N}/u;
const RE_WS = new RegExp(`[${WS_RANGES}]`, 'u');

function buildTable(): Uint8Array {
  const t = new Uint8Array(0x10000);
  let all = '';
  for (let c = 0; c < 0x10000; c++) all += c >= 0xd800 && c < 0xe000 ? 'x' : String.fromCharCode(c);
  for (const [re, bit] of [[/\p{L}/gu, L], [/\p{N}/gu, N], [new RegExp(`[${WS_RANGES}]`, 'gu'), WS]] as const) {
    let m: RegExpExecArray | null;
    while ((m = re.exec(all)) !== null) t[m.index] |= bit;
  }
  for (let c = 0xd800; c < 0xe000; c++) t[c] = 0;
  return t;
}

function classAstral(cp: number): number {
  let v = astral.get(cp);
  if (v === undefined) {
    const s = String.fromCodePoint(cp);
    v = (RE_L.test(s) ? L : 0) | (RE_N.test(s) ? N : 0) | (RE_WS.test(s) ? WS : 0);
    astral.set(cp, v);
  }
  return v;
}

export type Scanner = (s: string, out: string[], offs: number[], base: number) => void;

/**
 * Scanner for `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+` (GPT-2,
 * `ci=false`) or the cl100k pattern `(?i:'s|…)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 * ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+` (`cl100k=true`, `ci` = case-insensitive
 * contractions as in HF/tiktoken, false for js-tiktoken's spelled-out variant).
 */
export function makeScanner(kind: 'gpt2' | 'cl100k', ci: boolean): Scanner {
  const t = (table ??= buildTable());
  const cl100k = kind === 'cl100k';
  // class of the code point at i, and its UTF-16 width in `w`
  let w = 1;
  const cls = (s: string, i: number): number => {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      w = 2;
      return classAstral(s.codePointAt(i)!);
    }
    w = 1;
    return t[c]!;
  };
  /** End of the run starting at i of code points whose class satisfies pred(cls). */
  const runL = (s: string, i: number, n: number): number => {
    while (i < n && cls(s, i) & L) i += w;
    return i;
  };
  const runN = (s: string, i: number, n: number): number => {
    while (i < n && cls(s, i) & N) i += w;
    return i;
  };
  const runOther = (s: string, i: number, n: number): number => {
    while (i < n && (cls(s, i) & 7) === 0) i += w;
    return i;
  };
  const runWS = (s: string, i: number, n: number): number => {
    while (i < n && cls(s, i) & WS) i += w;
    return i;
  };
  const lower = (c: number) => (c >= 65 && c <= 90 ? c + 32 : c);
  /** Length of a contraction after the apostrophe at i, or 0. */
  const contraction = (s: string, i: number, n: number): number => {
    if (i + 1 >= n) return 0;
    let c = s.charCodeAt(i + 1);
    // GPT-2: exact case; cl100k spelled out ('s|'S|…): ASCII case; cl100k (?i:): also ſ → s
    if (cl100k) { c = lower(c); if (ci && c === 0x17f) c = 115; }
    if (c === 115 || c === 116 || c === 109 || c === 100) return 2; // s t m d
    if (i + 2 >= n) return 0;
    let d = s.charCodeAt(i + 2);
    if (cl100k) d = lower(d);
    if ((c === 114 || c === 118) && d === 101) return 3; // re ve
    if (c === 108 && d === 108) return 3; // ll
    return 0;
  };

  return (s, out, offs, base) => {
    const n = s.length;
    let i = 0;
    while (i < n) {
      const c0 = s.charCodeAt(i);
      let end = -1;
      if (c0 === 39) { const k = contraction(s, i, n); if (k) end = i + k; }
      if (end < 0) {
        const k0 = cls(s, i);
        const w0 = w;
        if (cl100k) {
          if (k0 & L) end = runL(s, i + w0, n);
          else if (!(k0 & N) && c0 !== 13 && c0 !== 10 && i + w0 < n && cls(s, i + w0) & L) end = runL(s, i + w0, n);
          else if (k0 & N) {
            end = i + w0;
            for (let q = 1; q < 3 && end < n && cls(s, end) & N; q++) end += w;
          } else {
            // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
            let j = -1;
            if (c0 === 32 && i + 1 < n && (cls(s, i + 1) & 7) === 0) j = i + 1;
            else if ((k0 & 7) === 0) j = i;
            if (j >= 0) {
              end = runOther(s, j, n);
              while (end < n && (s.charCodeAt(end) === 13 || s.charCodeAt(end) === 10)) end++;
            } else {
              // whitespace at i: `\s*[\r\n]+`, then `\s+(?!\S)`, then `\s+`
              const e = runWS(s, i, n);
              let lastNl = -1;
              for (let p = e - 1; p >= i; p--) {
                const c = s.charCodeAt(p);
                if (c === 13 || c === 10) { lastNl = p; break; }
              }
              if (lastNl >= 0) end = lastNl + 1;
              else end = e === n || e - i === 1 ? e : prevStart(s, e);
            }
          }
        } else if (k0 & L) end = runL(s, i + w0, n);
        else if (k0 & N) end = runN(s, i + w0, n);
        else if ((k0 & 7) === 0) end = runOther(s, i + w0, n);
        else if (c0 === 32 && i + 1 < n && cls(s, i + 1) & L) end = runL(s, i + 1, n);
        else if (c0 === 32 && i + 1 < n && cls(s, i + 1) & N) end = runN(s, i + 1, n);
        else if (c0 === 32 && i + 1 < n && (cls(s, i + 1) & 7) === 0) end = runOther(s, i + 1, n);
        else {
          const e = runWS(s, i, n);
          end = e === n || e - i === 1 ? e : prevStart(s, e);
        }
      }
      out.push(s.slice(i, end));
      offs.push(base + i);
      i = end;
    }
  };
}

/**
 * `\s+(?!\S)` on a whitespace run [i, e) followed by a non-space: give back the last whitespace
 * code point (whitespace is all BMP, so one unit).
 */
function prevStart(_s: string, e: number): number {
  return e - 1;
}

/** The exact pattern strings the scanners implement. */
export const SCANNABLE: Record<string, [kind: 'gpt2' | 'cl100k', ci: boolean]> = {
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+": ['gpt2', false],
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+": ['cl100k', true],
  "('s|'S|'t|'T|'re|'rE|'Re|'RE|'ve|'vE|'Ve|'VE|'m|'M|'ll|'lL|'Ll|'LL|'d|'D)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+": ['cl100k', false],
};
