/**
 * DPO loop pieces (Rafailov et al. 2023; Tulu 2/3 recipe in Open Instruct):
 *   sequenceLogps  — log p(response | prompt) of each example: the sum of next-token log-probs over
 *                    its labelled tokens (a differentiable [E] tensor) and the token counts;
 *   referenceLogps — the same under noGrad, computed once before training (the reference model is
 *                    the initial policy, so no frozen copy is kept; the numbers are cached);
 *   dpoLoss        — loss, its gradient with respect to the policy log-probs, and the metrics;
 *   dpoStep        — forward (chosen and rejected in one batch), loss, backward.
 *
 * Loss per pair, z = β((π_c − r_c) − (π_r − r_r)):  L = −log σ(z), averaged over pairs.
 * 'dpo_norm' (Tulu's length-normalised variant, Open Instruct `dpo_loss_type: dpo_norm`): π and r
 * are the average log-prob per labelled token instead of the sum.
 * Metrics (as TRL / Open Instruct): rewards/chosen = mean β(π_c − r_c), rewards/rejected =
 * mean β(π_r − r_r), rewards/accuracies = mean[chosen reward > rejected reward], rewards/margins =
 * mean(chosen − rejected reward), logps/chosen = mean π_c, logps/rejected = mean π_r.
 */
import { OlmoError, crossEntropy, matmul, noGrad, scale, tensor, type Tensor } from '@olmo/tensor-cuda';
import { IGNORE_INDEX, type DpoPair, type SftExample } from '@olmo/data';
import { sftBatch, shiftedTargets, type AdaptModel } from './sft.js';

export type DpoLossType = 'dpo' | 'dpo_norm';

export interface SequenceLogpsOptions {
  padId: number;
  /** Pack the examples into rows of seqLen (document-aware attention); default: pad, one per row. */
  packing?: boolean;
  seqLen?: number;
}

export interface SequenceLogps {
  /** [E] sum of log-probs of each example's labelled tokens (differentiable). */
  logps: Tensor;
  /** Labelled tokens per example. */
  counts: number[];
}

export function sequenceLogps(model: AdaptModel, examples: readonly SftExample[], opts: SequenceLogpsOptions): SequenceLogps {
  const E = examples.length;
  if (E === 0) throw new OlmoError('INVALID_ARGUMENT', 'sequenceLogps: no examples');
  const packing = opts.packing ?? false;
  const rows = sftBatch(examples, { padId: opts.padId, packing, seqLen: opts.seqLen });
  const B = rows.inputIds.length, T = rows.inputIds[0]!.length;
  const targets = shiftedTargets(rows.labels);
  // Example of every target position: rows hold consecutive examples; the target at t belongs to
  // the document of position t (a document's first label is −100, so no target crosses one).
  const owner = new Int32Array(B * T).fill(-1);
  let first = 0;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const d = rows.documentIds[b]![t]!;
      if (d >= 0 && targets[b * T + t] !== IGNORE_INDEX) owner[b * T + t] = first + d;
    }
    first += rows.examplesPerRow[b]!;
  }
  const counts = new Array<number>(E).fill(0);
  const sel = new Float32Array(E * B * T);
  for (let i = 0; i < B * T; i++) if (owner[i]! >= 0) { sel[owner[i]! * B * T + i] = 1; counts[owner[i]!]!++; }
  const multi = rows.examplesPerRow.some((n) => n > 1);
  const { logits } = model.forward(rows.inputIds, multi ? { documentIds: rows.documentIds } : {});
  const dev = logits.device;
  const V = logits.shape[logits.shape.length - 1]!;
  const flat = logits.reshape([B * T, V]);
  const tg = tensor(targets, { shape: [B * T], dtype: 'int32', device: dev });
  const M = tensor(sel, { shape: [E, B * T], device: dev });
  const { loss: ce } = crossEntropy(flat, tg, { ignoreIndex: IGNORE_INDEX, reduction: 'none' });
  const ce2 = ce.reshape([B * T, 1]);
  const summed = matmul(M, ce2);
  const logps = scale(summed.reshape([E]), -1);
  for (const t of [logits, flat, tg, M, ce, ce2, summed]) t.dispose();
  return { logps, counts };
}

export interface ReferenceLogps {
  chosen: Float64Array;
  rejected: Float64Array;
  chosenCounts: number[];
  rejectedCounts: number[];
}

/** Reference log-probs of every pair, computed once without a graph (batchSize pairs per forward). */
export function referenceLogps(model: AdaptModel, pairs: readonly DpoPair[], opts: SequenceLogpsOptions & { batchSize?: number }): ReferenceLogps {
  const n = pairs.length, bs = Math.max(1, opts.batchSize ?? 4);
  const out: ReferenceLogps = { chosen: new Float64Array(n), rejected: new Float64Array(n), chosenCounts: [], rejectedCounts: [] };
  noGrad(() => {
    for (let i = 0; i < n; i += bs) {
      const part = pairs.slice(i, i + bs);
      const { logps, counts } = sequenceLogps(model, [...part.map((p) => p.chosen), ...part.map((p) => p.rejected)], opts);
      const v = logps.toFloat32Array();
      logps.dispose();
      part.forEach((_, j) => {
        out.chosen[i + j] = v[j]!;
        out.rejected[i + j] = v[part.length + j]!;
        out.chosenCounts[i + j] = counts[j]!;
        out.rejectedCounts[i + j] = counts[part.length + j]!;
      });
    }
  });
  return out;
}

export interface DpoLossInput {
  policyChosen: ArrayLike<number>;
  policyRejected: ArrayLike<number>;
  referenceChosen: ArrayLike<number>;
  referenceRejected: ArrayLike<number>;
  /** Labelled tokens of each chosen / rejected response (needed for 'dpo_norm'). */
  chosenCounts?: ArrayLike<number>;
  rejectedCounts?: ArrayLike<number>;
}

export interface DpoMetrics {
  'rewards/chosen': number;
  'rewards/rejected': number;
  'rewards/accuracies': number;
  'rewards/margins': number;
  'logps/chosen': number;
  'logps/rejected': number;
}

export interface DpoLossOut {
  loss: number;
  /** dLoss / d(summed policy log-prob) per pair, chosen and rejected. */
  gradChosen: Float64Array;
  gradRejected: Float64Array;
  metrics: DpoMetrics;
}

const logSigmoid = (z: number) => (z >= 0 ? -Math.log1p(Math.exp(-z)) : z - Math.log1p(Math.exp(z)));
const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** DPO loss (mean over pairs), gradient w.r.t. the summed policy log-probs, metrics; float64 on the host. */
export function dpoLoss(x: DpoLossInput, opts: { beta: number; lossType?: DpoLossType }): DpoLossOut {
  const n = x.policyChosen.length;
  const type = opts.lossType ?? 'dpo';
  if (type !== 'dpo' && type !== 'dpo_norm') throw new OlmoError('INVALID_ARGUMENT', `unknown DPO loss type '${String(type)}'`, "use 'dpo' or 'dpo_norm'");
  if (!(opts.beta > 0) || !Number.isFinite(opts.beta)) throw new OlmoError('INVALID_ARGUMENT', `DPO beta must be a positive number, got ${opts.beta}`);
  if (n === 0 || [x.policyRejected, x.referenceChosen, x.referenceRejected].some((a) => a.length !== n)) {
    throw new OlmoError('INVALID_ARGUMENT', 'dpoLoss: policy/reference chosen/rejected must be non-empty and of equal length');
  }
  if (type === 'dpo_norm' && (!x.chosenCounts || !x.rejectedCounts)) throw new OlmoError('INVALID_ARGUMENT', "dpo_norm needs chosenCounts and rejectedCounts");
  const beta = opts.beta;
  const gradChosen = new Float64Array(n), gradRejected = new Float64Array(n);
  let loss = 0, rc = 0, rr = 0, acc = 0, lc = 0, lr = 0;
  for (let i = 0; i < n; i++) {
    const nc = type === 'dpo_norm' ? x.chosenCounts![i]! : 1, nr = type === 'dpo_norm' ? x.rejectedCounts![i]! : 1;
    if (!(nc > 0) || !(nr > 0)) throw new OlmoError('INVALID_ARGUMENT', `pair ${i} has a response without labelled tokens`);
    const pc = x.policyChosen[i]! / nc, pr = x.policyRejected[i]! / nr;
    const refc = x.referenceChosen[i]! / nc, refr = x.referenceRejected[i]! / nr;
    const cr = beta * (pc - refc), rj = beta * (pr - refr);
    const z = cr - rj;
    loss -= logSigmoid(z) / n;
    // dL/dz = -σ(-z)/n; dz/dπ_c = β/nc, dz/dπ_r = -β/nr (π here = the summed log-prob).
    const g = -sigmoid(-z) / n;
    gradChosen[i] = (g * beta) / nc;
    gradRejected[i] = (-g * beta) / nr;
    rc += cr / n; rr += rj / n; acc += (cr > rj ? 1 : 0) / n; lc += pc / n; lr += pr / n;
  }
  return {
    loss, gradChosen, gradRejected,
    metrics: { 'rewards/chosen': rc, 'rewards/rejected': rr, 'rewards/accuracies': acc, 'rewards/margins': rc - rr, 'logps/chosen': lc, 'logps/rejected': lr },
  };
}

export interface DpoStepOptions extends SequenceLogpsOptions {
  beta: number;
  lossType?: DpoLossType;
  /** Multiplies the gradient (1 / number of microbatches under gradient accumulation). Default 1. */
  gradScale?: number;
}

/**
 * One microbatch: policy log-probs of chosen and rejected (one forward), DPO loss against the
 * cached reference log-probs of the same pairs, backward into the model's gradients.
 */
export function dpoStep(model: AdaptModel, pairs: readonly DpoPair[], ref: Pick<ReferenceLogps, 'chosen' | 'rejected'>, opts: DpoStepOptions): DpoLossOut {
  const n = pairs.length;
  const { logps, counts } = sequenceLogps(model, [...pairs.map((p) => p.chosen), ...pairs.map((p) => p.rejected)], opts);
  try {
    const v = logps.toFloat32Array();
    const out = dpoLoss({
      policyChosen: v.subarray(0, n), policyRejected: v.subarray(n),
      referenceChosen: ref.chosen, referenceRejected: ref.rejected,
      chosenCounts: counts.slice(0, n), rejectedCounts: counts.slice(n),
    }, opts);
    const s = opts.gradScale ?? 1;
    const g = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) { g[i] = out.gradChosen[i]! * s; g[n + i] = out.gradRejected[i]! * s; }
    logps.backward(tensor(g, { shape: [2 * n], device: logps.device }));
    return out;
  } finally {
    logps.dispose();
  }
}
