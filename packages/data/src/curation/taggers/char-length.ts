/**
 * `char_length_v1` — Dolma python/dolma/taggers/length.py, class CharLengthV1.predict:
 * one span [0, len(text)) of type `length` with score len(text) (code points).
 */
import { cpLen } from '../pystr.js';
import type { DolmaDocument, Span, Tagger } from '../types.js';

export class CharLengthV1 implements Tagger {
  predict(doc: DolmaDocument): Span[] {
    const n = cpLen(doc.text);
    return [{ start: 0, end: n, type: 'length', score: n }];
  }
}
