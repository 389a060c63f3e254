/**
 * `pii_regex_v2` — Dolma python/dolma/taggers/pii.py: BasePiiFilter with method "regex" and
 * postprocess=True (PiiRegexV1), scored by PiiRegexV2._score.
 *
 * predict: for EMAIL_ADDRESS, PHONE_NUMBER, IP_ADDRESS in that order, every `finditer` match of the
 * type's regex gives a span of the WHOLE match (`match.span()`, so an email span includes the
 * punctuation/whitespace the pattern consumes around the address). _postprocess then keeps:
 *  - an email when the mention's part before the first "@" is not "(" after strip() and the part
 *    after it contains "." (_is_email);
 *  - a phone or IP when the ±100-character context contains none of "isbn", "doi", "#" (case-sensitive);
 *    a phone additionally only when the DOCUMENT has no URL (_contains_url). Dolma's URL pattern is a
 *    non-raw Python string starting with "\b", which Python reads as a BACKSPACE character (U+0008),
 *    so it only matches a URL preceded by a backspace: in practice the phone rule never fires. Kept.
 * Finally a span `doc` [0, len(text)) scores len(kept spans) / len(text.split()), or -1.0 when the
 * text has no words (the ZeroDivisionError branch of PiiRegexV2._score).
 *
 * Regexes follow Python `re` on str: \s is Python whitespace, \d is any Unicode decimal digit. (pii.py
 * switches to `re2` — ASCII \s and \d — only when google-re2 happens to be installed; it is not a
 * dependency of Dolma, so `re` is what a Dolma install runs.)
 *
 * The matching (the three regexes' finditer, and the word count) runs in the native kernel
 * (native/cpu/text_taggers_pii.cc: each pattern's backtracking order worked out by hand, see there)
 * when the addon is built; the regexes here are the reference it is tested against
 * (test/curation/native-taggers.test.ts). The post-processing below is shared.
 */
import { textPii } from '@olmo/tensor-cuda/text';
import { codePointToUtf16, cpLen, pySplit, pyStrip, utf16ToCodePoint } from '../pystr.js';
import { nativeTextTaggers } from './native.js';
import type { DolmaDocument, Span, Tagger } from '../types.js';

// Python's \s (str.isspace) as a character-class body
const S = '\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const D = '\\p{Nd}';

export const PII_REGEXES: [string, RegExp][] = [
  ['EMAIL_ADDRESS', new RegExp(`[.${S}@,?!;:)(]*([^${S}@]+@[^${S}@,?!;:)(]+?)[.${S}@,?!;:)(]?[${S}\\n\\r]`, 'gu')],
  ['PHONE_NUMBER', new RegExp(`[${S}]+\\(?(${D}{3})\\)?[-\\. ]*(${D}{3})[-. ]?(${D}{4})`, 'gu')],
  ['IP_ADDRESS', new RegExp(`(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)`, 'gu')],
];

// Dolma's url_regex, including the literal backspace its "\b" became.
const URL_REGEX = new RegExp(
  `\\x08((?:https?://|www${D}{0,3}[.]|[a-z0-9.\\-]+[.][a-z]{2,4}/)(?:[^${S}()<>]+|\\(([^${S}()<>]+|(\\([^${S}()<>]+\\)))*\\))+`
  + `(?:\\(([^${S}()<>]+|(\\([^${S}()<>]+\\)))*\\)|[^${S}\`!()\\[\\]{};:'".,<>?«»“”‘’]))`, 'iu');

const WINDOW = 100;

export function containsUrl(text: string): boolean {
  return text.includes('\u0008') && URL_REGEX.test(text);
}

const TYPES = PII_REGEXES.map(([t]) => t);

/** Every regex match (finditer, in PII_REGEXES order) in code points, and len(text.split()). */
export function piiMatchesReference(text: string): { raw: Span[]; words: number; length: number } {
  const toCp = utf16ToCodePoint(text);
  const raw: Span[] = [];
  for (const [type, re] of PII_REGEXES) {
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      raw.push({ start: toCp(m.index), end: toCp(m.index + m[0].length), type, score: 1 });
      if (m[0].length === 0) re.lastIndex++;
    }
  }
  return { raw, words: pySplit(text).length, length: cpLen(text) };
}

/** piiMatchesReference computed by the native kernel (same result). */
export function piiMatchesNative(text: string): { raw: Span[]; words: number; length: number } {
  const o = textPii(text);
  const m = o[1]!;
  const raw: Span[] = [];
  if (m > 0) {
    const toCp = utf16ToCodePoint(text);
    for (let i = 0, k = 3; i < m; i++, k += 3) raw.push({ start: toCp(o[k + 1]!), end: toCp(o[k + 2]!), type: TYPES[o[k]!]!, score: 1 });
  }
  return { raw, words: o[0]!, length: o[2]! };
}

export class PiiRegexV2 implements Tagger {
  private readonly matches: (text: string) => { raw: Span[]; words: number; length: number };
  /** `reference: true` forces the TypeScript regexes (tests); default: native when built. */
  constructor(opts: { reference?: boolean } = {}) {
    this.matches = !opts.reference && nativeTextTaggers() ? piiMatchesNative : piiMatchesReference;
  }

  predict(doc: DolmaDocument): Span[] {
    const text = doc.text;
    const { raw, words, length: n } = this.matches(text);
    if (raw.length === 0) return [{ start: 0, end: n, type: 'doc', score: words === 0 ? -1 : 0 }];
    const toU16 = codePointToUtf16(text);
    const slice = (a: number, b: number): string => text.slice(toU16(Math.max(0, a)), toU16(Math.min(n, b)));
    let docHasUrl: boolean | undefined;
    const kept: Span[] = [];
    for (const sp of raw) {
      if (sp.type === 'EMAIL_ADDRESS') {
        const parts = slice(sp.start, sp.end).split('@');
        if (pyStrip(parts[0]!) === '(' || !(parts[1] ?? '').includes('.')) continue;
        kept.push(sp);
      } else {
        const ctx = slice(sp.start - WINDOW, sp.end + WINDOW);
        if (ctx.includes('isbn') || ctx.includes('doi') || ctx.includes('#')) continue;
        if (sp.type === 'IP_ADDRESS') kept.push(sp);
        else {
          docHasUrl ??= containsUrl(text);
          if (!docHasUrl) kept.push(sp);
        }
      }
    }
    const score = words === 0 ? -1 : kept.length / words;
    kept.push({ start: 0, end: n, type: 'doc', score });
    return kept;
  }
}
