/**
 * `c4_v1` — Dolma python/dolma/taggers/c4.py (get_attributes, C4Attributes.as_spans): the C4 rules.
 * Per line of text.split("\n"): a span [offset, end) (end includes the line's "\n" except on the last
 * line) of type `lines_with_no_ending_punctuation` when line.lower().strip() does not end in . ? ! "
 * and `lines_with_too_few_words` when it has fewer than 3 words; document spans `has_naughty_word`,
 * `has_javascript`, `has_lorem_ipsum`, `has_curly_brace` (score 1.0, only when true) and `line_count`.
 *
 * The bad-word list is LDNOOBW's English list from the npm package `naughty-words` (the list C4 and
 * Dolma's data/naughty_words_en.txt come from; versions of the list may differ by a few entries).
 */
import { createRequire } from 'node:module';
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

export class C4V1 implements Tagger {
  predict(doc: DolmaDocument): Span[] {
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
