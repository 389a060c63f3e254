/** `evaluateTask`: scores a loaded task exactly as OLMo's in-loop downstream evaluator does. */
import { configError } from './errors.js';
import { computeMetric, LOG_2_OF_E, type MetricRecord, requestValue } from './metrics.js';
import { asScoringModel, type ScoringModel, type TokenizerLike } from './model.js';
import { createProgress } from './progress.js';
import type { Task } from './readers.js';
import { buildRequests, type Request } from './requests.js';
import { type ScoreStats, scoreSpans, type Span } from './scorer.js';
import type { MetricType } from './tasks.js';

export interface EvaluateOptions {
  /** Rows per forward pass. Default 16. */
  batchSize?: number;
  /** Only the first N documents. */
  limit?: number;
  /** Primary metric (default: the task's OLMo metric). */
  metric?: MetricType;
  /** Also compute pmi_dc (runs the domain-conditional queries). Default: only when it is the primary metric. */
  pmiDc?: boolean;
  /** Share contexts between choices (default true); false scores every request in its own row. */
  shareContexts?: boolean;
  maxBatchTokens?: number;
  /** See ScoreOptions.prefixMinTokens (KV-cache sharing threshold). Default 16. */
  prefixMinTokens?: number;
  /** Draw a progress bar (default: when stderr is a TTY). */
  progress?: boolean;
}

export interface ExampleRecord {
  docId: number;
  gold: number;
  pred: number;
  /** Σ log p(continuation) per choice. */
  ll: number[];
  /** ll / continuation characters (OLMo's len_norm value) per choice. */
  llNorm: number[];
  /** pmi_dc values per choice (when computed). */
  pmiDc?: number[];
  /** LAMBADA: greedy decoding reproduces the target word. */
  greedy?: boolean;
  correct: boolean;
}

export interface TaskResult {
  task: string;
  metric: MetricType;
  score: number;
  n: number;
  randomBaseline: number;
  /** Every metric computed from the same forward passes (acc, len_norm, ce_loss, bpb, pmi_dc when run; LAMBADA: acc, ppl). */
  metrics: Record<string, number>;
  perExample: ExampleRecord[];
  /** Documents not scored because a continuation is longer than the model's context length. */
  skipped: number[];
  stats: ScoreStats & { requests: number; seconds: number; requestsPerSecond: number };
  source?: { path: string; format: string };
}

function checkVocab(model: ScoringModel, tokenizer: TokenizerLike): void {
  const tv = tokenizer.vocabSize;
  if (typeof tv === 'number' && tv > model.vocabSize) {
    throw configError(`tokenizer vocabulary (${tv}) is larger than the model's (${model.vocabSize})`, 'use the tokenizer the checkpoint was trained with');
  }
  if (tokenizer.eosTokenId >= model.vocabSize) throw configError(`tokenizer eos id ${tokenizer.eosTokenId} is outside the model vocabulary (${model.vocabSize})`, 'use the tokenizer the checkpoint was trained with');
}

export async function evaluateTask(modelIn: ScoringModel | unknown, tokenizer: TokenizerLike, task: Task, opts: EvaluateOptions = {}): Promise<TaskResult> {
  const model = asScoringModel(modelIn);
  checkVocab(model, tokenizer);
  const t0 = performance.now();
  const metric = opts.metric ?? task.metric;
  const instances = opts.limit !== undefined ? task.instances.slice(0, opts.limit) : task.instances;
  const skipped: number[] = [];
  const requests = buildRequests(instances, tokenizer, { contextLength: model.contextLength, tooLong: 'skip', skipped });
  const isLambada = task.name === 'lambada';
  const wantDc = !isLambada && (metric === 'pmi_dc' || opts.pmiDc === true);
  const spans: Span[] = requests.map((r) => ({ input: r.query, start: r.ctxLen - 1, targets: r.continuation, group: r.docId }));
  if (wantDc) {
    for (const r of requests) {
      spans.push({ input: r.dcQuery, start: r.dcLen - 1, targets: r.continuation, group: -1 - r.docId });
    }
  }
  const bar = createProgress(task.name, opts.progress);
  const { scores, stats } = await scoreSpans(model, spans, {
    batchSize: opts.batchSize, shareContexts: opts.shareContexts, maxBatchTokens: opts.maxBatchTokens,
    padId: tokenizer.eosTokenId,
    greedy: isLambada,
    prefixMinTokens: opts.prefixMinTokens,
    onProgress: (d, t) => bar.update(d, t),
  });
  bar.finish();
  const nReq = requests.length;
  const ll = (i: number) => scores[i]!.sum;
  const dcLl = (i: number) => (wantDc ? scores[nReq + i]!.sum : undefined);
  const metrics: Record<string, number> = {};
  let perExample: ExampleRecord[];
  let score: number;

  const byDoc = new Map<number, number[]>();
  requests.forEach((r, i) => {
    const a = byDoc.get(r.docId);
    if (a) a.push(i);
    else byDoc.set(r.docId, [i]);
  });

  if (isLambada) {
    perExample = [];
    let sumLl = 0;
    let sumChars = 0;
    let sumBytes = 0;
    let correct = 0;
    for (const [docId, idx] of byDoc) {
      const i = idx[0]!;
      const r = requests[i]!;
      const g = scores[i]!.greedy;
      if (g) correct++;
      sumLl += ll(i);
      sumChars += r.contStrLen;
      sumBytes += r.contByteLen;
      perExample.push({ docId, gold: 0, pred: g ? 0 : -1, ll: [ll(i)], llNorm: [ll(i) / r.contStrLen], greedy: g, correct: g });
    }
    const n = perExample.length;
    metrics.acc = n ? correct / n : NaN;
    // lm-eval-harness LAMBADA perplexity: exp(-mean over docs of Σ log p(target word)).
    metrics.ppl = Math.exp(-sumLl / n);
    metrics.ce_loss = -sumLl / sumChars;
    metrics.bpb = (-sumLl / sumBytes) * LOG_2_OF_E;
    score = metric === 'acc' ? metrics.acc : metrics[metric] ?? NaN;
  } else {
    const records = (m: MetricType): MetricRecord[] => {
      if (m === 'ce_loss' || m === 'bpb') {
        // OLMo's *CELoss tasks score only the gold continuation, as cont_id 0 / label 0.
        const out: MetricRecord[] = [];
        requests.forEach((r, i) => {
          if (r.contId === r.label) out.push({ docId: r.docId, contId: 0, label: 0, value: requestValue(m, { ll: ll(i), contStrLen: r.contStrLen, contByteLen: r.contByteLen }) });
        });
        return out;
      }
      return requests.map((r, i) => ({ docId: r.docId, contId: r.contId, label: r.label, value: requestValue(m, { ll: ll(i), dcLl: dcLl(i), contStrLen: r.contStrLen, contByteLen: r.contByteLen }) }));
    };
    const kinds: MetricType[] = ['acc', 'len_norm', 'ce_loss', 'bpb'];
    if (wantDc) kinds.push('pmi_dc');
    let primary: ReturnType<typeof computeMetric> | undefined;
    for (const k of kinds) {
      const res = computeMetric(k, records(k));
      metrics[k] = res.score;
      if (k === metric) primary = res;
    }
    if (!primary) primary = computeMetric(metric, records(metric));
    score = primary.score;
    const acc = computeMetric(metric === 'ce_loss' || metric === 'bpb' ? 'len_norm' : metric, records(metric === 'ce_loss' || metric === 'bpb' ? 'len_norm' : metric));
    const predOf = new Map(acc.docs.map((d) => [d.docId, d]));
    perExample = [];
    for (const [docId, idx] of byDoc) {
      const d = predOf.get(docId);
      const r0 = requests[idx[0]!]!;
      const rec: ExampleRecord = {
        docId,
        gold: r0.label,
        pred: d ? d.pred : -1,
        ll: idx.map(ll),
        llNorm: idx.map((i) => ll(i) / requests[i]!.contStrLen),
        correct: d ? d.pred === r0.label : false,
      };
      if (wantDc) rec.pmiDc = idx.map((i) => ll(i) / dcLl(i)!);
      perExample.push(rec);
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    task: task.name,
    metric,
    score,
    n: perExample.length,
    randomBaseline: task.randomBaseline,
    metrics,
    perExample,
    skipped,
    stats: { ...stats, requests: nReq, seconds, requestsPerSecond: nReq / Math.max(seconds, 1e-9) },
    source: task.source,
  };
}

export type { Request };
