/**
 * Python `str` semantics that Dolma's taggers rely on, for JavaScript strings.
 *
 * Python strings are sequences of code points; JavaScript strings are UTF-16 units. Every length and
 * offset written to an attribute file is in code points (what `len()` and slicing count in Python),
 * and whitespace / letters follow Python's Unicode rules, which differ from JavaScript's `\s`,
 * `trim()` and `split(/\s+/)`:
 *  - `str.isspace()` is true for U+001C..U+001F and U+0085 (JS `\s` is not) and false for U+FEFF (JS `\s` is true).
 *  - `str.isalpha()` is true exactly for the general categories Lu, Ll, Lt, Lm, Lo (= `\p{L}`).
 */

/** Python's `str.isspace()` for one code point (bidirectional class WS/B/S or category Zs). */
export function isPySpaceCode(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
  if (c < 0x85) return false;
  return c === 0x85 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029
    || c === 0x202f || c === 0x205f || c === 0x3000;
}

const ALPHA = /^\p{L}$/u;
/** Python's `ch.isalpha()` for one code point (given as a string of one code point). */
export function isPyAlpha(ch: string): boolean {
  const c = ch.charCodeAt(0);
  if (c < 0x80) return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
  return ALPHA.test(ch);
}

/** True when any code point of `s` is a letter (Python: `any(c.isalpha() for c in s)`). */
export function anyPyAlpha(s: string): boolean {
  for (const ch of s) if (isPyAlpha(ch)) return true;
  return false;
}

/** Python's `len(s)`: the number of code points (a surrogate pair counts once). */
export function cpLen(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff && i > 0) {
      const p = s.charCodeAt(i - 1);
      if (p >= 0xd800 && p <= 0xdbff) n--;
    }
  }
  return n;
}

function codeAt(s: string, i: number): number {
  return s.codePointAt(i)!;
}

/** Python's `s.split()` (no argument): split on runs of Python whitespace, no empty strings. */
export function pySplit(s: string): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // whitespace code points are all in the BMP, so a surrogate is never whitespace
    const ws = isPySpaceCode(c);
    if (ws) {
      if (start >= 0) { out.push(s.slice(start, i)); start = -1; }
    } else if (start < 0) start = i;
  }
  if (start >= 0) out.push(s.slice(start));
  return out;
}

/** Python's `s.strip()` (no argument). */
export function pyStrip(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isPySpaceCode(s.charCodeAt(a))) a++;
  while (b > a && isPySpaceCode(s.charCodeAt(b - 1))) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** Python's `s.lower()`: JavaScript's toLowerCase follows the same Unicode default case mapping. */
export function pyLower(s: string): string {
  return s.toLowerCase();
}

/** True when `s` contains a surrogate pair (then UTF-16 and code-point offsets differ). */
export function hasAstral(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) return true;
  }
  return false;
}

/**
 * Maps UTF-16 offsets of `s` to code-point offsets (Python indices). Identity when `s` has no
 * surrogate pairs (the common case costs one scan).
 */
export function utf16ToCodePoint(s: string): (i: number) => number {
  if (!hasAstral(s)) return (i) => i;
  const map = new Uint32Array(s.length + 1);
  let cp = 0;
  let i = 0;
  while (i < s.length) {
    map[i] = cp;
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) { map[i + 1] = cp; i++; }
    }
    i++;
    cp++;
  }
  map[s.length] = cp;
  return (j) => map[j]!;
}

/** The inverse: code-point offset → UTF-16 offset. */
export function codePointToUtf16(s: string): (cp: number) => number {
  if (!hasAstral(s)) return (i) => i;
  const map: number[] = [];
  let i = 0;
  while (i < s.length) {
    map.push(i);
    i += codeAt(s, i) > 0xffff ? 2 : 1;
  }
  map.push(s.length);
  return (cp) => (cp >= map.length ? s.length : map[cp]!);
}

/** UTF-8 byte length (Rust's `str::len`, which Dolma's deduper uses in places). */
export function utf8Len(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/**
 * Python's `round(x, 5)` (Dolma's TAGGER_SCORE_PRECISION): rounds the exact binary value half-to-even.
 * `toFixed` rounds exact ties up, so ties (only possible for dyadic values like 0.015625) are fixed up
 * with exact BigInt arithmetic.
 */
export function pyRound(x: number, digits = 5): number {
  if (!Number.isFinite(x) || Number.isInteger(x)) return x;
  const r = Number(x.toFixed(digits));
  if (Math.abs(x) >= 1e15) return x;
  // a tie needs 2·x·10^digits to be an (odd) integer; 10^digits adds `digits` factors of 2, so x·2^(digits+1)
  // must be an integer (exact: scaling by a power of two) — almost never true, and then no BigInt is needed
  if (!Number.isInteger(x * 2 ** (digits + 1))) return r;
  // exact tie test: x * 10^digits has fractional part exactly 0.5
  const scaled = exactScaledTwice(x, digits); // 2 * x * 10^digits as an exact rational n / 2^k
  if (scaled === null) return r;
  const { num, shift } = scaled;
  if (shift === 0n) {
    // 2x·10^d is an integer: a tie iff it is odd
    if (num % 2n !== 0n) {
      const lo = (num - (num > 0n ? 1n : -1n)) / 2n; // truncated toward zero
      const even = lo % 2n === 0n ? lo : lo + (num > 0n ? 1n : -1n);
      return Number(even) / 10 ** digits;
    }
  }
  return r;
}

function exactScaledTwice(x: number, digits: number): { num: bigint; shift: bigint } | null {
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, x);
  const hi = buf.getUint32(0);
  const lo = buf.getUint32(4);
  const sign = hi >>> 31 ? -1n : 1n;
  const exp = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e: number;
  if (exp === 0) e = -1074;
  else { mant |= 1n << 52n; e = exp - 1075; }
  // x = sign * mant * 2^e;  2·x·10^d = sign * mant * 2 * 10^d * 2^e
  let num = sign * mant * 2n * 10n ** BigInt(digits);
  if (e >= 0) return { num: num << BigInt(e), shift: 0n };
  let k = BigInt(-e);
  while (k > 0n && num % 2n === 0n) { num /= 2n; k--; }
  return { num, shift: k };
}

/**
 * A float as Python's `repr` / Dolma's JSON encoder writes it: shortest round-trip digits, with
 * `.0` on integral values (Dolma's scores are Python floats, so `5` is written `5.0`).
 */
export function pyFloat(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return `${x}.0`;
  return String(x);
}
