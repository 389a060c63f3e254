/**
 * Span replacement of Dolma's mixer (src/shard.rs, Shard::process): spans [start, end) in code points
 * are sorted by start (stably); a span that starts inside an earlier replaced span is skipped; each
 * kept span is replaced by its replacement string, in which "{}" stands for the replaced text; an
 * empty replacement deletes the span.
 */
import { codePointToUtf16, cpLen } from './pystr.js';

export interface Replacement { start: number; end: number; replacement: string; rule: string }

export function replaceSpans(text: string, spans: readonly Replacement[]): { text: string; applied: Replacement[] } {
  if (spans.length === 0) return { text, applied: [] };
  const sorted = spans.map((s, i) => [s, i] as const).sort((a, b) => a[0].start - b[0].start || a[1] - b[1]).map((x) => x[0]);
  const n = cpLen(text);
  const toU16 = codePointToUtf16(text);
  let out = '';
  let cursor = 0;
  const applied: Replacement[] = [];
  for (const s of sorted) {
    const start = Math.min(s.start, n);
    const end = Math.min(s.end, n);
    if (start < cursor || end <= start) continue;
    out += text.slice(toU16(cursor), toU16(start));
    if (s.replacement) out += s.replacement.replaceAll('{}', text.slice(toU16(start), toU16(end)));
    cursor = end;
    applied.push(s);
  }
  out += text.slice(toU16(cursor));
  return { text: out, applied };
}
