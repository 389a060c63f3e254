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
