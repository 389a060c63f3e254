/**
 * The one rule for a token id read from a tokenizer file: a non-negative integer below 2^31.
 * HF `tokenizers` stores ids as u32 (serde rejects negatives and fractions), and the id tables,
 * model embeddings and token files downstream index with signed 32-bit ints — so an id that
 * passes here is usable everywhere, and one that does not fails at load instead of encoding to
 * a wrong or out-of-range id later.
 */
import { TokenizerError } from './errors.js';

export const MAX_TOKEN_ID = 2 ** 31 - 1;

export function isValidTokenId(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_TOKEN_ID;
}

/** Returns `v` as an id, or throws TOKENIZER_INVALID naming where it was found (`where`) and the value. */
export function tokenIdOrThrow(v: unknown, where: string): number {
  if (isValidTokenId(v)) return v;
  const shown = typeof v === 'string' ? JSON.stringify(v) : String(v);
  throw new TokenizerError(
    `${where} has invalid id ${shown} (${typeof v})`,
    `token ids must be non-negative integers below 2^31 (0..${MAX_TOKEN_ID}); the file is corrupt or hand-edited`,
  );
}
