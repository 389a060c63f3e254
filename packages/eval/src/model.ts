/**
 * The small model / tokenizer interfaces @olmo/eval scores against, and the adapter for @olmo/model's OLMo.
 */
import { copyInto, noGrad, type Tensor } from '@olmo/tensor-cuda';
import { configError } from './errors.js';

/** What `forward` returns: row-major [B, T, V] logits that can be copied out and freed. */
export interface LogitsLike {
  readonly shape: readonly number[];
  toFloat32Array(): Float32Array;
  dispose(): void;
}

/** A causal LM the evaluators can score with. `@olmo/model`'s OLMo is adapted by `asScoringModel`. */
export interface ScoringModel {
  /** ids: B rows of equal length T (the scorer right-pads). Returns logits [B, T, V]. */
  forward(ids: number[][]): { logits: LogitsLike } | Promise<{ logits: LogitsLike }>;
  /** Maximum sequence length (OLMo's `max_sequence_length` / HF `max_position_embeddings`). */
  readonly contextLength: number;
  /** Logit width V (OLMo's embedding_size; ≥ the tokenizer's vocabulary). */
  readonly vocabSize: number;
  /**
   * Optional (KV-cache models): run the B `prefixes` (all of one length P) once — logits only for their last
   * position, [B, 1, V] — then every suffix k on top of a copy of prefix `owner[k]`'s keys/values
   * ([K, Smax, V], suffixes right-padded with `padId`; null when every suffix is empty). Lets the scorer
   * compute each document's shared context once and skip the LM head on context positions.
   */
  forwardPrefixed?(prefixes: number[][], suffixes: number[][], owner: number[], padId: number): PrefixedOutput | Promise<PrefixedOutput>;
}

export interface PrefixedOutput {
  prefixLast: LogitsLike;
  suffix: LogitsLike | null;
}

/** The subset of @olmo/tokenizer's Tokenizer the evaluators use. */
export interface TokenizerLike {
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  decode(ids: ArrayLike<number>, opts?: { skipSpecialTokens?: boolean }): string;
  readonly eosTokenId: number;
  readonly vocabSize?: number;
}

function isScoringModel(m: unknown): m is ScoringModel {
  const o = m as Partial<ScoringModel>;
  return !!o && typeof o.forward === 'function' && typeof o.contextLength === 'number' && typeof o.vocabSize === 'number';
}

function num(cfg: Record<string, unknown>, ...keys: string[]): number | undefined {
  for (const k of keys) {
    const v = cfg[k];
    if (typeof v === 'number' && Number.isFinite(v) && v > 0) return v;
  }
  return undefined;
}

/**
 * Accepts a ScoringModel, or anything shaped like @olmo/model's OLMo (`forward(ids) → { logits }` plus a
 * `config` with `max_position_embeddings`/`max_sequence_length` and `vocab_size`/`embedding_size`), and
 * returns a ScoringModel that runs forward under `noGrad`.
 */
export function asScoringModel(model: unknown, overrides: { contextLength?: number } = {}): ScoringModel {
  if (isScoringModel(model) && overrides.contextLength === undefined) return model;
  const m = model as { forward?: unknown; config?: unknown; contextLength?: number; vocabSize?: number };
  if (!m || typeof m.forward !== 'function') throw configError('the model has no forward(ids) method', 'pass an @olmo/model OLMo or a ScoringModel');
  const cfg = (m.config && typeof m.config === 'object' ? (m.config as Record<string, unknown>) : {}) as Record<string, unknown>;
  const inner = (cfg.config && typeof cfg.config === 'object' ? (cfg.config as Record<string, unknown>) : cfg);
  const contextLength = overrides.contextLength ?? m.contextLength ?? num(inner, 'max_position_embeddings', 'max_sequence_length', 'maxSequenceLength', 'contextLength', 'n_positions');
  const vocabSize = m.vocabSize ?? num(inner, 'embedding_size', 'embeddingSize', 'vocab_size', 'vocabSize');
  if (!contextLength) throw configError('cannot tell the model context length', 'its config needs max_position_embeddings (or pass contextLength)');
  if (!vocabSize) throw configError('cannot tell the model vocabulary size', 'its config needs vocab_size / embedding_size');
  const fwd = (m.forward as (ids: number[][], opts?: object) => { logits: LogitsLike }).bind(model);
  const out: ScoringModel = {
    contextLength,
    vocabSize,
    forward(ids: number[][]) {
      return noGrad(() => fwd(ids));
    },
  };
  const cacheModel = model as Partial<CacheModel>;
  if (typeof cacheModel.createCache === 'function') {
    out.forwardPrefixed = (prefixes, suffixes, owner, padId) => noGrad(() => forwardPrefixedOLMo(model as CacheModel, fwd, prefixes, suffixes, owner, padId));
  }
  return out;
}

/** The parts of @olmo/model's OLMo / KVCache used for prefix sharing. */
interface CacheLike {
  readonly k: Tensor[];
  readonly v: Tensor[];
  length: number;
  dispose(): void;
}
interface CacheModel {
  createCache(batch: number, maxLength: number): CacheLike;
}

function forwardPrefixedOLMo(model: CacheModel, fwd: (ids: number[][], opts?: object) => { logits: LogitsLike }, prefixes: number[][], suffixes: number[][], owner: number[], padId: number): PrefixedOutput {
  const B = prefixes.length;
  const P = prefixes[0]!.length;
  const S = Math.max(0, ...suffixes.map((s) => s.length));
  const c1 = model.createCache(B, P);
  let prefixLast: LogitsLike | undefined;
  try {
    prefixLast = fwd(prefixes, { cache: c1, lastOnly: true }).logits;
    if (S === 0) return { prefixLast, suffix: null };
    const K = suffixes.length;
    const ck = model.createCache(K, P + S);
    try {
      for (let l = 0; l < c1.k.length; l++) {
        for (const [dstAll, srcAll] of [[ck.k[l]!, c1.k[l]!], [ck.v[l]!, c1.v[l]!]] as const) {
          for (let r = 0; r < K; r++) {
            const row = dstAll.slice(0, r, r + 1);
            const dst = row.slice(1, 0, P);
            const src = srcAll.slice(0, owner[r]!, owner[r]! + 1);
            copyInto(dst, src);
            dst.dispose();
            row.dispose();
            src.dispose();
          }
        }
      }
      ck.length = P;
      const ids = suffixes.map((s) => (s.length === S ? s : s.concat(new Array<number>(S - s.length).fill(padId))));
      const suffix = fwd(ids, { cache: ck }).logits;
      return { prefixLast, suffix };
    } finally {
      ck.dispose();
    }
  } catch (e) {
    prefixLast?.dispose();
    throw e;
  } finally {
    c1.dispose();
  }
}
