/**
 * JSONPath over documents, as Dolma's mixer/deduper use it (jsonpath_rust there, jsonpath-plus
 * here). One difference is bridged: in jsonpath_rust a filter on an OBJECT tests the object itself
 * (`$.attributes[?(@.x && @.x[0][2] > 0.5)]` asks about the attributes object), while jsonpath-plus
 * iterates the object's values; so filters are evaluated on a view where every object that is
 * followed by `[?(` in the path is wrapped in a one-element array.
 */
import { JSONPath } from 'jsonpath-plus';
import { DataError } from '../errors.js';

export interface CompiledPath { source: string; eval(json: unknown): unknown[] }

const SEGMENT_BEFORE_FILTER = /\$((?:\.[A-Za-z_][A-Za-z0-9_]*|\[['"][^'"]+['"]\])*)\[\?\(/g;

function wrapPaths(expr: string): string[][] {
  const out: string[][] = [];
  for (const m of expr.matchAll(SEGMENT_BEFORE_FILTER)) {
    const segs = [...m[1]!.matchAll(/\.([A-Za-z_][A-Za-z0-9_]*)|\[['"]([^'"]+)['"]\]/g)].map((x) => x[1] ?? x[2]!);
    out.push(segs);
  }
  return out;
}

function wrapAt(json: unknown, segs: string[]): unknown {
  if (segs.length === 0) return typeof json === 'object' && json !== null && !Array.isArray(json) ? [json] : json;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return json;
  const [h, ...rest] = segs;
  const o = json as Record<string, unknown>;
  if (!(h! in o)) return json;
  return { ...o, [h!]: wrapAt(o[h!], rest) };
}

function balanced(expr: string): boolean {
  const stack: string[] = [];
  let quote: string | undefined;
  for (const c of expr) {
    if (quote) { if (c === quote) quote = undefined; continue; }
    if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '(') stack.push(c);
    else if (c === ']' || c === ')') { if (stack.pop() !== (c === ']' ? '[' : '(')) return false; }
  }
  return stack.length === 0 && !quote;
}

/** Parses a JSONPath expression; a syntax error is a CONFIG_INVALID naming `where` (file:line or flag). */
export function compilePath(expr: string, where: string): CompiledPath {
  if (!expr.startsWith('$')) throw new DataError('CONFIG_INVALID', `JSONPath expression must start with '$': ${expr}`, 'e.g. $.attributes[?(@.exp__c4_v1__has_curly_brace)]', where);
  const wraps = wrapPaths(expr);
  const run = (json: unknown, ignoreEvalErrors = true): unknown[] => {
    let view = json;
    for (const segs of wraps) view = wrapAt(view, segs);
    // ignoreEvalErrors: `@.missing[0][2] > 0.5` on a document without that attribute is "no match", as in Dolma
    return JSONPath({ path: expr, json: view as object, wrap: true, eval: 'safe', ignoreEvalErrors }) as unknown[];
  };
  // check syntax now (jsonpath-plus parses lazily): run on a probe document with the usual fields
  try {
    if (!balanced(expr)) throw new Error('unbalanced brackets or parentheses');
    run({ id: 'probe', text: '', source: '', metadata: {}, attributes: {} });
  } catch (e) {
    throw new DataError('CONFIG_INVALID', `cannot parse JSONPath expression ${JSON.stringify(expr)}: ${(e as Error).message}`, 'Dolma syntax: $.attributes[?(@.name && @.name[0] && @.name[0][2] >= 0.5)]', where);
  }
  return {
    source: expr,
    eval(json) {
      try {
        return run(json);
      } catch (e) {
        throw new DataError('CONFIG_INVALID', `JSONPath ${JSON.stringify(expr)} failed: ${(e as Error).message}`, 'check the expression', where);
      }
    },
  };
}
