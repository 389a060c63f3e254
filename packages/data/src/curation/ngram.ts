/**
 * Dolma's n-gram paragraph dedup (src/deduper.rs, write_attributes, the `by_ngram` branch) and the
 * word tokenizer it uses (src/wimbd/tokens.rs, `tokenize`).
 *
 * Tokenizer: Unicode word boundaries (UAX #29, Rust's unicode-segmentation `split_word_bounds`),
 * keeping the pieces that hold at least one non-whitespace character — so punctuation is a token
 * ("Hello, world." → Hello , world .) and "2.0", "can't", "3,000.5" stay whole. JavaScript's
 * Intl.Segmenter implements the same rules through ICU, except that ICU groups Han ideographs and
 * the scripts written without spaces (Thai, Lao, Khmer, Myanmar: Line_Break=SA) into dictionary
 * words, where UAX #29's default rules — and so Dolma — break around every such character (keeping
 * combining marks, format characters and ZWJ on the character before them, rule WB4, and runs of
 * Katakana, WB13, or of digits, WB8, together). Those segments are split back here.
 *
 * Scoring of one paragraph (n = ngram_length, all in Dolma's order):
 *  - windows of n consecutive tokens; the window starting at token i is counted when
 *    last_start == 0 or i - last_start >= stride (so stride 0 and 1 both take every window, and the
 *    window at 1 is always taken: last_start is still 0 after the first one — Dolma's quirk, kept);
 *  - each counted window is looked up in the Bloom filter: a hit counts as a duplicate, a miss is
 *    inserted (unless read-only);
 *  - fewer than 2 counted windows and not skip_short_paragraphs: the whole paragraph is looked up
 *    instead (inserted when new); score 1 for a hit, 0 otherwise;
 *  - otherwise score = duplicates / windows in f32 (0/0 = NaN with skip_short_paragraphs: never
 *    written);
 *  - a span [par_start, par_end, score] is written when score >= overlap_threshold (f32), so a
 *    threshold of 0 writes a span for every scored paragraph, with score 0 for new ones.
 * Keys: a window is its tokens joined by U+FFFF (a noncharacter: no token holds it), the fallback key
 * is the paragraph text — the key the exact paragraph mode uses, so the two modes share filters as
 * Dolma's do (its key is the sequence of strings; a 1-token window equals a paragraph of that text).
 */

const SEGMENTER = new Intl.Segmenter('und', { granularity: 'word' });
/** Characters UAX #29 gives Word_Break=Other although ICU groups them by dictionary. */
const DICTIONARY_SCRIPT = /[\p{Script=Han}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}\p{Script=Tai_Tham}\p{Script=Tai_Viet}\p{Script=New_Tai_Lue}]/u;
/** WB4: Extend | Format | ZWJ stay on the character before them. */
const ATTACHES = /[\p{M}\p{Cf}\u200d]/u;
/** WB13 keeps Katakana × Katakana, WB8 Numeric × Numeric: runs ICU's dictionary segment may hold. */
const KATAKANA = /[\p{Script=Katakana}\u3031-\u3035\u309b\u309c\u30a0\u30fc\uff70]/u;
const DIGIT = /\p{Nd}/u;
const joins = (prev: string, ch: string): boolean => ATTACHES.test(ch) || (KATAKANA.test(prev) && KATAKANA.test(ch)) || (DIGIT.test(prev) && DIGIT.test(ch));
const HAS_NON_WHITESPACE = /[^\p{White_Space}]/u;

/** Dolma's `tokenize` (src/wimbd/tokens.rs): UAX #29 word-bound pieces that are not all whitespace. */
export function dolmaTokenize(s: string): string[] {
  const out: string[] = [];
  for (const { segment } of SEGMENTER.segment(s)) {
    if (!HAS_NON_WHITESPACE.test(segment)) continue;
    if (!DICTIONARY_SCRIPT.test(segment)) { out.push(segment); continue; }
    let cur = '';
    let base = ''; // last character that is not an attached mark
    for (const ch of segment) {
      if (cur !== '' && !joins(base, ch)) { out.push(cur); cur = ''; }
      cur += ch;
      if (!ATTACHES.test(ch)) base = ch;
    }
    if (cur !== '') out.push(cur);
  }
  return out;
}

export interface NgramConfig {
  ngramLength: number;
  stride: number;
  overlapThreshold: number;
  skipShortParagraphs?: boolean;
}

/** The Bloom filter (or a key partition of it) as the scorer sees it. */
export interface NgramKeys {
  /** true when the key was (probably) seen; inserts it otherwise unless read-only */
  testAndAdd(key: string): boolean;
  /** whether this process owns the key (key-space partition); Dolma skips keys of other partitions */
  mine(key: string): boolean;
}

export const NGRAM_SEPARATOR = '\uffff';

/** The score Dolma writes for one paragraph, or undefined when it writes no span. */
export function ngramParagraphScore(paragraph: string, cfg: NgramConfig, keys: NgramKeys): number | undefined {
  const tokens = dolmaTokenize(paragraph);
  const n = cfg.ngramLength;
  let windows = 0;
  let duplicates = 0;
  let lastStart = 0;
  for (let i = 0; i + n <= tokens.length; i++) {
    if (lastStart !== 0 && i - lastStart < cfg.stride) continue;
    lastStart = i;
    windows++;
    const key = tokens.slice(i, i + n).join(NGRAM_SEPARATOR);
    if (keys.mine(key) && keys.testAndAdd(key)) duplicates++;
  }
  const threshold = Math.fround(cfg.overlapThreshold);
  let score: number;
  if (windows < 2 && !cfg.skipShortParagraphs) score = keys.testAndAdd(paragraph) ? 1 : 0;
  else score = Math.fround(duplicates / windows); // f32 / f32 in Rust; rounding the f64 quotient once is the same (53 ≥ 2·24 + 2 bits)
  return score >= threshold ? score : undefined;
}

/** serde_json's rendering of an f32 score widened to f64 (ryu, shortest round trip; "1.0", not "1"). */
export function formatScore(x: number): string {
  return Number.isInteger(x) ? x.toFixed(1) : String(x);
}
