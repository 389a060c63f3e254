/**
 * Translates the regex dialect HF tokenizers uses (Oniguruma, Ruby syntax) into an equivalent JS
 * RegExp with the `u` flag. Both engines are backtracking with leftmost-first alternation, so after
 * translation they find the same matches. What differs, and is rewritten here:
 *  - `\s` is Unicode White_Space in Oniguruma (includes U+0085, excludes U+FEFF); JS differs on both.
 *  - `\d`, `\w`, `\b` are Unicode-aware in Oniguruma, ASCII in JS.
 *  - `.` excludes only `\n`; `^`/`$` are line anchors (at `\n` only).
 *  - `(?i:...)` scoped flags do not exist in Node 20 → letters expand to their case-fold classes.
 *  - possessive quantifiers (`?+`, `++`, `*+`) and atomic groups `(?>...)` → `(?=(?<a>X))\k<a>`,
 *    the standard lookahead-capture emulation of atomicity.
 * Anything else that could change semantics (class intersection, backreferences, inline flags other
 * than `i`) throws TOKENIZER_UNSUPPORTED rather than match differently.
 */
import { unsupported } from './errors.js';

/** Unicode White_Space, as Oniguruma's and Rust's `\s`. */
export const WS_RANGES = '\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const WORD_RANGES = '\\p{L}\\p{M}\\p{Nd}\\p{Pc}';
const SYNTAX = new Set('^$\\.*+?()[]{}|/'.split(''));

const caseCache = new Map<string, string[]>();
/** All BMP code points that match `ch` case-insensitively under Unicode simple case folding. */
function caseVariants(ch: string): string[] {
  let v = caseCache.get(ch);
  if (v) return v;
  v = [ch];
  if (ch.toLowerCase() !== ch.toUpperCase() || /\p{L}/u.test(ch)) {
    const re = new RegExp(`^${ch.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&')}$`, 'iu');
    for (let c = 0; c < 0x10000; c++) {
      if (c >= 0xd800 && c < 0xe000) continue;
      const s = String.fromCharCode(c);
      if (s !== ch && re.test(s)) v.push(s);
    }
  }
  caseCache.set(ch, v);
  return v;
}

function escClass(ch: string): string {
  return /[\\\]^[-]/.test(ch) ? `\\${ch}` : ch;
}
function escLiteral(ch: string): string {
  return SYNTAX.has(ch) || ch === '-' ? (ch === '-' ? '-' : `\\${ch}`) : ch;
}

/** Translates an Oniguruma pattern into JS regex source (to be compiled with the `gu` flags). */
export function translatePattern(src: string): string {
  let out = '';
  let i = 0;
  let atomic = 0;
  let lastAtom = -1;
  // per open group: output position of its '(' and whether case-insensitive mode is on inside
  const groups: { start: number; ci: boolean; parentCi: boolean }[] = [];
  let ci = false;
  const cps = Array.from(src);
  const n = cps.length;

  const lit = (ch: string) => {
    lastAtom = out.length;
    if (ci) {
      const v = caseVariants(ch);
      out += v.length > 1 ? `[${v.map(escClass).join('')}]` : escLiteral(ch);
    } else out += escLiteral(ch);
  };

  /** Parses an escape at cps[i] === '\\'; returns [text outside class, text inside class | null, literal char | null]. */
  const escape = (): { outer: string; inner: string | null; literal: string | null } => {
    const c = cps[i + 1];
    if (c === undefined) throw unsupported('Regex', `trailing backslash in ${JSON.stringify(src)}`);
    i += 2;
    switch (c) {
      case 's': return { outer: `[${WS_RANGES}]`, inner: WS_RANGES, literal: null };
      case 'S': return { outer: `[^${WS_RANGES}]`, inner: null, literal: null };
      case 'd': return { outer: '\\p{Nd}', inner: '\\p{Nd}', literal: null };
      case 'D': return { outer: '\\P{Nd}', inner: '\\P{Nd}', literal: null };
      case 'w': return { outer: `[${WORD_RANGES}]`, inner: WORD_RANGES, literal: null };
      case 'W': return { outer: `[^${WORD_RANGES}]`, inner: null, literal: null };
      case 'b': return { outer: `(?:(?<=[${WORD_RANGES}])(?![${WORD_RANGES}])|(?<![${WORD_RANGES}])(?=[${WORD_RANGES}]))`, inner: null, literal: null };
      case 'B': return { outer: `(?:(?<=[${WORD_RANGES}])(?=[${WORD_RANGES}])|(?<![${WORD_RANGES}])(?![${WORD_RANGES}]))`, inner: null, literal: null };
      case 'A': return { outer: '(?<![\\s\\S])', inner: null, literal: null };
      case 'z': return { outer: '(?![\\s\\S])', inner: null, literal: null };
      case 'Z': return { outer: '(?=\\n?(?![\\s\\S]))', inner: null, literal: null };
      case 'p': case 'P': {
        let name: string;
        if (cps[i] === '{') {
          const close = cps.indexOf('}', i);
          if (close < 0) throw unsupported('Regex', `bad \\p in ${JSON.stringify(src)}`);
          name = cps.slice(i + 1, close).join('');
          i = close + 1;
        } else name = cps[i++] ?? '';
        let neg = c === 'P';
        if (name.startsWith('^')) { neg = !neg; name = name.slice(1); }
        const t = `\\${neg ? 'P' : 'p'}{${name}}`;
        try { new RegExp(t, 'u'); } catch { throw unsupported('Regex', `Unicode property ${name}`); }
        return { outer: t, inner: t, literal: null };
      }
      case 'r': return { outer: '\\r', inner: '\\r', literal: '\r' };
      case 'n': return { outer: '\\n', inner: '\\n', literal: '\n' };
      case 't': return { outer: '\\t', inner: '\\t', literal: '\t' };
      case 'f': return { outer: '\\f', inner: '\\f', literal: '\f' };
      case 'v': return { outer: '\\v', inner: '\\v', literal: '\v' };
      case 'a': return { outer: '\\x07', inner: '\\x07', literal: '\x07' };
      case 'e': return { outer: '\\x1b', inner: '\\x1b', literal: '\x1b' };
      case 'x': case 'u': {
        let hex: string;
        if (cps[i] === '{') {
          const close = cps.indexOf('}', i);
          hex = cps.slice(i + 1, close).join('');
          i = close + 1;
        } else {
          const len = c === 'x' ? 2 : 4;
          hex = cps.slice(i, i + len).join('');
          i += len;
        }
        const ch = String.fromCodePoint(parseInt(hex, 16));
        const e = `\\u{${parseInt(hex, 16).toString(16)}}`;
        return { outer: e, inner: e, literal: ch };
      }
      default:
        if (/[0-9kgGhHRXKNOyY]/.test(c)) throw unsupported('Regex', `escape \\${c} in ${JSON.stringify(src)}`);
        return { outer: escLiteral(c), inner: escClass(c), literal: c };
    }
  };

  const charClass = () => {
    // cps[i] === '['
    lastAtom = out.length;
    i++;
    let body = '';
    let neg = false;
    if (cps[i] === '^') { neg = true; i++; }
    let first = true;
    while (i < n && (cps[i] !== ']' || first)) {
      const c = cps[i]!;
      first = false;
      if (c === '[') {
        if (cps[i + 1] === ':') throw unsupported('Regex', `POSIX bracket in ${JSON.stringify(src)}`);
        throw unsupported('Regex', `nested class in ${JSON.stringify(src)}`);
      }
      if (c === '&' && cps[i + 1] === '&') throw unsupported('Regex', `class intersection in ${JSON.stringify(src)}`);
      if (c === '\\') {
        const e = escape();
        if (e.inner === null) throw unsupported('Regex', `negated escape inside a class in ${JSON.stringify(src)}`);
        if (ci && e.literal) body += caseVariants(e.literal).map(escClass).join('');
        else body += e.inner;
        continue;
      }
      if (c === '-' ) { body += '-'; i++; continue; }
      // a range a-z in ci mode is rare in tokenizer patterns; refuse rather than approximate
      if (ci && cps[i + 1] === '-' && cps[i + 2] !== ']' && /\p{L}/u.test(c)) throw unsupported('Regex', `case-insensitive range in ${JSON.stringify(src)}`);
      body += ci ? caseVariants(c).map(escClass).join('') : escClass(c);
      i++;
    }
    if (cps[i] !== ']') throw unsupported('Regex', `unterminated class in ${JSON.stringify(src)}`);
    i++;
    out += `[${neg ? '^' : ''}${body}]`;
  };

  const quantifier = (): boolean => {
    const c = cps[i];
    let q = '';
    if (c === '?' || c === '*' || c === '+') { q = c; i++; }
    else if (c === '{') {
      const m = /^\{(\d*)(,(\d*))?\}/.exec(cps.slice(i, i + 24).join(''));
      if (!m || (m[1] === '' && m[2] === undefined)) return false;
      q = m[1] === '' ? `{0${m[2]}}` : m[0];
      i += m[0].length;
    } else return false;
    if (lastAtom < 0) throw unsupported('Regex', `quantifier without operand in ${JSON.stringify(src)}`);
    if (cps[i] === '?') { q += '?'; i++; out += q; }
    else if (cps[i] === '+') {
      // possessive: X q+ ≡ (?>X q)
      i++;
      const name = `olmoA${atomic++}`;
      out = `${out.slice(0, lastAtom)}(?=(?<${name}>${out.slice(lastAtom)}${q}))\\k<${name}>`;
    } else out += q;
    return true;
  };

  while (i < n) {
    const c = cps[i]!;
    if (quantifier()) continue;
    switch (c) {
      case '\\': {
        const start = out.length;
        const e = escape();
        if (ci && e.literal) lit(e.literal);
        else { out += e.outer; lastAtom = start; }
        break;
      }
      case '[': charClass(); break;
      case '.': lastAtom = out.length; out += '[^\\n]'; i++; break;
      case '^': out += '(?:(?<![\\s\\S])|(?<=\\n))'; lastAtom = -1; i++; break;
      case '$': out += '(?=\\n|(?![\\s\\S]))'; lastAtom = -1; i++; break;
      case '|': out += '|'; lastAtom = -1; i++; break;
      case '(': {
        const start = out.length;
        const rest = cps.slice(i, i + 5).join('');
        let open: string;
        let newCi: boolean = ci;
        if (rest.startsWith('(?:') ) { open = '(?:'; i += 3; }
        else if (rest.startsWith('(?=') || rest.startsWith('(?!')) { open = rest.slice(0, 3); i += 3; }
        else if (rest.startsWith('(?<=') || rest.startsWith('(?<!')) { open = rest.slice(0, 4); i += 4; }
        else if (rest.startsWith('(?>')) {
          const name = `olmoA${atomic++}`;
          open = `(?=(?<${name}>`;
          i += 3;
          groups.push({ start, ci: newCi, parentCi: ci, atomicName: name } as never);
          out += open;
          ci = newCi;
          lastAtom = -1;
          break;
        } else if (rest.startsWith('(?<') || rest.startsWith("(?'") || rest.startsWith('(?P<')) {
          const close = cps.indexOf(rest[2] === "'" ? "'" : '>', i + 3);
          open = '(?:';
          i = close + 1;
        } else if (rest.startsWith('(?')) {
          // inline flags: (?i) (?-i) (?i:...)
          const m = /^\(\?([imsx]*)(?:-([imsx]*))?([:)])/.exec(cps.slice(i, i + 12).join(''));
          if (!m || /[msx]/.test((m[1] ?? '') + (m[2] ?? ''))) throw unsupported('Regex', `group syntax in ${JSON.stringify(src)}`);
          if (m[1]?.includes('i')) newCi = true;
          if (m[2]?.includes('i')) newCi = false;
          i += m[0].length;
          if (m[3] === ')') { ci = newCi; const g = groups[groups.length - 1]; if (g) g.ci = ci; continue; }
          open = '(?:';
        } else { open = '(?:'; i += 1; }
        groups.push({ start, ci: newCi, parentCi: ci });
        out += open;
        ci = newCi;
        lastAtom = -1;
        break;
      }
      case ')': {
        const g = groups.pop() as ({ start: number; parentCi: boolean; atomicName?: string }) | undefined;
        if (!g) throw unsupported('Regex', `unbalanced ')' in ${JSON.stringify(src)}`);
        out += g.atomicName ? `))\\k<${g.atomicName}>` : ')';
        ci = g.parentCi;
        lastAtom = g.start;
        i++;
        break;
      }
      case '{': lastAtom = out.length; out += '\\{'; i++; break;
      case '}': lastAtom = out.length; out += '\\}'; i++; break;
      case ']': lastAtom = out.length; out += '\\]'; i++; break;
      default: lit(c); i++;
    }
  }
  if (groups.length) throw unsupported('Regex', `unbalanced '(' in ${JSON.stringify(src)}`);
  return out;
}

/** Compiles an Oniguruma pattern (or a literal string when `literal`) to a global unicode JS RegExp. */
export function compilePattern(src: string, literal = false): RegExp {
  const body = literal ? Array.from(src).map((c) => escLiteral(c)).join('') : translatePattern(src);
  try {
    return new RegExp(body, 'gu');
  } catch (e) {
    throw unsupported('Regex', `${JSON.stringify(src)} does not translate to a JS RegExp: ${(e as Error).message}`);
  }
}
