/**
 * Python `str` semantics that OLMo's prompt code relies on (so prompts and lengths match byte for byte):
 * `len()` counts code points, `strip()` uses Python's whitespace set, `capitalize()` upper-cases the
 * first character and lower-cases the rest, `.encode('utf-8')` byte length.
 */

// Python's str.isspace() set (Unicode White_Space plus the ASCII separators \x1c-\x1f).
const PY_WS = new Set<number>([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680,
  0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a,
  0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
]);

export function isPySpace(ch: string): boolean {
  return PY_WS.has(ch.codePointAt(0)!);
}

/** Python `s.strip()` (no argument). */
export function pyStrip(s: string): string {
  const cps = Array.from(s);
  let a = 0;
  let b = cps.length;
  while (a < b && isPySpace(cps[a]!)) a++;
  while (b > a && isPySpace(cps[b - 1]!)) b--;
  return cps.slice(a, b).join('');
}

/** Python `len(s)`: number of code points. */
export function pyLen(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Python `s[a:b]` on code points (negative indices allowed, like Python). */
export function pySlice(s: string, a?: number, b?: number): string {
  const cps = Array.from(s);
  return cps.slice(a, b).join('');
}

/** Python `s.capitalize()`: first character upper-cased, the rest lower-cased. */
export function pyCapitalize(s: string): string {
  const cps = Array.from(s);
  if (cps.length === 0) return s;
  return cps[0]!.toUpperCase() + cps.slice(1).join('').toLowerCase();
}

/** Python `len(s.encode('utf-8'))`. */
export function utf8Len(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Python `s.split(' ')` (split on single spaces, keeps empty strings). */
export function pySplitSpace(s: string): string[] {
  return s.split(' ');
}
