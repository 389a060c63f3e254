/**
 * `gopher_v1` — Dolma python/dolma/taggers/gopher.py (get_attributes, GopherAttributes.as_spans):
 * Gopher quality statistics, every one a document-level span [0, len(text)).
 *
 * Python details reproduced: words are `text.split()` (Python whitespace), lengths are code points,
 * `median` averages the two middle values, `Counter.most_common(1)` picks the first-inserted n-gram
 * among equal counts, `character_count` in the n-gram and duplicate-line fractions is the sum of WORD
 * lengths (not len(text)), and empty counters (fewer words than n) emit no span.
 *
 * `gopherStats` below is the readable reference; the tagger runs the native kernel
 * (native/cpu/text_taggers_gopher.cc, same algorithm and arithmetic) when the addon is built, and this
 * reference otherwise. test/curation/native-taggers.test.ts checks the two agree value for value.
 */
import { textGopher } from '@olmo/tensor-cuda/text';
import { anyPyAlpha, cpLen, pySplit } from '../pystr.js';
import { nativeTextTaggers } from './native.js';
import type { DolmaDocument, Span, Tagger } from '../types.js';

const REQUIRED_ENGLISH_WORDS = new Set(['the', 'be', 'to', 'of', 'and', 'that', 'have', 'with']);

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const v = Float64Array.from(values).sort(); // typed-array sort is numeric
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

export interface GopherStats {
  mostCommon: [number, number][];
  duplicate: [number, number][];
  characterCount: number;
  wordCount: number;
  medianWordLength: number;
  symbolToWordRatio: number;
  fractionOfWordsWithAlphaCharacter: number;
  requiredWordCount: number;
  fractionOfLinesStartingWithBulletPoint: number;
  fractionOfLinesEndingWithEllipsis: number;
  fractionOfDuplicateLines: number;
  fractionOfCharactersInDuplicateLines: number;
}

export function gopherStats(text: string): GopherStats {
  const s: GopherStats = {
    mostCommon: [], duplicate: [], characterCount: cpLen(text), wordCount: 0, medianWordLength: 0, symbolToWordRatio: 0,
    fractionOfWordsWithAlphaCharacter: 0, requiredWordCount: 0, fractionOfLinesStartingWithBulletPoint: 0,
    fractionOfLinesEndingWithEllipsis: 0, fractionOfDuplicateLines: 0, fractionOfCharactersInDuplicateLines: 0,
  };
  if (s.characterCount === 0) return s;
  const words = pySplit(text);
  const wc = words.length;
  const lens = words.map(cpLen);
  let charCount = 0;
  for (const l of lens) charCount += l;
  s.wordCount = wc;
  s.medianWordLength = median(lens);
  let sym = 0; let alpha = 0; let req = 0;
  for (const w of words) {
    if (w.includes('#') || w.includes('\u2026')) sym++;
    if (anyPyAlpha(w)) alpha++;
    if (REQUIRED_ENGLISH_WORDS.has(w)) req++;
  }
  s.symbolToWordRatio = sym / Math.max(wc, 1);
  s.fractionOfWordsWithAlphaCharacter = alpha / Math.max(wc, 1);
  s.requiredWordCount = req;

  // n-gram counts, exactly (no hashing): every distinct word gets an id in order of first
  // appearance, and every distinct n-gram an id made from (id of its (n-1)-gram prefix, id of its last
  // word), also in order of first appearance — so scanning ids in ascending order visits n-grams in
  // Counter insertion order, which is what most_common(1) uses to break ties. An n-gram whose
  // (n-1)-gram prefix occurs once is itself unique, so it gets a fresh id without a table lookup
  // (in natural text most 3-grams are already unique, so the higher levels cost little).
  const wordIds = new Map<string, number>();
  const wid = new Int32Array(wc);
  let prevCounts = new Int32Array(wc);
  for (let i = 0; i < wc; i++) {
    let id = wordIds.get(words[i]!);
    if (id === undefined) { id = wordIds.size; wordIds.set(words[i]!, id); }
    wid[i] = id;
    prevCounts[id]!++;
  }
  let prev = new Int32Array(wid);
  // open-addressing table (prefix id, word id) → n-gram id, reused across n
  let cap = 16;
  let bits = 4;
  while (cap < 2 * wc) { cap <<= 1; bits++; }
  const keyA = new Int32Array(cap);
  const keyB = new Int32Array(cap);
  const val = new Int32Array(cap);
  const mask = cap - 1;
  for (let n = 2; n <= 10; n++) {
    const m = wc - n + 1;
    if (m <= 0) break;
    val.fill(-1);
    const cur = new Int32Array(m);
    const counts = new Int32Array(m);
    const chars = new Int32Array(m);
    let nids = 0;
    let c = 0;
    for (let k = 0; k < n; k++) c += lens[k]!;
    for (let i = 0; i < m; i++) {
      if (i > 0) c += lens[i + n - 1]! - lens[i - 1]!;
      const a = prev[i]!;
      if (prevCounts[a] === 1) { const id = nids++; chars[id] = c; counts[id] = 1; cur[i] = id; continue; }
      const b = wid[i + n - 1]!;
      // multiplicative hashing: take the HIGH bits of the product (the low bits of a·odd depend only on a's low bits)
      let h = Math.imul(Math.imul(a, 0x9e3779b1) ^ b, 0x85ebca77) >>> (32 - bits);
      let id = -1;
      while (val[h] !== -1) {
        if (keyA[h] === a && keyB[h] === b) { id = val[h]!; break; }
        h = (h + 1) & mask;
      }
      if (id === -1) { id = nids++; keyA[h] = a; keyB[h] = b; val[h] = id; chars[id] = c; }
      counts[id]!++;
      cur[i] = id;
    }
    if (n <= 4) {
      let best = 0;
      for (let id = 1; id < nids; id++) if (counts[id]! > counts[best]!) best = id; // first max wins, as most_common
      s.mostCommon.push([n, (counts[best]! * chars[best]!) / Math.max(charCount, 1)]);
    } else {
      let all = 0; let dup = 0;
      for (let id = 0; id < nids; id++) {
        all += counts[id]! * chars[id]!;
        if (counts[id]! > 1) dup += counts[id]! * chars[id]!;
      }
      s.duplicate.push([n, dup / Math.max(all, 1)]);
    }
    prev = cur;
    prevCounts = counts;
  }

  const lines = text.split('\n');
  let bullet = 0; let ellipsis = 0;
  const lineCounts = new Map<string, number>();
  for (const line of lines) {
    if (line.startsWith('*') || line.startsWith('-')) bullet++;
    if (line.endsWith('\u2026')) ellipsis++;
    lineCounts.set(line, (lineCounts.get(line) ?? 0) + 1);
  }
  s.fractionOfLinesStartingWithBulletPoint = bullet / Math.max(lines.length, 1);
  s.fractionOfLinesEndingWithEllipsis = ellipsis / Math.max(lines.length, 1);
  let dupLines = 0; let dupChars = 0;
  for (const [line, c] of lineCounts) {
    if (c > 1) { dupLines += c; dupChars += cpLen(line) * c; }
  }
  s.fractionOfDuplicateLines = dupLines / Math.max(lines.length, 1);
  s.fractionOfCharactersInDuplicateLines = dupChars / Math.max(charCount, 1);
  return s;
}

/** gopherStats computed by the native kernel (same result). */
export function gopherStatsNative(text: string): GopherStats {
  const o = textGopher(text);
  const mostCommon: [number, number][] = [];
  const duplicate: [number, number][] = [];
  for (let n = 2; n <= 4; n++) if (!Number.isNaN(o[10 + n - 2]!)) mostCommon.push([n, o[10 + n - 2]!]);
  for (let n = 5; n <= 10; n++) if (!Number.isNaN(o[13 + n - 5]!)) duplicate.push([n, o[13 + n - 5]!]);
  return {
    mostCommon, duplicate, characterCount: o[0]!, wordCount: o[1]!, medianWordLength: o[2]!, symbolToWordRatio: o[3]!,
    fractionOfWordsWithAlphaCharacter: o[4]!, requiredWordCount: o[5]!, fractionOfLinesStartingWithBulletPoint: o[6]!,
    fractionOfLinesEndingWithEllipsis: o[7]!, fractionOfDuplicateLines: o[8]!, fractionOfCharactersInDuplicateLines: o[9]!,
  };
}

export class GopherV1 implements Tagger {
  private readonly stats: (text: string) => GopherStats;
  /** `reference: true` forces the TypeScript reference (tests); default: native when built. */
  constructor(opts: { reference?: boolean } = {}) {
    this.stats = !opts.reference && nativeTextTaggers() ? gopherStatsNative : gopherStats;
  }

  predict(doc: DolmaDocument): Span[] {
    const s = this.stats(doc.text);
    const end = s.characterCount;
    const span = (type: string, score: number): Span => ({ start: 0, end, type, score });
    return [
      ...s.mostCommon.map(([n, v]) => span(`fraction_of_characters_in_most_common_${n}grams`, v)),
      ...s.duplicate.map(([n, v]) => span(`fraction_of_characters_in_duplicate_${n}grams`, v)),
      span('character_count', s.characterCount),
      span('word_count', s.wordCount),
      span('median_word_length', s.medianWordLength),
      span('symbol_to_word_ratio', s.symbolToWordRatio),
      span('fraction_of_words_with_alpha_character', s.fractionOfWordsWithAlphaCharacter),
      span('required_word_count', s.requiredWordCount),
      span('fraction_of_lines_starting_with_bullet_point', s.fractionOfLinesStartingWithBulletPoint),
      span('fraction_of_lines_ending_with_ellipsis', s.fractionOfLinesEndingWithEllipsis),
      span('fraction_of_duplicate_lines', s.fractionOfDuplicateLines),
      span('fraction_of_characters_in_duplicate_lines', s.fractionOfCharactersInDuplicateLines),
    ];
  }
}
