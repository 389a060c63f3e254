// Python str semantics: expectations are what CPython 3 returns (documented in the Python reference
// for str.split/strip/isalpha/isspace and round()).
import { describe, expect, it } from 'vitest';
import { anyPyAlpha, codePointToUtf16, cpLen, isPyAlpha, isPySpaceCode, pyFloat, pyRound, pySplit, pyStrip, utf16ToCodePoint } from '../../src/curation/pystr.js';

describe('python str helpers', () => {
  it('isspace: \\x1c-\\x1f and \\x85 are whitespace, U+FEFF and U+200B are not', () => {
    for (const c of [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000]) expect(isPySpaceCode(c), c.toString(16)).toBe(true);
    for (const c of [0xfeff, 0x200b, 0x180e, 0x41, 0x08]) expect(isPySpaceCode(c), c.toString(16)).toBe(false);
  });
  it('split(): Python whitespace, no empty strings ("a\\xa0b\\u2003c\\x1cd\\ufeffe".split() == ["a","b","c","d\\ufeffe"])', () => {
    expect(pySplit('a\u00a0b\u2003c\u001cd\ufeffe')).toEqual(['a', 'b', 'c', 'd\ufeffe']);
    expect(pySplit('  ')).toEqual([]);
    expect(pySplit('\u0085x\n\ty ')).toEqual(['x', 'y']);
  });
  it('strip(): strips \\x1c and \\x85 but keeps \\ufeff', () => {
    expect(pyStrip('\u001c\u0085 ab \u3000')).toBe('ab');
    expect(pyStrip('\ufeffab')).toBe('\ufeffab');
  });
  it('isalpha(): letters only (categories L*), not digits, marks or symbols; astral letters count', () => {
    expect(isPyAlpha('a')).toBe(true);
    expect(isPyAlpha('\u00e9')).toBe(true);
    expect(isPyAlpha('\u4e2d')).toBe(true);
    expect(isPyAlpha('\u{1D518}')).toBe(true); // MATHEMATICAL FRAKTUR CAPITAL U, category Lu
    expect(isPyAlpha('1')).toBe(false);
    expect(isPyAlpha('\u0301')).toBe(false); // combining acute: Mn
    expect(isPyAlpha('\u2160')).toBe(false); // ROMAN NUMERAL ONE: Nl
    expect(anyPyAlpha('12-34')).toBe(false);
    expect(anyPyAlpha('12a')).toBe(true);
  });
  it('len() counts code points; offsets convert both ways', () => {
    const s = 'a\u{1D518}b\u{1F600}c';
    expect(s.length).toBe(7);
    expect(cpLen(s)).toBe(5);
    const toCp = utf16ToCodePoint(s);
    expect([0, 1, 3, 4, 6, 7].map(toCp)).toEqual([0, 1, 2, 3, 4, 5]);
    const toU = codePointToUtf16(s);
    expect([0, 1, 2, 3, 4, 5].map(toU)).toEqual([0, 1, 3, 4, 6, 7]);
  });
  it('round(x, 5) is half-to-even on the exact binary value (round(0.015625, 5) == 0.01562)', () => {
    expect(pyRound(0.015625, 5)).toBe(0.01562);
    expect(pyRound(0.046875, 5)).toBe(0.04688); // 3/64: tie, 4688 is even
    expect(pyRound(1 / 3, 5)).toBe(0.33333);
    expect(pyRound(2 / 3, 5)).toBe(0.66667);
    expect(pyRound(0.125, 2)).toBe(0.12);
    expect(pyRound(2.675, 2)).toBe(2.67); // 2.675 is 2.67499999... in binary
    expect(pyRound(5, 5)).toBe(5);
  });
  it('floats are written as Python repr: 5 → "5.0"', () => {
    expect(pyFloat(5)).toBe('5.0');
    expect(pyFloat(0.5)).toBe('0.5');
    expect(pyFloat(-1)).toBe('-1.0');
  });
});
