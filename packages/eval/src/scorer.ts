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
import { argError, configError } from './errors.js';
import type { ScoringModel } from './model.js';

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
  /** Every target token is the argmax at its position (greedy decoding reproduces it). */
  greedy: boolean;
}

export interface ScoreOptions {
  /** Rows per forward call (OLMo's device_eval_batch_size). Default 16. */
  batchSize?: number;
  /** Cap on rows × padded length per forward call. Default batchSize × contextLength. */
  maxBatchTokens?: number;
  /** Share rows between spans (exact duplicates and prefixes). Default true; false = one row per span. */
  shareContexts?: boolean;
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

/** Scores every span; see the module comment. */
export async function scoreSpans(model: ScoringModel, spans: Span[], opts: ScoreOptions = {}): Promise<{ scores: SpanScore[]; stats: ScoreStats }> {
  const batchSize = Math.max(1, Math.floor(opts.batchSize ?? 16));
  const maxBatchTokens = opts.maxBatchTokens ?? batchSize * model.contextLength;
  const padId = opts.padId ?? 0;
  validateSpans(spans, model);
  const rows = planRows(spans, opts.shareContexts ?? true);
  const scores: SpanScore[] = spans.map((s) => ({ sum: 0, tokenLogProbs: new Array<number>(s.targets.length).fill(0), greedy: true }));
  const stats: ScoreStats = { spans: spans.length, rows: rows.length, forwardCalls: 0, tokensFed: 0, rowTokens: 0 };
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
    for (const r of batch) stats.rowTokens += r.tokens.length;
    try {
      const shape = logits.shape;
      if (shape.length !== 3 || shape[0] !== batch.length || shape[1] !== T) {
        throw configError(`model returned logits of shape [${shape.join(', ')}] for input [${batch.length}, ${T}]`, 'forward must return [B, T, V] logits');
      }
      const V = shape[2]!;
      const data = logits.toFloat32Array();
      for (let b = 0; b < batch.length; b++) {
        const lse = new Map<number, { lse: number; argmax: number }>();
        for (const need of batch[b]!.needs) {
          const off = (b * T + need.pos) * V;
          let st = lse.get(need.pos);
          if (!st) {
            let mx = -Infinity;
            let am = 0;
            for (let v = 0; v < V; v++) {
              const x = data[off + v]!;
              if (x > mx) { mx = x; am = v; }
            }
            let s = 0;
            for (let v = 0; v < V; v++) s += Math.exp(data[off + v]! - mx);
            st = { lse: mx + Math.log(s), argmax: am };
            lse.set(need.pos, st);
          }
          const sc = scores[need.span]!;
          const target = spans[need.span]!.targets[need.k]!;
          const lp = data[off + target]! - st.lse;
          sc.tokenLogProbs[need.k] = lp;
          if (st.argmax !== target) sc.greedy = false;
        }
      }
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
