/**
 * `whitespace_tokenizer_v1` — Dolma python/dolma/taggers/length.py, class WhitespaceLengthV1.predict:
 * score = len(regex.split(r"\w+|[^\w\s]+", text)). `split` on a pattern without groups returns the
 * pieces BETWEEN matches, so the score is (number of matches + 1) — Dolma's definition, kept as is.
 * `\w` / `\s` follow the Python `regex` module's Unicode classes: \w = Alphabetic, Mark,
 * Decimal_Number, Connector_Punctuation, Join_Control; \s = White_Space.
 */
import { cpLen } from '../pystr.js';
import type { DolmaDocument, Span, Tagger } from '../types.js';

const W = '\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\u200c\\u200d';
const TOKEN = new RegExp(`[${W}]+|[^${W}\\p{White_Space}]+`, 'gu');

export function whitespaceTokenCount(text: string): number {
  let n = 0;
  TOKEN.lastIndex = 0;
  while (TOKEN.exec(text) !== null) n++;
  return n + 1;
}

export class WhitespaceTokenizerV1 implements Tagger {
  predict(doc: DolmaDocument): Span[] {
    return [{ start: 0, end: cpLen(doc.text), type: 'length', score: whitespaceTokenCount(doc.text) }];
  }
}
