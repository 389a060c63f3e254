/**
 * The native batch path of tagFile: when every requested tagger is a built-in one that
 * @olmo/tensor-cuda's textTagBatch runs (gopher_v1, c4_v1, pii_regex_v2, ft_lang_id_en_doc_v2, each
 * once), whole chunks of the decompressed file go to one native call that parses the JSON lines, runs
 * the taggers over one copy of each text and returns the attribute lines as the TypeScript path writes
 * them (test/curation/tag-batch.test.ts checks the bytes). A line the native code does not reproduce
 * exactly (malformed UTF-8 or JSON, a number id, ...) goes through the TypeScript path, line by line,
 * so errors name the same file and line. OLMO_TAG_BATCH=0 turns this path off (OLMO_TAGGERS_REFERENCE=1
 * too: it forces the TypeScript taggers).
 */
import { existsSync, statSync } from 'node:fs';
import { GzipFileReader, gzipReaderAvailable, OlmoError, TEXT_TAG_BATCH_TAGGERS, textTagBatch, textTagBatchAvailable, textTagBatchPlan, type C4Lexicon, type TextTagBatchPlan } from '@olmo/tensor-cuda/text';
import { DataError } from '../errors.js';
import { AtomicLineWriter, decodeLine, isGzip, openDocumentStream, readError, type RawLine } from './documents.js';
import { isBuiltinTagger } from './registry.js';
import { nativeLexicon } from './taggers/c4.js';
import { loadNativeLanguageModel } from './taggers/language.js';
import { nativeTextTaggers } from './taggers/native.js';

export interface BatchTagging { plan: TextTagBatchPlan; lexicon: C4Lexicon | null; ft: unknown }

/** The native plan for these taggers, or null when any of them needs the per-document path. */
export function batchTagging(experiment: string, names: readonly string[]): BatchTagging | null {
  if (process.env.OLMO_TAG_BATCH === '0' || !nativeTextTaggers() || !textTagBatchAvailable()) return null;
  if (new Set(names).size !== names.length) return null;
  if (!names.every((n) => TEXT_TAG_BATCH_TAGGERS.includes(n) && isBuiltinTagger(n))) return null;
  let lexicon: C4Lexicon | null = null;
  if (names.includes('c4_v1')) {
    lexicon = nativeLexicon();
    if (!lexicon) return null;
  }
  let ft: unknown = null;
  let label = -1;
  if (names.includes('ft_lang_id_en_doc_v2')) {
    try {
      const model = loadNativeLanguageModel(); // the model the ft_lang_id_en_doc_v2 tagger of this thread uses
      ft = model.nativeHandle();
      label = model.labelIndex('__label__en');
    } catch (e) {
      if (e instanceof OlmoError && e.code === 'NATIVE_UNAVAILABLE') return null;
      throw e;
    }
    if (label < 0) return null;
  }
  return { plan: textTagBatchPlan(experiment, names, label), lexicon, ft };
}

/**
 * Tags every line of `file` into `w`: native batches, and `jsLine` (the per-document TypeScript path:
 * parse, taggers, attribute line) for each line the batch stops at. Same line numbering, byte counting
 * and read errors as readLines.
 */
export async function tagLinesBatch(file: string, b: BatchTagging, w: AtomicLineWriter, jsLine: (line: RawLine) => string): Promise<{ documents: number; bytes: number }> {
  let lineNo = 0;
  let documents = 0;
  let bytes = 0;
  // tags the lines of data (the rest after its last "\n" too when final); returns what is left
  const run = async (data: Buffer, final: boolean): Promise<Buffer> => {
    let off = 0;
    for (;;) {
      const r = textTagBatch(b.plan, b.lexicon, b.ft, off > 0 ? data.subarray(off) : data, final);
      if (r.lines > 0) await w.writeBytes(r.attributes, r.lines);
      lineNo += r.lines;
      documents += r.lines;
      bytes += r.bytes;
      off += r.consumed;
      if (!r.stopped) return data.subarray(off);
      const nl = data.indexOf(10, off);
      const line = decodeLine(data.subarray(off, nl < 0 ? data.length : nl), ++lineNo, file);
      await w.write(jsLine(line));
      documents++;
      bytes += line.bytes + 1;
      off = nl < 0 ? data.length : nl + 1;
    }
  };
  if (isGzip(file) && process.env.OLMO_NATIVE_GUNZIP !== '0' && gzipReaderAvailable()) {
    if (!existsSync(file)) throw new DataError('NOT_FOUND', 'file not found', 'check the path / glob', file);
    if (statSync(file).isFile()) {
      await inflateLines(file, run, () => lineNo);
      return { documents, bytes };
    }
  }
  // the pieces of an unfinished line (joined once, when its "\n" arrives)
  let parts: Buffer[] = [];
  const stream = openDocumentStream(file);
  const it = stream[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<Buffer>;
    try {
      next = await it.next();
    } catch (e) {
      throw readError(file, lineNo, e);
    }
    if (next.done) break;
    const chunk = next.value;
    try {
      let start = 0;
      if (parts.length > 0) {
        // only the line that spans the chunks is joined (not the whole chunk: a fresh chunk-sized
        // buffer per chunk costs page faults)
        const nl = chunk.indexOf(10);
        if (nl < 0) { parts.push(chunk); continue; }
        await run(Buffer.concat([...parts, chunk.subarray(0, nl + 1)]), false);
        parts = [];
        start = nl + 1;
      }
      const rest = await run(start > 0 ? chunk.subarray(start) : chunk, false);
      if (rest.length > 0) parts = [rest];
    } catch (e) {
      await it.return?.();
      throw e;
    }
  }
  if (parts.length > 0) await run(Buffer.concat(parts), true);
  return { documents, bytes };
}

/**
 * The native gunzip path of tagLinesBatch (@olmo/tensor-cuda GzipFileReader): the file is inflated into
 * one reused buffer (Node's gunzip stream hands out every 256 KiB in fresh memory: ~4 K page faults and
 * 40-60 ms of system CPU per 12 MB on the dev VM). `run` tags the buffer's complete lines and returns
 * the unfinished last line, a view of the buffer's tail, which moves to the front before the next bytes
 * are inflated after it; a line longer than the buffer doubles it. Read errors are readLines' errors.
 */
async function inflateLines(file: string, run: (data: Buffer, final: boolean) => Promise<Buffer>, linesRead: () => number): Promise<void> {
  let reader: GzipFileReader;
  try {
    reader = GzipFileReader.open(file);
  } catch (e) {
    throw readError(file, 0, e);
  }
  let buf = spareInflateBuffers.pop() ?? Buffer.allocUnsafe(1 << 20);
  try {
    let filled = 0;
    for (;;) {
      if (filled === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, filled);
        buf = bigger;
      }
      let n: number;
      try {
        n = reader.read(buf, filled);
      } catch (e) {
        throw readError(file, linesRead(), e);
      }
      if (n === 0) break;
      filled += n;
      const rest = await run(buf.subarray(0, filled), false);
      buf.copyWithin(0, filled - rest.length, filled);
      filled = rest.length;
    }
    if (filled > 0) await run(buf.subarray(0, filled), true);
  } finally {
    reader.close();
    // nothing refers to buf now (the attribute lines are copies): the next file of this thread takes it
    spareInflateBuffers.push(buf);
  }
}

/**
 * Inflate buffers of finished files, reused by the next file of this thread: a fresh 1 MiB per file
 * first-touched 256 pages each time (~1.5 K of the ~9 K page faults of bench/data's cold row). A stack,
 * not one buffer, because files tagged concurrently on this thread (awaits in between) each need their own.
 */
const spareInflateBuffers: Buffer[] = [];
