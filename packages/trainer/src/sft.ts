/**
 * SFT loop pieces: `sftBatch` (examples → packed or padded rows) and `sftLoss` (masked next-token
 * cross-entropy of one microbatch).
 *
 * Normalisation (Open Instruct's `reduce_loss`):
 *   'token' (default): SUM of the token losses / `normalizer`, where normalizer defaults to the
 *     number of labelled targets of this microbatch; with gradient accumulation pass the count of
 *     the whole batch (`countLabelledTargets` over all microbatches) so that the summed
 *     microbatch losses are the per-token mean over the batch.
 *   'sum': the plain SUM of token losses = the sum over examples of each example's summed loss.
 * With packing the model gets per-token document ids (no attention across examples, RoPE restarts)
 * and the first label of every example is −100, so a packed row's loss equals the sum of its
 * examples' losses computed one by one.
 */
import { OlmoError, crossEntropy, scale, tensor, type Tensor } from '@olmo/tensor-cuda';
import { IGNORE_INDEX, packSft, padSft, type SftExample, type SftRows } from '@olmo/data';

export type SftNormalization = 'token' | 'sum';

/** The model surface SFT/DPO need (an @olmo/model OLMo satisfies it). */
export interface AdaptModel {
  forward(ids: number[][] | Tensor, opts?: { documentIds?: number[][] }): { logits: Tensor };
}

export interface SftBatchOptions {
  /** Row length: the packing length, or the padded length (default: longest example). */
  seqLen?: number;
  /** Pack several examples per row with document-aware attention (default true). */
  packing?: boolean;
  padId: number;
}

/** Examples → rows (packed with document ids, or one padded example per row). */
export function sftBatch(examples: readonly SftExample[], opts: SftBatchOptions): SftRows {
  if (opts.packing ?? true) {
    if (opts.seqLen === undefined) throw new OlmoError('INVALID_ARGUMENT', 'sftBatch: packing needs seqLen', 'set max_length / seqLen');
    return packSft(examples, opts.seqLen, opts.padId);
  }
  return padSft(examples, opts.padId, opts.seqLen);
}

/** Next-token targets [B*T]: targets[b, t] = labels[b, t+1]; the last position of each row is ignored. */
export function shiftedTargets(labels: readonly number[][]): Int32Array {
  const B = labels.length, T = labels[0]?.length ?? 0;
  const out = new Int32Array(B * T).fill(IGNORE_INDEX);
  for (let b = 0; b < B; b++) for (let t = 0; t < T - 1; t++) out[b * T + t] = labels[b]![t + 1]!;
  return out;
}

/** Labelled targets of some rows (the 'token' normaliser). */
export function countLabelledTargets(rows: SftRows | readonly SftRows[]): number {
  const list = Array.isArray(rows) ? rows : [rows as SftRows];
  let n = 0;
  for (const r of list) for (const row of r.labels) for (let t = 1; t < row.length; t++) if (row[t] !== IGNORE_INDEX) n++;
  return n;
}

export interface SftLossOptions {
  normalization?: SftNormalization;
  /** 'token' only: divide by this (default: this microbatch's labelled targets). */
  normalizer?: number;
  /** Pass document ids to the model (default: true when a row holds more than one example). */
  documentMasking?: boolean;
}

export interface SftLossOut {
  /** The differentiable loss (scalar). */
  loss: Tensor;
  /** Sum of the token losses and the number of labelled targets (for metrics). */
  ceSum: number;
  tokens: number;
}

/** Forward + masked cross-entropy for one microbatch of rows. */
export function sftLoss(model: AdaptModel, rows: SftRows, opts: SftLossOptions = {}): SftLossOut {
  const B = rows.inputIds.length;
  if (B === 0) throw new OlmoError('INVALID_ARGUMENT', 'sftLoss: empty batch');
  const T = rows.inputIds[0]!.length;
  const norm = opts.normalization ?? 'token';
  if (norm !== 'token' && norm !== 'sum') throw new OlmoError('INVALID_ARGUMENT', `unknown SFT loss normalization '${String(norm)}'`, "use 'token' or 'sum'");
  const masking = opts.documentMasking ?? rows.examplesPerRow.some((n) => n > 1);
  const targets = shiftedTargets(rows.labels);
  let tokens = 0;
  for (const t of targets) if (t !== IGNORE_INDEX) tokens++;
  const { logits } = model.forward(rows.inputIds, masking ? { documentIds: rows.documentIds } : {});
  const V = logits.shape[logits.shape.length - 1]!;
  const flat = logits.reshape([B * T, V]);
  const tg = tensor(targets, { shape: [B * T], dtype: 'int32', device: logits.device });
  try {
    const { loss } = crossEntropy(flat, tg, { ignoreIndex: IGNORE_INDEX, reduction: 'sum' });
    const ceSum = loss.item();
    if (norm === 'sum') return { loss, ceSum, tokens };
    const d = opts.normalizer ?? tokens;
    if (!(d > 0)) throw new OlmoError('INVALID_ARGUMENT', 'sftLoss: no labelled targets to normalise by', 'every example needs at least one assistant token');
    const scaled = scale(loss, 1 / d);
    loss.dispose();
    return { loss: scaled, ceSum, tokens };
  } finally {
    logits.dispose();
    flat.dispose();
    tg.dispose();
  }
}
