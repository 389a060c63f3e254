/**
 * Whether the fast native paths of gopher_v1, c4_v1 and pii_regex_v2 are used: the addon
 * (@olmo/tensor-cuda, native/cpu/text_taggers_*.cc) is built and has the kernels, and
 * OLMO_TAGGERS_REFERENCE is not set to 1 (which forces the TypeScript references, e.g. to compare).
 */
import { textTaggersAvailable } from '@olmo/tensor-cuda/text';

let ok: boolean | undefined;
export function nativeTextTaggers(): boolean {
  ok ??= process.env.OLMO_TAGGERS_REFERENCE !== '1' && textTaggersAvailable();
  return ok;
}
