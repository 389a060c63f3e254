// The raw layouts of the text tagger kernels (native/include/olmo/ops/text_taggers.h) on hand-made
// texts; @olmo/data's test/curation/native-taggers.test.ts compares them with the TypeScript
// taggers on real corpora.
import { describe, expect, it } from 'vitest';
import { OlmoError, textC4, textC4Lexicon, textGopher, textPii } from '../../src/index.js';

describe('text taggers (CPU)', () => {
  it('textGopher: 9 words, 24 word characters, 3 lines (values derived by hand)', () => {
    const o = textGopher('the cat sat\nthe cat sat\n- a dog\u2026');
    expect(o.length).toBe(19);
    // char count 32, words 9, median 3, 1/9 with "…", 8/9 alphabetic, "the" twice, 1/3 bullet, 1/3 ellipsis, 2/3 duplicate lines, 22/24
    expect([...o.slice(0, 10)]).toEqual([32, 9, 3, 1 / 9, 8 / 9, 2, 1 / 3, 1 / 3, 2 / 3, 22 / 24]);
    // most common 2-/3-/4-grams: 2*6/24, 2*9/24, 12/24; 5..9-grams unique → 0; no 10-gram → NaN
    expect([...o.slice(10, 18)]).toEqual([0.5, 0.75, 0.5, 0, 0, 0, 0, 0]);
    expect(o[18]).toBeNaN();
  });
  it('textPii: words, match count, len(text) in code points, then (type, start, end) in UTF-16 units', () => {
    const text = '\u{1D518} a@b.cd call 555-123-4567 at 10.0.0.1 ';
    // units: 𝔘 0-1, " " 2, "a@b.cd" 3-8, " " 9, "call" 10-13, " " 14, "555-123-4567" 15-26, " " 27,
    // "at" 28-29, " " 30, "10.0.0.1" 31-38, " " 39 → 6 words, 39 code points (40 units, one pair).
    // email: from the space before it (the pattern's leading [.\s...]*) through the space after
    // it: [2, 10); phone: from its leading whitespace: [14, 27); IP: [31, 39)
    const o = textPii(text);
    expect([...o]).toEqual([6, 3, 39, 0, 2, 10, 1, 14, 27, 2, 31, 39]);
  });
  it('textC4: line spans, flags, len(text)', () => {
    const lex = textC4Lexicon(['darn'], ['dang it'])!;
    const o = textC4(lex, 'Hello world again.\nDANG IT\n{x}');
    // 3 lines; flags naughty(1) + curly(8); no-punct: lines 2 and 3; few-words: lines 2 and 3; len 30
    expect([...o]).toEqual([3, 9, 2, 2, 30, 19, 27, 27, 30, 19, 27, 27, 30]);
    expect(textC4Lexicon(['Darn'], [])).toBeNull(); // an upper-case entry needs the JavaScript lower-casing
  });
  it('a non-string argument is a typed error, not a crash', () => {
    expect(() => textGopher(42 as unknown as string)).toThrow(OlmoError);
  });
});
