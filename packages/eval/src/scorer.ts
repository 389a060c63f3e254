/**
 * The batching engine: scores token spans (Σ log p of target tokens given everything before them).
 *
 * Efficiency: (1) rows are de-duplicated and a span whose input is a prefix of another row's input
 * (same document, or identical anywhere — e.g. BoolQ's " yes"/" no" share one query, and every
 * pmi_dc "Answer:" query is the same) is read from that row, so a shared context is computed once;
 * (2) rows are sorted by length and batched so padding is minimal; (3) log-softmax is evaluated only
 * at the positions that are scored. Scores equal scoring every span alone (causal attention: the
 * logits at position t depend only on tokens ≤ t).
 */
import { crossEntropy, noGrad, Tensor, tensor } from '@olmo/tensor-cuda';
import { argError, configError } from './errors.js';
import type { LogitsLike, ScoringModel } from './model.js';

/**
 * Per-position logsumexp of a [B, T, V] logits tensor computed natively (OpenMP / CUDA) with the fused
 * cross-entropy kernel: CE(row, target 0) = lse - x[0]. Returns null for non-tensor logits (JS fallback).
 */
function nativeLse(logits: LogitsLike, data: Float32Array): Float32Array | null {
  if (!(logits instanceof Tensor) || logits.ndim !== 3 || logits.dtype !== 'float32') return null;
  const [B, T, V] = logits.shape as [number, number, number];
  const N = B * T;
  return noGrad(() => {
    const flat = logits.reshape([N, V]);
    const targets = tensor(new Int32Array(N), { shape: [N], dtype: 'int32', device: logits.device });
    const { loss } = crossEntropy(flat, targets, { reduction: 'none' });
    const ce = loss.toFloat32Array();
    loss.dispose();
    targets.dispose();
    if (flat !== logits) flat.dispose();
    const out = new Float32Array(N);
    for (let i = 0; i < N; i++) out[i] = ce[i]! + data[i * V]!;
    return out;
  });
}

export interface Span {
  /** The row fed to the model (context + continuation[:-1], already ≤ contextLength). */
  input: number[];
  /** Logit position that predicts targets[0] (= ctx_len - 1). */
  start: number;
  targets: number[];
  /** Spans with the same group (document) are checked for prefix sharing. */
  group?: number;
}

export interface SpanScore {
  /** Σ log p(target). */
  sum: number;
  tokenLogProbs: number[];
  /** Every target token is the argmax at its position (greedy decoding reproduces it); only with opts.greedy. */
  greedy: boolean;
}

export interface ScoreOptions {
  /** Rows per forward call (OLMo's device_eval_batch_size). Default 16. */
  batchSize?: number;
  /** Cap on rows × padded length per forward call. Default batchSize × contextLength. */
  maxBatchTokens?: number;
  /** Share rows between spans (exact duplicates and prefixes). Default true; false = one row per span. */
  shareContexts?: boolean;
  /** Compute SpanScore.greedy (argmax check at every target; LAMBADA accuracy). Default false (greedy = false). */
  greedy?: boolean;
  /** Use the model's forwardPrefixed (KV cache) for grouped spans when it has one. Default true. */
  usePrefixCache?: boolean;
  /**
   * Only documents whose shared prefix has at least this many tokens take the KV-cache path (shorter
   * prefixes save too little to pay for the extra prefill call). Default 16.
   */
  prefixMinTokens?: number;
  /** Id used for right padding (any valid id: padding never influences scored positions). Default 0. */
  padId?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface ScoreStats {
  spans: number;
  rows: number;
  forwardCalls: number;
  /** Σ padded tokens fed to the model. */
  tokensFed: number;
  /** Σ real (unpadded) row tokens. */
  rowTokens: number;
  /** Positions at which the model computed logits (the LM head: V-wide, the main cost of small models). */
  logitPositions: number;
}

interface Need { span: number; pos: number; k: number }
interface Row { tokens: number[]; needs: Need[] }

function isPrefix(a: number[], b: number[]): boolean {
  if (a.length > b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function validateSpans(spans: Span[], model: ScoringModel): void {
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i]!;
    if (s.targets.length === 0) throw argError(`span ${i} has no target tokens`);
    if (s.input.length > model.contextLength) throw argError(`span ${i}: input of ${s.input.length} tokens exceeds the context length ${model.contextLength}`);
    if (s.start < 0 || s.start + s.targets.length > s.input.length + 1 || s.start >= s.input.length) {
      throw argError(`span ${i}: targets [${s.start}, ${s.start + s.targets.length}) do not fit an input of ${s.input.length} tokens`);
    }
    for (const t of s.input) if (!Number.isInteger(t) || t < 0 || t >= model.vocabSize) throw configError(`token id ${t} is outside the model vocabulary (${model.vocabSize})`, 'the tokenizer does not match the model');
    for (const t of s.targets) if (!Number.isInteger(t) || t < 0 || t >= model.vocabSize) throw configError(`token id ${t} is outside the model vocabulary (${model.vocabSize})`, 'the tokenizer does not match the model');
  }
}

/** Groups spans into rows (sharing where allowed). Exposed for tests and the benchmark. */
export function planRows(spans: Span[], share = true): Row[] {
  const order = spans.map((_, i) => i).sort((a, b) => spans[b]!.input.length - spans[a]!.input.length || a - b);
  const rows: Row[] = [];
  const exact = new Map<string, Row>();
  const byGroup = new Map<number, Row[]>();
  for (const i of order) {
    const s = spans[i]!;
    let row: Row | undefined;
    if (share) {
      const key = s.input.join(',');
      row = exact.get(key);
      if (!row && s.group !== undefined) {
        row = byGroup.get(s.group)?.find((r) => isPrefix(s.input, r.tokens));
        if (row) exact.set(key, row);
      }
      if (!row) {
        row = { tokens: s.input, needs: [] };
        rows.push(row);
        exact.set(key, row);
        if (s.group !== undefined) {
          const g = byGroup.get(s.group);
          if (g) g.push(row);
          else byGroup.set(s.group, [row]);
        }
      }
    } else {
      row = { tokens: s.input, needs: [] };
      rows.push(row);
    }
    for (let k = 0; k < s.targets.length; k++) row.needs.push({ span: i, pos: s.start + k, k });
  }
  return rows;
}

/** Longest common prefix length of several token arrays. */
function lcp(xs: number[][]): number {
  let n = Math.min(...xs.map((x) => x.length));
  const a = xs[0]!;
  for (const x of xs) {
    let i = 0;
    while (i < n && x[i] === a[i]) i++;
    n = i;
  }
  return n;
}

/**
 * Accumulates log-probs from a logits block into the span scores. `lse` (per row of V, from the native
 * kernel) is optional; without it the logsumexp is computed here. The argmax (greedy check) is computed
 * only when `greedy` is set.
 */
function harvest(data: Float32Array, V: number, rowOffset: (need: Need) => number, needs: Need[], spans: Span[], scores: SpanScore[], lse: Float32Array | null, greedy: boolean): void {
  const cache = new Map<number, { lse: number; argmax: number }>();
  for (const need of needs) {
    const off = rowOffset(need);
    let st = cache.get(off);
    if (!st) {
      let am = -1;
      let l: number;
      if (lse) {
        l = lse[off / V]!;
      } else {
        let mx = -Infinity;
        for (let v = 0; v < V; v++) {
          const x = data[off + v]!;
          if (x > mx) { mx = x; am = v; }
        }
        let z = 0;
        for (let v = 0; v < V; v++) z += Math.exp(data[off + v]! - mx);
        l = mx + Math.log(z);
      }
      if (greedy && am < 0) {
        let mx = -Infinity;
        for (let v = 0; v < V; v++) {
          const x = data[off + v]!;
          if (x > mx) { mx = x; am = v; }
        }
      }
      st = { lse: l, argmax: am };
      cache.set(off, st);
    }
    const sc = scores[need.span]!;
    const target = spans[need.span]!.targets[need.k]!;
    sc.tokenLogProbs[need.k] = data[off + target]! - st.lse;
    if (!greedy || st.argmax !== target) sc.greedy = false;
  }
}

/** A document's spans with the length of the prefix they all share (capped at the first scored position). */
interface PrefixGroup { idx: number[]; P: number }

/**
 * KV-cache path for a batch of documents: each document's shared prefix, cut to the batch's common length
 * P (documents are sorted by prefix length, so little sharing is lost), is run once with the LM head only at
 * its last position; the documents' remaining rows run together on copies of their prefix keys/values.
 */
async function scorePrefixedBatch(model: ScoringModel, spans: Span[], groups: PrefixGroup[], scores: SpanScore[], stats: ScoreStats, padId: number, greedy: boolean): Promise<void> {
  const P = Math.min(...groups.map((g) => g.P));
  const prefixes = groups.map((g) => spans[g.idx[0]!]!.input.slice(0, P));
  const suffixes: number[][] = [];
  const owner: number[] = [];
  const rowOfSpan = new Map<number, number>();
  groups.forEach((g, b) => {
    const keyOf = new Map<string, number>(); // identical rows of a document share one suffix row
    for (const i of g.idx) {
      const suf = spans[i]!.input.slice(P);
      const key = suf.join(',');
      let r = keyOf.get(key);
      if (r === undefined) {
        r = suffixes.length;
        keyOf.set(key, r);
        suffixes.push(suf);
        owner.push(b);
      }
      rowOfSpan.set(i, r);
    }
  });
  const { prefixLast, suffix } = await model.forwardPrefixed!(prefixes, suffixes, owner, padId);
  const S = suffix ? suffix.shape[1]! : 0;
  stats.forwardCalls += suffix ? 2 : 1;
  stats.rows += suffixes.length;
  stats.tokensFed += prefixes.length * P + suffixes.length * S;
  stats.logitPositions += prefixes.length + suffixes.length * S;
  stats.rowTokens += prefixes.length * P + suffixes.reduce((a, s) => a + s.length, 0);
  try {
    const V = prefixLast.shape[2]!;
    if (prefixLast.shape[0] !== groups.length || prefixLast.shape[1] !== 1) throw configError(`forwardPrefixed returned prefix logits [${prefixLast.shape.join(', ')}], expected [${groups.length}, 1, V]`);
    const pre: (Need & { row: number })[] = [];
    const post: (Need & { row: number })[] = [];
    groups.forEach((g, b) => {
      for (const i of g.idx) {
        const s = spans[i]!;
        for (let k = 0; k < s.targets.length; k++) {
          const pos = s.start + k;
          if (pos === P - 1) pre.push({ span: i, pos: 0, k, row: b });
          else post.push({ span: i, pos: pos - P, k, row: rowOfSpan.get(i)! });
        }
      }
    });
    const pd = prefixLast.toFloat32Array();
    harvest(pd, V, (n) => (n as Need & { row: number }).row * V, pre, spans, scores, nativeLse(prefixLast, pd), greedy);
    if (post.length) {
      if (!suffix || suffix.shape[0] !== suffixes.length) throw configError('forwardPrefixed returned no / wrong suffix logits');
      const data = suffix.toFloat32Array();
      harvest(data, V, (n) => ((n as Need & { row: number }).row * S + n.pos) * V, post, spans, scores, nativeLse(suffix, data), greedy);
    }
  } finally {
    prefixLast.dispose();
    suffix?.dispose();
  }
}

/** Scores every span; see the module comment. */
export async function scoreSpans(model: ScoringModel, spans: Span[], opts: ScoreOptions = {}): Promise<{ scores: SpanScore[]; stats: ScoreStats }> {
  const batchSize = Math.max(1, Math.floor(opts.batchSize ?? 16));
  const maxBatchTokens = opts.maxBatchTokens ?? batchSize * model.contextLength;
  const padId = opts.padId ?? 0;
  const greedy = opts.greedy ?? false;
  validateSpans(spans, model);
  const share = opts.shareContexts ?? true;
  const scores: SpanScore[] = spans.map((s) => ({ sum: 0, tokenLogProbs: new Array<number>(s.targets.length).fill(0), greedy: true }));
  const stats: ScoreStats = { spans: spans.length, rows: 0, forwardCalls: 0, tokensFed: 0, rowTokens: 0, logitPositions: 0 };
  let rest = spans.map((_, i) => i);
  if (share && opts.usePrefixCache !== false && typeof model.forwardPrefixed === 'function') {
    const byGroup = new Map<number, number[]>();
    for (const i of rest) {
      const g = spans[i]!.group;
      if (g === undefined) continue;
      const a = byGroup.get(g);
      if (a) a.push(i);
      else byGroup.set(g, [i]);
    }
    const minPrefix = Math.max(1, opts.prefixMinTokens ?? 16);
    const groups: PrefixGroup[] = [];
    for (const idx of byGroup.values()) {
      const P = Math.min(lcp(idx.map((i) => spans[i]!.input)), ...idx.map((i) => spans[i]!.start + 1));
      if (P >= minPrefix) groups.push({ idx, P });
    }
    // longest prefixes first; a batch holds documents until batchSize suffix rows are reached
    groups.sort((a, b) => b.P - a.P);
    const handled = new Set<number>();
    let g0 = 0;
    const lens = (g: PrefixGroup) => g.idx.map((i) => spans[i]!.input.length);
    while (g0 < groups.length) {
      let g1 = g0;
      let rowsInBatch = 0;
      let maxLen = 0;
      let sumLen = 0;
      while (g1 < groups.length && (g1 === g0 || rowsInBatch + groups[g1]!.idx.length <= batchSize)) {
        // stop early when padding the suffixes to the batch's longest would more than add 60% of padding work
        const g = groups[g1]!;
        const l = lens(g);
        const nMax = Math.max(maxLen, ...l);
        const nSum = sumLen + l.reduce((a, b) => a + b, 0);
        const nRows = rowsInBatch + l.length;
        if (g1 > g0 && nRows * (nMax - g.P) > 1.6 * (nSum - nRows * g.P)) break;
        maxLen = nMax;
        sumLen = nSum;
        rowsInBatch = nRows;
        g1++;
      }
      const batch = groups.slice(g0, g1);
      await scorePrefixedBatch(model, spans, batch, scores, stats, padId, greedy);
      for (const g of batch) for (const i of g.idx) handled.add(i);
      opts.onProgress?.(g1, groups.length);
      g0 = g1;
    }
    rest = rest.filter((i) => !handled.has(i));
  }
  const rows = planRows(rest.map((i) => spans[i]!), share).map((r) => ({ tokens: r.tokens, needs: r.needs.map((n) => ({ ...n, span: rest[n.span]! })) }));
  stats.rows += rows.length;
  // rows are sorted longest first already (planRows); batch greedily
  let i = 0;
  let done = 0;
  while (i < rows.length) {
    const T = rows[i]!.tokens.length;
    let j = i + 1;
    while (j < rows.length && j - i < batchSize && (j - i + 1) * T <= maxBatchTokens) j++;
    const batch = rows.slice(i, j);
    const ids = batch.map((r) => (r.tokens.length === T ? r.tokens : r.tokens.concat(new Array<number>(T - r.tokens.length).fill(padId))));
    const { logits } = await model.forward(ids);
    stats.forwardCalls++;
    stats.tokensFed += batch.length * T;
    stats.logitPositions += batch.length * T;
    for (const r of batch) stats.rowTokens += r.tokens.length;
    try {
      const shape = logits.shape;
      if (shape.length !== 3 || shape[0] !== batch.length || shape[1] !== T) {
        throw configError(`model returned logits of shape [${shape.join(', ')}] for input [${batch.length}, ${T}]`, 'forward must return [B, T, V] logits');
      }
      const V = shape[2]!;
      const data = logits.toFloat32Array();
      const lse = nativeLse(logits, data);
      for (let b = 0; b < batch.length; b++) harvest(data, V, (n) => (b * T + n.pos) * V, batch[b]!.needs, spans, scores, lse, greedy);
    } finally {
      logits.dispose();
    }
    done += batch.length;
    opts.onProgress?.(done, rows.length);
    i = j;
  }
  for (const s of scores) {
    let acc = 0;
    for (const lp of s.tokenLogProbs) acc += lp; // summed in token order (like torch .sum())
    s.sum = acc;
  }
  return { scores, stats };
}
