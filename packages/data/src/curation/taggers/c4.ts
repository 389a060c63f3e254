/**
 * `c4_v1` — Dolma python/dolma/taggers/c4.py (get_attributes, C4Attributes.as_spans): the C4 rules.
 * Per line of text.split("\n"): a span [offset, end) (end includes the line's "\n" except on the last
 * line) of type `lines_with_no_ending_punctuation` when line.lower().strip() does not end in . ? ! "
 * and `lines_with_too_few_words` when it has fewer than 3 words; document spans `has_naughty_word`,
 * `has_javascript`, `has_lorem_ipsum`, `has_curly_brace` (score 1.0, only when true) and `line_count`.
 *
 * The bad-word list is LDNOOBW's English list from the npm package `naughty-words` (the list C4 and
 * Dolma's data/naughty_words_en.txt come from; versions of the list may differ by a few entries).
 *
 * `predictReference` is the readable reference; predict() runs the native kernel
 * (native/cpu/text_taggers_c4.cc) when the addon is built — one pass for the lines, one over the
 * lower-cased words, one for the phrases — with the same spans (test/curation/native-taggers.test.ts).
 */
import { createRequire } from 'node:module';
import { textC4, textC4Lexicon, type C4Lexicon } from '@olmo/tensor-cuda/text';
import { nativeTextTaggers } from './native.js';
import { cpLen, pyLower, pySplit, pyStrip } from '../pystr.js';
import type { DolmaDocument, Span, Tagger } from '../types.js';

const MIN_WORDS_PER_LINE = 3;

let naughty: { words: Set<string>; phrases: string[] } | undefined;
function naughtyList(): { words: Set<string>; phrases: string[] } {
  if (!naughty) {
    const list = createRequire(import.meta.url)('naughty-words/en.json') as string[];
    naughty = { words: new Set(list.filter((w) => !w.includes(' '))), phrases: list.filter((w) => w.includes(' ')) };
  }
  return naughty;
}

let lexicon: C4Lexicon | null | undefined;
/** The native lexicon of the bad-word list (null: the list needs the JavaScript lower-casing). */
export function nativeLexicon(): C4Lexicon | null {
  if (lexicon === undefined) {
    const { words, phrases } = naughtyList();
    lexicon = textC4Lexicon([...words], phrases);
  }
  return lexicon;
}

const FLAG_TYPES: [number, string][] = [[1, 'has_naughty_word'], [2, 'has_javascript'], [4, 'has_lorem_ipsum'], [8, 'has_curly_brace']];

export class C4V1 implements Tagger {
  private readonly lexicon: C4Lexicon | null;
  /** `reference: true` forces the TypeScript reference (tests); default: native when built. */
  constructor(opts: { reference?: boolean } = {}) {
    this.lexicon = !opts.reference && nativeTextTaggers() ? nativeLexicon() : null;
  }

  predict(doc: DolmaDocument): Span[] {
    if (!this.lexicon) return this.predictReference(doc);
    const o = textC4(this.lexicon, doc.text);
    const lines = o[0]!; const flags = o[1]!; const np = o[2]!; const fw = o[3]!;
    const spans: Span[] = [];
    const n = o[4]!;
    let k = 5;
    for (let i = 0; i < np; i++, k += 2) spans.push({ start: o[k]!, end: o[k + 1]!, type: 'lines_with_no_ending_punctuation', score: 1 });
    for (let i = 0; i < fw; i++, k += 2) spans.push({ start: o[k]!, end: o[k + 1]!, type: 'lines_with_too_few_words', score: 1 });
    for (const [bit, type] of FLAG_TYPES) if (flags & bit) spans.push({ start: 0, end: n, type, score: 1 });
    spans.push({ start: 0, end: n, type: 'line_count', score: lines });
    return spans;
  }

  predictReference(doc: DolmaDocument): Span[] {
    const text = doc.text;
    const { words: badWords, phrases } = naughtyList();
    const lines = text.split('\n');
    const noPunct: Span[] = [];
    const fewWords: Span[] = [];
    let hasNaughty = false; let hasJs = false; let hasLorem = false; let hasCurly = false;
    let offset = 0;
    for (let i = 0; i < lines.length; i++) {
      const original = lines[i]!;
      let end = offset + cpLen(original);
      if (i < lines.length - 1) end += 1;
      const line = pyStrip(pyLower(original));
      if (!(line.endsWith('.') || line.endsWith('?') || line.endsWith('!') || line.endsWith('"'))) {
        noPunct.push({ start: offset, end, type: 'lines_with_no_ending_punctuation', score: 1 });
      }
      const words = pySplit(line);
      if (words.length < MIN_WORDS_PER_LINE) fewWords.push({ start: offset, end, type: 'lines_with_too_few_words', score: 1 });
      if (!hasNaughty && (words.some((w) => badWords.has(w)) || phrases.some((p) => line.includes(p)))) hasNaughty = true;
      if (words.includes('javascript')) hasJs = true;
      if (line.includes('lorem ipsum')) hasLorem = true;
      if (line.includes('{')) hasCurly = true;
      offset = end;
    }
    const n = cpLen(text);
    const spans = [...noPunct, ...fewWords];
    if (hasNaughty) spans.push({ start: 0, end: n, type: 'has_naughty_word', score: 1 });
    if (hasJs) spans.push({ start: 0, end: n, type: 'has_javascript', score: 1 });
    if (hasLorem) spans.push({ start: 0, end: n, type: 'has_lorem_ipsum', score: 1 });
    if (hasCurly) spans.push({ start: 0, end: n, type: 'has_curly_brace', score: 1 });
    spans.push({ start: 0, end: n, type: 'line_count', score: lines.length });
    return spans;
  }
}
