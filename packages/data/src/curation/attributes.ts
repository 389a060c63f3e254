/**
 * Dolma attribute files: `attributes/<experiment>/<same relative path as the documents file>`, one
 * line per document line: {"id": ..., "attributes": {"<experiment>__<tagger>__<type>": [[start, end, score], ...]}, "source": ...}
 * (the field order of Dolma's OutputSpec). Scores are rounded like Dolma's BaseTagger.tag
 * (round(score, 5)) and written as Python floats (5 → 5.0).
 */
import path from 'node:path';
import { DataError } from '../errors.js';
import { pyFloat, pyRound } from './pystr.js';
import type { Span } from './types.js';

/** `.../documents/x/y.jsonl.gz` → `.../attributes/<name>/x/y.jsonl.gz` (Dolma's substitution). */
export function attributesPathFor(docPath: string, name: string): string {
  const abs = path.resolve(docPath);
  const i = abs.lastIndexOf(`${path.sep}documents${path.sep}`);
  if (i < 0) {
    throw new DataError('INVALID_ARGUMENT', `documents file is not under a 'documents' folder: ${docPath}`,
      'Dolma layout: <root>/documents/**/*.jsonl.gz (attributes go to <root>/attributes/<experiment>/...)', docPath);
  }
  return `${abs.slice(0, i)}${path.sep}attributes${path.sep}${name}${path.sep}${abs.slice(i + '/documents/'.length)}`;
}

/** Groups a tagger's spans by type (first appearance order), rounding scores as Dolma does. */
export function spansToAttributes(experiment: string, tagger: string, spans: readonly Span[], into: Map<string, [number, number, number][]>): void {
  // taggers emit runs of one type (c4_v1: one span per line), so the key is built once per run
  let lastType: string | undefined;
  let list: [number, number, number][] = [];
  for (const s of spans) {
    if (s.type !== lastType) {
      const key = `${experiment}__${tagger}__${s.type}`;
      const found = into.get(key);
      if (found) list = found;
      else { list = []; into.set(key, list); }
      lastType = s.type;
    }
    list.push([s.start, s.end, pyRound(s.score, 5)]);
  }
}

/** One attributes line (no newline). `floatScores`: write scores as Python floats (taggers) or as given (deduper's integer 1). */
export function formatAttributesLine(id: unknown, attrs: Map<string, [number, number, number][]>, source?: unknown, floatScores = true): string {
  // one string built by appending (no per-span arrays or joins: c4_v1 writes a span per line of text)
  let line = `{"id":${JSON.stringify(id)},"attributes":{`;
  let firstKey = true;
  for (const [k, spans] of attrs) {
    line += `${firstKey ? '' : ','}${JSON.stringify(k)}:[`;
    firstKey = false;
    for (let i = 0; i < spans.length; i++) {
      const [a, b, s] = spans[i]!;
      line += `${i === 0 ? '' : ','}[${a},${b},${floatScores ? pyFloat(s) : String(s)}]`;
    }
    line += ']';
  }
  line += '}';
  if (source !== undefined) line += `,"source":${JSON.stringify(source)}`;
  return `${line}}`;
}
