/**
 * OLMo's `ICLMetric` (olmo/eval/downstream.py): the per-request value for each metric type and the
 * aggregation in `compute()`, including its de-duplication (first (doc_id, cont_id) wins, the first
 * label seen per doc wins, docs missing a continuation are skipped) and torch.argmax tie-breaking
 * (the first maximal index).
 */
import { argError } from './errors.js';
import type { MetricType } from './tasks.js';

export const LOG_2_OF_E = 1.44269504089;

export interface RequestLogLikelihoods {
  /** Σ log p(continuation token) under the full context. */
  ll: number;
  /** Σ log p(continuation token) under the domain-conditional prompt (pmi_dc only). */
  dcLl?: number;
  /** Python len() of the continuation without its leading space. */
  contStrLen: number;
  /** UTF-8 bytes of the continuation without its leading space. */
  contByteLen: number;
}

/** The value OLMo stores per request (`ICLMetric.update`). */
export function requestValue(metric: MetricType, r: RequestLogLikelihoods): number {
  switch (metric) {
    case 'acc': return r.ll;
    case 'len_norm': return r.ll / r.contStrLen;
    case 'ce_loss': return -(r.ll / r.contStrLen);
    case 'bpb': return (-r.ll / r.contByteLen) * LOG_2_OF_E;
    case 'pmi_dc':
      if (r.dcLl === undefined) throw argError('pmi_dc needs the domain-conditional log-likelihood', 'score the task with metric pmi_dc so the dc queries are run');
      return r.ll / r.dcLl;
    default: throw argError(`unknown metric ${JSON.stringify(metric)}`, 'use acc, len_norm, pmi_dc, ce_loss or bpb');
  }
}

export interface MetricRecord {
  docId: number;
  contId: number;
  label: number;
  value: number;
}

/** torch.argmax semantics on a 1-D float tensor: first maximal index; NaN counts as the maximum. */
export function argmaxFirst(xs: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) {
    const b = xs[best]!;
    const x = xs[i]!;
    if (Number.isNaN(b)) break;
    if (Number.isNaN(x) || x > b) best = i;
  }
  return best;
}

export interface DocOutcome {
  docId: number;
  label: number;
  values: number[];
  pred: number;
  /** 1/0 for accuracy-like metrics; the value of continuation 0 for ce_loss / bpb. */
  score: number;
}

/** `ICLMetric.compute()`: returns the score and the per-document outcomes it averaged. */
export function computeMetric(metric: MetricType, records: Iterable<MetricRecord>): { score: number; docs: DocOutcome[] } {
  const labels = new Map<number, number>();
  const lls = new Map<number, Map<number, number>>();
  for (const r of records) {
    if (!labels.has(r.docId)) labels.set(r.docId, r.label);
    let m = lls.get(r.docId);
    if (!m) lls.set(r.docId, (m = new Map()));
    if (!m.has(r.contId)) m.set(r.contId, r.value);
  }
  const docs: DocOutcome[] = [];
  for (const [docId, m] of lls) {
    const n = m.size;
    const values = new Array<number>(n).fill(-Infinity);
    let skip = false;
    for (const [contId, v] of m) {
      if (contId < 0 || contId >= n) { skip = true; break; }
      values[contId] = v;
    }
    if (skip) continue;
    const label = labels.get(docId)!;
    const pred = argmaxFirst(values);
    const score = metric === 'ce_loss' || metric === 'bpb' ? values[0]! : pred === label ? 1 : 0;
    docs.push({ docId, label, values, pred, score });
  }
  const score = docs.length ? docs.reduce((a, d) => a + d.score, 0) / docs.length : NaN;
  return { score, docs };
}
