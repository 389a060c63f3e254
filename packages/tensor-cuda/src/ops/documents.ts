/**
 * Packed documents: from per-token document ids (several examples packed into one sequence) to
 * the two host arrays the attention and rope ops take —
 *   docStart[b, p]  = first position of the document containing position p (attention's mask),
 *   positions[b, p] = p - docStart[b, p] (RoPE positions restart at 0 in every document).
 * A document is a run of equal ids within a row (a new run starts wherever the id changes), so
 * padding can be given its own id and never attends to (or is attended by) real tokens.
 */
import { ArgumentError, ShapeError } from '../errors.js';

export interface DocumentLayout {
  docStart: Int32Array;
  positions: Int32Array;
}

export function documentLayout(docIds: ArrayLike<number>, B: number, T: number): DocumentLayout {
  if (!Number.isInteger(B) || !Number.isInteger(T) || B < 0 || T < 0) throw new ArgumentError(`documentLayout: bad sizes B=${B} T=${T}`);
  if (docIds.length !== B * T) throw new ShapeError(`documentLayout: ${docIds.length} document ids for B*T = ${B * T} positions`);
  const docStart = new Int32Array(B * T), positions = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    let start = 0;
    for (let p = 0; p < T; p++) {
      const e = b * T + p;
      const id = docIds[e]!;
      if (!Number.isInteger(id)) throw new ArgumentError(`documentLayout: document id ${id} at [${b}, ${p}] is not an integer`);
      if (p > 0 && id !== docIds[e - 1]) start = p;
      docStart[e] = start;
      positions[e] = p - start;
    }
  }
  return { docStart, positions };
}
