/**
 * Markdown that stays valid whatever text goes in (generated samples, paths, config values).
 * CommonMark rules that bite: `**Call me Ishmael. **` is not bold (a closing `**` may not follow a
 * space), `**Ishmael.**I` is not bold either (after punctuation, a closing `**` must be followed by
 * a space or punctuation), and `*`, `_`, `` ` ``, `[`, `<`, `|`, `&` … in sample text start
 * emphasis, code, links, HTML or table cells.
 */

/** Backslash-escapes every character that could start Markdown syntax inside a line of text. */
export function mdText(s: string): string {
  // (line-start syntax such as `#`, `-`, `1.` needs no escape: this text never starts a line)
  return s.replace(/\r?\n/g, ' ').replace(/[\\`*_[\]<>|~&]/g, '\\$&');
}

const PUNCT = /[\p{P}\p{S}]/u;
const SPACE = /\s/u;

/**
 * Bold text for Markdown, given the character that will follow it (`next`). Surrounding whitespace
 * goes outside the markers; when CommonMark would not close the emphasis (the text ends in
 * punctuation and a letter follows) it falls back to inline HTML `<strong>`, which CommonMark keeps.
 */
export function mdBold(s: string, next = ''): string {
  const core = s.trim();
  if (!core) return s;
  const lead = s.slice(0, s.indexOf(core)), trail = s.slice(s.indexOf(core) + core.length);
  const after = trail ? trail[0]! : next.slice(0, 1);
  const closes = !PUNCT.test(core.at(-1)!) || !after || SPACE.test(after) || PUNCT.test(after);
  if (!closes) return `${lead}<strong>${core.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}</strong>${trail}`;
  return `${lead}**${mdText(core)}**${trail}`;
}

export interface Column<R> { title: string; numeric: boolean; cell(r: R): string }

/** A Markdown pipe table (header row, alignment row, one line per row; cells escaped). */
export function mdTable<R>(cols: Column<R>[], rows: R[]): string {
  return [
    `| ${cols.map((c) => mdText(c.title)).join(' | ')} |`,
    `|${cols.map((c) => (c.numeric ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) => `| ${cols.map((c) => mdText(c.cell(r))).join(' | ')} |`),
  ].join('\n');
}
