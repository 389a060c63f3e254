/**
 * Added tokens (HF AddedVocabulary): literal strings matched before normalization (normalized=false)
 * or on the normalized text (normalized=true), leftmost-longest, with `single_word`, `lstrip` and
 * `rstrip` applied exactly as in HF's `find_matches`.
 *
 * Leftmost-longest is obtained from a JS alternation sorted longest first: at each position the
 * backtracking engine tries the longest literal first, and positions are tried left to right.
 */
import { TokenizerError } from './errors.js';
import { tokenIdOrThrow } from './token-id.js';
import type { Normalizer } from './normalizers.js';
import { firstChar, isWhitespace, isWordChar, lastChar } from './unicode.js';

export interface AddedToken {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

export function parseAddedTokens(list: unknown): AddedToken[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new TokenizerError('added_tokens must be a list');
  return list.map((t: Record<string, unknown>, i) => {
    if (typeof t !== 'object' || t === null || typeof t.content !== 'string') {
      throw new TokenizerError(`added_tokens[${i}] needs a string content and an id`);
    }
    return {
      // Validated although the constructor re-assigns ids as HF does: HF refuses such a file.
      id: tokenIdOrThrow(t.id, `added_tokens[${i}] (${JSON.stringify(t.content)})`),
      content: t.content,
      single_word: t.single_word === true,
      lstrip: t.lstrip === true,
      rstrip: t.rstrip === true,
      normalized: t.normalized === undefined ? t.special !== true : t.normalized === true,
      special: t.special === true,
    };
  });
}

class Matcher {
  private sticky: RegExp;
  /** First UTF-16 unit of every token: positions with another first unit cannot start a match. */
  private cand: RegExp;
  private byContent = new Map<string, AddedToken>();
  constructor(tokens: { key: string; tok: AddedToken }[]) {
    for (const { key, tok } of tokens) if (!this.byContent.has(key)) this.byContent.set(key, tok);
    const keys = [...this.byContent.keys()].filter((k) => k.length > 0).sort((a, b) => b.length - a.length);
    const src = keys.map((k) => k.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&')).join('|');
    this.sticky = new RegExp(src, 'yu');
    const esc = (u: string) => `\\u${u.charCodeAt(0).toString(16).padStart(4, '0')}`;
    const prefixes = new Set(keys.map((k) => k.slice(0, 2)));
    this.cand = new RegExp([...prefixes].map((p) => p.split('').map(esc).join('')).join('|') || '(?!)', 'g');
  }

  /** Next match at or after `from` (same result as a global exec of the alternation). */
  private next(s: string, from: number): RegExpExecArray | null {
    // A native regex over the tokens' first one/two units finds candidates (fast skip over plain
    // text, and a lone space is no candidate for GPT-NeoX's space-run tokens); sticky exec verifies.
    const cand = this.cand;
    const y = this.sticky;
    cand.lastIndex = from;
    let c: RegExpExecArray | null;
    while ((c = cand.exec(s)) !== null) {
      y.lastIndex = c.index;
      const m = y.exec(s);
      if (m) return m;
      cand.lastIndex = c.index + 1;
    }
    return null;
  }

  /**
   * Splits s into [start, end, tokenId] triples (tokenId −1 for plain text), HF `find_matches`.
   */
  split(s: string, out: number[]): void {
    let startOffset = 0;
    let m: RegExpExecArray | null;
    let from = 0;
    while ((m = this.next(s, from)) !== null) {
      from = m.index + m[0].length;
      let start = m.index;
      let stop = start + m[0].length;
      const tok = this.byContent.get(m[0])!;
      if (tok.single_word) {
        const startSpace = start === 0 || !isWordChar(lastChar(s.slice(0, start)));
        const stopSpace = stop === s.length || !isWordChar(firstChar(s.slice(stop)));
        if (!startSpace || !stopSpace) continue;
      }
      if (tok.lstrip) {
        let ns = start;
        while (ns > 0) {
          const c = lastChar(s.slice(0, ns));
          if (!isWhitespace(c)) break;
          ns -= c.length;
        }
        start = Math.max(ns, startOffset);
      }
      if (tok.rstrip) {
        while (stop < s.length) {
          const c = firstChar(s.slice(stop));
          if (!isWhitespace(c)) break;
          stop += c.length;
        }
        from = Math.max(from, stop);
      }
      if (start > startOffset) out.push(startOffset, start, -1);
      out.push(start, stop, tok.id);
      startOffset = stop;
    }
    if (startOffset !== s.length) out.push(startOffset, s.length, -1);
  }
}

export class AddedVocabulary {
  readonly tokens: AddedToken[];
  private raw: Matcher | null;
  private norm: Matcher | null;
  readonly specialIds = new Set<number>();
  constructor(tokens: AddedToken[], normalizer: Normalizer | null) {
    this.tokens = tokens;
    for (const t of tokens) if (t.special) this.specialIds.add(t.id);
    const raw = tokens.filter((t) => !t.normalized).map((tok) => ({ key: tok.content, tok }));
    const norm = tokens.filter((t) => t.normalized).map((tok) => ({ key: normalizer ? normalizer(tok.content) : tok.content, tok }));
    this.raw = raw.length ? new Matcher(raw) : null;
    this.norm = norm.length ? new Matcher(norm) : null;
  }
  /** Splits text on non-normalized added tokens. */
  splitRaw(s: string, out: number[]): void {
    if (this.raw) this.raw.split(s, out);
    else if (s.length) out.push(0, s.length, -1);
  }
  /** Splits normalized text on normalized added tokens. */
  splitNormalized(s: string, out: number[]): void {
    if (this.norm) this.norm.split(s, out);
    else if (s.length) out.push(0, s.length, -1);
  }
}
