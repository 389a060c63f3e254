/** Tags one documents file into one attributes file (the unit of work of `olmo data tag`). */
import { existsSync } from 'node:fs';
import { OlmoError } from '../errors.js';
import { attributesPathFor, formatAttributesLine, spansToAttributes } from './attributes.js';
import { AtomicLineWriter, parseDocument, readLines, type RawLine } from './documents.js';
import { batchTagging, tagLinesBatch } from './tag-file-batch.js';
import { createTagger } from './registry.js';
import type { Tagger } from './types.js';

export interface TagFileResult { file: string; output: string; skipped: boolean; documents: number; bytes: number; seconds: number }

const taggerCache = new Map<string, Tagger>();
async function getTagger(name: string): Promise<Tagger> {
  let t = taggerCache.get(name);
  if (!t) { t = await createTagger(name); taggerCache.set(name, t); }
  return t;
}

export async function tagFile(file: string, experiment: string, taggerNames: readonly string[], resume = true, opts: { batch?: boolean } = {}): Promise<TagFileResult> {
  const output = attributesPathFor(file, experiment);
  const t0 = performance.now();
  if (resume && existsSync(output)) return { file, output, skipped: true, documents: 0, bytes: 0, seconds: 0 };
  const taggers = await Promise.all(taggerNames.map(async (n) => [n, await getTagger(n)] as const));
  // the per-document path: parse, each tagger's spans, the attribute line
  const tagLine = (line: RawLine): string => {
    const doc = parseDocument(line, file);
    const attrs = new Map<string, [number, number, number][]>();
    for (const [name, tagger] of taggers) {
      let spans;
      try {
        spans = tagger.predict(doc);
      } catch (e) {
        throw new OlmoError('INTERNAL', `tagger ${name} failed on line ${line.lineNo} (id ${String(doc.id)}): ${(e as Error).message} [${file}:${line.lineNo}]`, 'fix the tagger', { cause: e });
      }
      spansToAttributes(experiment, name, spans, attrs);
    }
    return formatAttributesLine(doc.id, attrs, doc.source);
  };
  const batch = opts.batch === false ? null : batchTagging(experiment, taggerNames);
  // gzip level 1: attribute files (one span per line of text for c4_v1) compress ~2x less well
  // than at level 6 but cost a fraction of the CPU; the decompressed bytes are the same
  const w = new AtomicLineWriter(output, 1);
  let documents = 0;
  let bytes = 0;
  try {
    if (batch) {
      ({ documents, bytes } = await tagLinesBatch(file, batch, w, tagLine));
    } else {
      for await (const line of readLines(file)) {
        await w.write(tagLine(line));
        documents++;
        bytes += line.bytes + 1;
      }
    }
    await w.commit();
  } catch (e) {
    w.abort();
    throw e;
  }
  return { file, output, skipped: false, documents, bytes, seconds: (performance.now() - t0) / 1000 };
}
