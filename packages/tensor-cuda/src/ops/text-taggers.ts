/**
 * Typed bindings of native/cpu/text_taggers_{gopher,c4,pii}.cc: per-document statistics of Dolma's gopher_v1,
 * c4_v1 and pii_regex_v2 taggers over a JavaScript string (read as UTF-16 units; offsets returned
 * in code points unless said otherwise). @olmo/data builds the taggers' spans from these; its
 * TypeScript taggers are the readable references they are tested against.
 * Layouts: native/include/olmo/ops/text_taggers.h.
 */
import { native } from '../native.js';
import { fromNative } from '../errors.js';

function call<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw fromNative(e);
  }
}

/** True when the loaded addon has the text tagger kernels (false when it is missing or older). */
export function textTaggersAvailable(): boolean {
  try {
    return typeof native().textGopher === 'function';
  } catch {
    return false;
  }
}

/** gopher_v1 statistics: 19 values, [10..18] NaN where the document has fewer words than n. */
export function textGopher(text: string): Float64Array {
  return call(() => native().textGopher(text) as Float64Array);
}

/** An opaque C4 bad-word lexicon, or null when the list needs the JavaScript lower-casing. */
export type C4Lexicon = object;
export function textC4Lexicon(words: readonly string[], phrases: readonly string[]): C4Lexicon | null {
  return call(() => native().textC4Lexicon([...words], [...phrases]) as C4Lexicon | null);
}

/** c4_v1: [line_count, flags, nNoPunct, nFewWords, len(text), ...noPunct (start,end), ...fewWords (start,end)]. */
export function textC4(lexicon: C4Lexicon, text: string): Float64Array {
  return call(() => native().textC4(lexicon, text) as Float64Array);
}

/** pii_regex_v2: [word_count, nMatches, len(text), ...(type 0 email / 1 phone / 2 ip, start, end) in UTF-16 units]. */
export function textPii(text: string): Float64Array {
  return call(() => native().textPii(text) as Float64Array);
}

/** An opaque plan of textTagBatch (experiment name and tagger order). */
export type TextTagBatchPlan = object;
/** The taggers textTagBatch runs natively. */
export const TEXT_TAG_BATCH_TAGGERS: readonly string[] = ['gopher_v1', 'c4_v1', 'pii_regex_v2', 'ft_lang_id_en_doc_v2'];

/** True when the loaded addon has textTagBatch (native/cpu/text_tag_batch.cc). */
export function textTagBatchAvailable(): boolean {
  try {
    return typeof native().textTagBatch === 'function';
  } catch {
    return false;
  }
}

/** A plan for `taggers` (names of TEXT_TAG_BATCH_TAGGERS, in attribute-key order) under `experiment`. */
export function textTagBatchPlan(experiment: string, taggers: readonly string[], ftEnLabel: number): TextTagBatchPlan {
  return call(() => native().textTagBatchPlan(experiment, [...taggers], ftEnLabel) as TextTagBatchPlan);
}

export interface TextTagBatchResult {
  /** bytes of `buf` tagged (whole lines with their '\n') */
  consumed: number;
  lines: number;
  /** sum of (line bytes + 1) */
  bytes: number;
  /** the line at `consumed` must go through the TypeScript taggers (malformed or unusual input) */
  stopped: boolean;
  /** the attribute lines (UTF-8, '\n'-terminated) */
  attributes: Buffer;
}

/**
 * `olmo data tag` over the lines of `buf` in one native call (olmo/ops/text_tag_batch.h): JSON parse,
 * the taggers, and the attribute lines exactly as @olmo/data's TypeScript path writes them. `final`:
 * the bytes after the last '\n' are a line too. `ftModel` is FastTextModel.nativeHandle().
 */
export function textTagBatch(plan: TextTagBatchPlan, c4Lexicon: C4Lexicon | null, ftModel: unknown, buf: Uint8Array, final: boolean): TextTagBatchResult {
  const r = call(() => native().textTagBatch(plan, c4Lexicon, ftModel ?? null, buf, final) as [number, number, number, number, Buffer]);
  return { consumed: r[0], lines: r[1], bytes: r[2], stopped: r[3] === 1, attributes: r[4] };
}
