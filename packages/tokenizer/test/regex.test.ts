/**
 * The Oniguruma → JS regex translation and the hand-written GPT-2/cl100k scanners: the scanners must
 * split exactly like the translated regex (fuzzed), and the translation must keep Oniguruma's
 * meaning of `\s`, `(?i:)`, possessive quantifiers.
 */
import { describe, expect, it } from 'vitest';
import { GPT2_PATTERN } from '../src/pretokenizers.js';
import { compilePattern, translatePattern } from '../src/regex.js';
import { makeScanner, SCANNABLE } from '../src/scanner.js';
import { CL100K_PATTERN } from '../src/train.js';
import { ADVERSARIAL } from './helpers.js';

function regexSplit(re: RegExp, s: string): string[] {
  return [...s.matchAll(re)].map((m) => m[0]);
}

/** Deterministic xorshift fuzz strings from a palette of tricky code points. */
function* fuzz(count: number): Generator<string> {
  const palette = [' ', ' ', '  ', '\t', '\n', '\r', '\r\n', '\u0085', '\u00a0', '\u2028', '\u3000', '\ufeff', 'a', 'Z', 'é', 'ſ', 'K',
    "'", "'s", "'S", "'ll", "'LL", "'re", "'ve", "'d", "'m", "'t", '1', '23', '٣', '½', '!', '?', '.', '-', '中', '😀', '𝔸', '𐐀', '\u0301', '_', '/', '\u0000'];
  let x = 2463534242;
  for (let k = 0; k < count; k++) {
    let s = '';
    const len = 1 + (k % 23);
    for (let j = 0; j < len; j++) {
      x ^= x << 13; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
      s += palette[x % palette.length];
    }
    yield s;
  }
}

describe('pre-tokenizer scanners == translated regex', () => {
  for (const [pattern, [kind, ci]] of Object.entries(SCANNABLE)) {
    it(`${kind} (ci=${ci})`, () => {
      const re = compilePattern(pattern);
      const scan = makeScanner(kind, ci);
      const inputs = [...ADVERSARIAL.map((s) => s.toWellFormed()), ...fuzz(4000)];
      for (const s of inputs) {
        const out: string[] = [];
        const offs: number[] = [];
        scan(s, out, offs, 0);
        expect(out, JSON.stringify(s)).toEqual(regexSplit(re, s));
        expect(out.join('')).toBe(s);
      }
    });
  }
  it('covers the shipped pattern constants', () => {
    expect(SCANNABLE[GPT2_PATTERN]).toEqual(['gpt2', false]);
    expect(SCANNABLE[CL100K_PATTERN]).toEqual(['cl100k', true]);
  });
});

describe('regex translation keeps Oniguruma semantics', () => {
  it('\\s is Unicode White_Space: includes U+0085, excludes U+FEFF', () => {
    const re = compilePattern('\\s+');
    expect(regexSplit(re, 'a\u0085\u00a0b')).toEqual(['\u0085\u00a0']);
    expect(regexSplit(re, 'a\ufeffb')).toEqual([]);
  });
  it('(?i:) expands letters with Unicode case folding (ſ ~ s, K ~ k)', () => {
    expect(regexSplit(compilePattern("(?i:'s|k)"), "'S 'ſ 'x K k")).toEqual(["'S", "'ſ", 'K', 'k']);
  });
  it('possessive quantifiers and atomic groups do not backtrack', () => {
    expect(regexSplit(compilePattern('a++a'), 'aaaa')).toEqual([]);
    expect(regexSplit(compilePattern('a+a'), 'aaaa')).toEqual(['aaaa']);
    expect(regexSplit(compilePattern('(?>a+)b'), 'aaab')).toEqual(['aaab']);
    expect(regexSplit(compilePattern('\\p{N}{1,3}+'), '12345')).toEqual(['123', '45']);
    expect(translatePattern('x?+')).toContain('(?=(?<olmoA0>x?))\\k<olmoA0>');
  });
  it('. excludes only \\n; literal braces are allowed', () => {
    expect(regexSplit(compilePattern('.+'), 'a\rb\nc')).toEqual(['a\rb', 'c']);
    expect(regexSplit(compilePattern('{x}'), '{x}')).toEqual(['{x}']);
  });
});
