/**
 * Generation with a KV cache: one prefill forward over the prompt, then 1-token decode steps
 * (activations [B, 1, C]: the GEMMs are M = B rows, i.e. the GEMV path at batch 1). Greedy by
 * default; temperature / top-k / top-p sampling from a seeded tensor-cuda Generator; stop tokens;
 * AbortSignal; streamed as an async iterator. Also a batched variant and a text-level helper that
 * streams decoded text without splitting multi-byte characters.
 */
import { Generator, argmaxRows, noGrad, type Tensor } from '@olmo/tensor-cuda';
import { ConfigError, OlmoError } from './errors.js';
import type { KVCache } from './kv-cache.js';
import type { OLMo } from './model.js';

export interface GenerateOptions {
  /** Default 32. */
  maxNewTokens?: number;
  /** 0 or undefined: greedy (argmax). */
  temperature?: number;
  /** Keep only the k most likely tokens (0/undefined: all). */
  topK?: number;
  /** Nucleus sampling: smallest set of tokens with cumulative probability ≥ topP (1/undefined: all). */
  topP?: number;
  /** Seed for sampling (default 0). */
  seed?: number;
  /** Stop after emitting one of these ids (default: the config's eos_token_id when set). Pass [] to never stop early. */
  stopTokenIds?: number[];
  signal?: AbortSignal;
  /**
   * Called with each step's last-position logits (before sampling) — for tests and logit processors.
   * Greedy decoding on the cpu without it never copies the logits to JS (see greedyInPlace).
   */
  onLogits?: (logits: Float32Array, step: number) => void;
  /** Disable the KV cache (recompute the whole prefix each step; for testing). */
  useCache?: boolean;
  /** false: decode op by op instead of one native call per block (ForwardOptions.fusedDecode; for testing). */
  fusedDecode?: boolean;
}

/** Anything with encode / decode / eosTokenId (e.g. @olmo/tokenizer's Tokenizer). */
export interface TokenizerLike {
  encode(text: string): number[];
  decode(ids: number[]): string;
  readonly eosTokenId?: number | null;
  /** When known, checked against the model's vocabulary (embedding rows) before generating. */
  readonly vocabSize?: number;
}

/** The tokenizer must fit the model's vocabulary (the same check and message as `olmo eval`). */
export function checkTokenizerFits(model: OLMo, tokenizer: TokenizerLike): void {
  const mv = model.config.embedding_size, tv = tokenizer.vocabSize;
  if (typeof tv === 'number' && tv > mv) throw new ConfigError(`tokenizer vocabulary (${tv}) is larger than the model's (${mv})`, 'use the tokenizer the checkpoint was trained with');
  const eos = tokenizer.eosTokenId;
  if (typeof eos === 'number' && eos >= mv) throw new ConfigError(`tokenizer eos id ${eos} is outside the model vocabulary (${mv})`, 'use the tokenizer the checkpoint was trained with');
}

function abortError(signal: AbortSignal): unknown {
  if (signal.reason !== undefined) return signal.reason;
  const e = new Error('generation aborted');
  e.name = 'AbortError';
  return e;
}

/** Picks the next token from one row of logits. Tokens ≥ `validVocab` (embedding padding) are never sampled. */
export function sampleNext(logits: Float32Array, validVocab: number, opts: GenerateOptions, gen: Generator): number {
  const V = Math.min(validVocab, logits.length);
  const temperature = opts.temperature ?? 0;
  if (!(temperature > 0)) {
    let best = 0, bv = -Infinity;
    for (let i = 0; i < V; i++) if (logits[i]! > bv) { bv = logits[i]!; best = i; }
    return best;
  }
  const k = opts.topK && opts.topK > 0 ? Math.min(opts.topK, V) : V;
  const topP = opts.topP ?? 1;
  let idx: number[];
  if (k === V && topP >= 1) {
    idx = Array.from({ length: V }, (_, i) => i); // plain temperature sampling: no sort needed
  } else {
    // candidates sorted by logit (descending), truncated by top-k
    idx = Array.from({ length: V }, (_, i) => i);
    idx.sort((a, b) => logits[b]! - logits[a]! || a - b);
    idx = idx.slice(0, k);
  }
  let maxL = -Infinity;
  for (const i of idx) maxL = Math.max(maxL, logits[i]! / temperature);
  const p = idx.map((i) => Math.exp(logits[i]! / temperature - maxL));
  let sum = p.reduce((a, b) => a + b, 0);
  if (topP < 1) {
    let cum = 0, cut = p.length;
    for (let i = 0; i < p.length; i++) {
      cum += p[i]! / sum;
      if (cum >= topP) { cut = i + 1; break; }
    }
    p.length = cut;
    idx.length = cut;
    sum = p.reduce((a, b) => a + b, 0);
  }
  let r = gen.random() * sum;
  for (let i = 0; i < p.length; i++) {
    r -= p[i]!;
    if (r < 0) return idx[i]!;
  }
  return idx[p.length - 1]!;
}

function checkOpts(model: OLMo, prompts: number[][], opts: GenerateOptions): number {
  const maxNew = opts.maxNewTokens ?? 32;
  if (!Number.isInteger(maxNew) || maxNew < 0) throw new OlmoError('INVALID_ARGUMENT', `maxNewTokens must be a non-negative integer, got ${maxNew}`);
  if (opts.temperature !== undefined && !(opts.temperature >= 0)) throw new OlmoError('INVALID_ARGUMENT', `temperature must be ≥ 0, got ${opts.temperature}`);
  if (opts.topP !== undefined && !(opts.topP > 0 && opts.topP <= 1)) throw new OlmoError('INVALID_ARGUMENT', `topP must be in (0, 1], got ${opts.topP}`);
  if (opts.topK !== undefined && !(Number.isInteger(opts.topK) && opts.topK >= 0)) throw new OlmoError('INVALID_ARGUMENT', `topK must be a non-negative integer, got ${opts.topK}`);
  for (const p of prompts) if (!Array.isArray(p) || p.length === 0) throw new OlmoError('INVALID_ARGUMENT', 'each prompt needs at least one token id');
  return maxNew;
}

/**
 * Last-position logits of each row: [B, V] as Float32Arrays (views of one copy: a decode step's
 * logits are ~200 KB for a 50k vocabulary, and a second copy per row showed up in decode profiles
 * as allocation, zeroing and page faults). Disposes the logits tensor.
 */
function lastLogits(logits: Tensor): Float32Array[] {
  const [B, T, V] = logits.shape as [number, number, number];
  const all = logits.toFloat32Array();
  logits.dispose();
  const rows: Float32Array[] = [];
  for (let b = 0; b < B; b++) rows.push(all.subarray((b * T + T - 1) * V, (b * T + T) * V));
  return rows;
}

/**
 * Greedy decoding without a logits hook on the CPU picks the next token where the logits are
 * (native argmaxRows: the same index as sampleNext's greedy loop, see its tests) instead of
 * copying [V] floats per step to JS and scanning them there: ~200 KB copied into a fresh
 * zero-filled ArrayBuffer plus a 50k-iteration JS loop per token, a visible share of a small
 * model's decode step.
 */
function greedyInPlace(logits: Tensor, opts: GenerateOptions): boolean {
  return !((opts.temperature ?? 0) > 0) && opts.onLogits === undefined && logits.deviceIndex === -1;
}

/** The greedy token of each row's last position ([B, T, V] logits; valid ids < validVocab). Disposes the logits. */
function lastArgmax(logits: Tensor, validVocab: number): number[] {
  const [, T, V] = logits.shape as [number, number, number];
  const last = T > 1 ? logits.slice(1, T - 1, T) : logits;
  try {
    return argmaxRows(last, Math.min(validVocab, V));
  } finally {
    if (last !== logits) last.dispose();
    logits.dispose();
  }
}

function stopSet(model: OLMo, opts: GenerateOptions): Set<number> {
  if (opts.stopTokenIds) return new Set(opts.stopTokenIds);
  return model.config.eos_token_id !== null ? new Set([model.config.eos_token_id]) : new Set();
}

const tick = () => new Promise<void>((r) => setImmediate(r));

/** model.generate(): streams ids for one prompt. */
export async function* generate(model: OLMo, promptIds: number[], opts: GenerateOptions = {}): AsyncGenerator<number, void, undefined> {
  const maxNew = checkOpts(model, [promptIds], opts);
  if (maxNew === 0) return;
  const gen = new Generator(opts.seed ?? 0);
  const stops = stopSet(model, opts);
  const useCache = opts.useCache !== false;
  let cache: KVCache | null = null;
  const seq = [...promptIds];
  try {
    if (useCache) cache = model.createCache(1, promptIds.length + maxNew);
    let input: number[] = promptIds;
    for (let step = 0; step < maxNew; step++) {
      if (opts.signal?.aborted) throw abortError(opts.signal);
      const picked = noGrad(() => {
        const { logits } = model.forward([useCache ? input : seq], { cache: cache ?? undefined, lastOnly: true, fusedDecode: opts.fusedDecode });
        return greedyInPlace(logits, opts) ? lastArgmax(logits, model.config.vocab_size)[0]! : lastLogits(logits)[0]!;
      });
      let next: number;
      if (typeof picked === 'number') next = picked;
      else {
        opts.onLogits?.(picked, step);
        next = sampleNext(picked, model.config.vocab_size, opts, gen);
      }
      seq.push(next);
      input = [next];
      yield next;
      if (stops.has(next)) return;
      await tick();
    }
  } finally {
    cache?.dispose();
  }
}

/**
 * Batched generation: prompts of equal length run as one batch (no padding masks needed); each row
 * stops independently at a stop token (its later positions are computed but not returned).
 */
export async function generateBatch(model: OLMo, prompts: number[][], opts: GenerateOptions = {}): Promise<number[][]> {
  const maxNew = checkOpts(model, prompts, opts);
  const results: number[][] = prompts.map(() => []);
  if (maxNew === 0) return results;
  const stops = stopSet(model, opts);
  const groups = new Map<number, number[]>();
  prompts.forEach((p, i) => groups.set(p.length, [...(groups.get(p.length) ?? []), i]));
  const gen = new Generator(opts.seed ?? 0);
  for (const [len, members] of groups) {
    const B = members.length;
    const cache = model.createCache(B, len + maxNew);
    try {
      const done = new Array<boolean>(B).fill(false);
      let input = members.map((i) => prompts[i]!);
      for (let step = 0; step < maxNew; step++) {
        if (opts.signal?.aborted) throw abortError(opts.signal);
        const rows = noGrad(() => {
          const { logits } = model.forward(input, { cache, lastOnly: true, fusedDecode: opts.fusedDecode });
          return greedyInPlace(logits, opts) ? lastArgmax(logits, model.config.vocab_size) : lastLogits(logits);
        });
        const next: number[] = [];
        for (let b = 0; b < B; b++) {
          const row = rows[b]!;
          const tok = done[b] ? (stops.values().next().value ?? 0) : typeof row === 'number' ? row : sampleNext(row, model.config.vocab_size, opts, gen);
          next.push(tok);
          if (!done[b]) {
            results[members[b]!]!.push(tok);
            if (stops.has(tok)) done[b] = true;
          }
        }
        if (done.every(Boolean)) break;
        input = next.map((t) => [t]);
        await tick();
      }
    } finally {
      cache.dispose();
    }
  }
  return results;
}

/**
 * Streams decoded text for `prompt`: each yielded string is the newly completed text. A chunk is
 * held back while the decoded tail ends in an incomplete UTF-8 sequence (U+FFFD), so multi-byte
 * characters split across tokens are never emitted in halves.
 */
export async function* generateText(model: OLMo, tokenizer: TokenizerLike, prompt: string, opts: GenerateOptions = {}): AsyncGenerator<string, void, undefined> {
  checkTokenizerFits(model, tokenizer);
  const promptIds = tokenizer.encode(prompt);
  const stopTokenIds = opts.stopTokenIds ?? (tokenizer.eosTokenId !== undefined && tokenizer.eosTokenId !== null ? [tokenizer.eosTokenId] : undefined);
  const ids: number[] = [];
  let emitted = 0; // characters of decode(ids) already yielded
  let pendingFrom = 0; // ids before this index are fully emitted
  let prefix = '';
  for await (const id of generate(model, promptIds, { ...opts, stopTokenIds })) {
    if (stopTokenIds?.includes(id)) break;
    ids.push(id);
    const text = tokenizer.decode(ids.slice(pendingFrom));
    if (text.endsWith('\uFFFD')) continue;
    const full = prefix + text;
    if (full.length > emitted) {
      yield full.slice(emitted);
      emitted = full.length;
    }
    // Re-anchor the window so decoding stays O(window) per step.
    if (ids.length - pendingFrom > 64) {
      prefix = full;
      pendingFrom = ids.length;
    }
  }
  const tail = prefix + tokenizer.decode(ids.slice(pendingFrom));
  if (tail.length > emitted) yield tail.slice(emitted);
}
