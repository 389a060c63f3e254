/**
 * `random_number_v1` — Dolma python/dolma/taggers/sampling.py, class RandomNumberTagger: one span
 * [0, len(text)) of type `random` with a uniform score in [0, 1).
 *
 * Deliberate difference: Dolma seeds Python's `random` with (pid + 1) * seed, so its values change
 * from run to run. Here the value is a hash of (seed, document id), so a re-run (or a killed and
 * restarted run, or any number of workers) gives the same attributes.
 */
import { createHash } from 'node:crypto';
import { cpLen } from '../pystr.js';
import type { DolmaDocument, Span, Tagger } from '../types.js';

export class RandomNumberV1 implements Tagger {
  constructor(private readonly seed = 1) {}
  predict(doc: DolmaDocument): Span[] {
    const h = createHash('sha256').update(`${this.seed}\u0000${doc.id}`).digest();
    // 53 random bits → [0, 1)
    const hi = h.readUInt32BE(0) >>> 5;
    const lo = h.readUInt32BE(4) >>> 6;
    const score = (hi * 67108864 + lo) / 9007199254740992;
    return [{ start: 0, end: cpLen(doc.text), type: 'random', score }];
  }
}
