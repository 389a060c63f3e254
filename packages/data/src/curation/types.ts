/** Shared types of the curation toolkit (Dolma's data model). */

/** One document line of a Dolma `documents/*.jsonl(.gz)` file. */
export interface DolmaDocument {
  id: string;
  text: string;
  source?: string;
  added?: string;
  created?: string;
  metadata?: Record<string, unknown>;
  [k: string]: unknown;
}

/**
 * A tagged span: [start, end) in CODE POINTS (Python string indices), a type (the attribute name's
 * last part) and a score. Document-level attributes span the whole text: [0, len(text)).
 */
export interface Span {
  start: number;
  end: number;
  type: string;
  score: number;
}

/** A tagger: Dolma's `BaseTagger.predict`, returning spans. Must be deterministic per document. */
export interface Tagger {
  predict(doc: DolmaDocument): Span[];
}

/** Builds a tagger (once per worker); may be async (e.g. loading a model). */
export type TaggerFactory = () => Tagger | Promise<Tagger>;

/** attribute name → list of [start, end, score] */
export type Attributes = Record<string, [number, number, number][]>;
