/** Character predicates with Rust/Oniguruma semantics (which differ from JS `\s`, `\w`). */
import { WS_RANGES } from './regex.js';

const WS_RE = new RegExp(`^[${WS_RANGES}]$`, 'u');
/** Rust `char::is_whitespace` (Unicode White_Space). */
export function isWhitespace(ch: string): boolean {
  return WS_RE.test(ch);
}
const ALNUM_RE = /^[\p{Alphabetic}\p{N}_]$/u;
/** Rust `c.is_alphanumeric() || c == '_'` (HF added-token single_word boundary test). */
export function isWordChar(ch: string): boolean {
  return ALNUM_RE.test(ch);
}
/** Last code point of s (empty string if none). */
export function lastChar(s: string): string {
  if (!s) return '';
  const c = s.charCodeAt(s.length - 1);
  return c >= 0xdc00 && c < 0xe000 && s.length > 1 ? s.slice(-2) : s.slice(-1);
}
/** First code point of s. */
export function firstChar(s: string): string {
  const cp = s.codePointAt(0);
  return cp === undefined ? '' : String.fromCodePoint(cp);
}

type WF = { isWellFormed(): boolean; toWellFormed(): string };
/** JS strings may hold lone surrogates; Rust receives them as U+FFFD, so do the same. */
export function wellFormed(s: string): string {
  const w = s as unknown as WF;
  return w.isWellFormed() ? s : w.toWellFormed();
}
