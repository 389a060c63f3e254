/**
 * The training loss, normalised as OLMo does: each microbatch contributes
 *   CE_sum(microbatch) / N_batch
 * where CE_sum is the SUM of next-token cross-entropies over the microbatch's non-ignored targets
 * and N_batch is the token count of the whole device batch (all microbatches together). Summing
 * the microbatch losses (and their gradients) therefore gives exactly the loss of the full batch,
 * independent of how it is split. `loss_normalization: target_tokens` (default) uses the number
 * of non-ignored targets (B·(T−1) minus masked labels), so the value is the mean next-token CE;
 * `input_tokens` uses B·T like OLMo's `batch["input_ids"].numel()`.
 *
 * Labels: targets are input_ids shifted left by one; positions whose label mask is 0 (or whose
 * label is `ignoreIndex`, default −100) contribute nothing. z-loss (OLMo's softmax auxiliary loss)
 * adds `multiplier · logsumexp(logits)²` per target, normalised the same way.
 */
import { crossEntropy, scale, tensor, type Tensor } from '@olmo/tensor-cuda';

export const IGNORE_INDEX = -100;

/** Shifted next-token targets [B, T-1] (row-major), with ignoreIndex where the label mask is 0. */
export function nextTokenTargets(ids: Int32Array, B: number, T: number, labelMask?: Uint8Array | null): Int32Array {
  const out = new Int32Array(B * (T - 1));
  for (let b = 0; b < B; b++) for (let t = 0; t < T - 1; t++) {
    const src = b * T + t + 1;
    out[b * (T - 1) + t] = labelMask && !labelMask[src] ? IGNORE_INDEX : ids[src]!;
  }
  return out;
}

export function countTargets(targets: Int32Array, ignoreIndex = IGNORE_INDEX): number {
  let n = 0;
  for (let i = 0; i < targets.length; i++) if (targets[i] !== ignoreIndex) n++;
  return n;
}

export interface LossOut {
  /** CE_sum / normalizer (backward this, plus zLoss). */
  ceLoss: Tensor;
  zLoss: Tensor | null;
  /** Plain sums for metrics. */
  ceSum: number;
  zSum: number;
}

export type ActivationCheckpointing = 'whole_layer' | 'one_in_two' | 'one_in_three' | 'one_in_four' | 'fine_grained';

/** A model with the fused LM-head loss (@olmo/model's OLMo.fusedLoss). */
export interface FusedLossModel {
  fusedLoss(ids: Tensor, targets: Tensor, opts: { ignoreIndex?: number; zLossMultiplier?: number; activationCheckpointing?: ActivationCheckpointing | null }): { loss: Tensor; ceSum: number; zSum: number };
}

export interface LossModel {
  forward(ids: number[][] | Tensor, opts?: { labels?: number[][] | Tensor; activationCheckpointing?: ActivationCheckpointing | null; documentIds?: ArrayLike<number> }): { logits: Tensor; loss?: Tensor | null };
}

/**
 * Forward + loss for one microbatch of ids [B, T], with the fused crossEntropy op on the logits
 * (sum reduction, z-loss fused).
 */
export function microbatchLoss(model: LossModel, ids: Int32Array, B: number, T: number, o: { normalizer: number; zLossMultiplier?: number; labelMask?: Uint8Array | null; documentIds?: Int32Array | null; activationCheckpointing?: ActivationCheckpointing | null; fused?: boolean }): LossOut {
  const targets = nextTokenTargets(ids, B, T, o.labelMask);
  const idsT = tensor(ids, { shape: [B, T], dtype: 'int32' });
  try {
    // targets aligned with positions: position t predicts ids[t+1]; the last position is ignored.
    const tg = new Int32Array(B * T).fill(IGNORE_INDEX);
    for (let b = 0; b < B; b++) tg.set(targets.subarray(b * (T - 1), (b + 1) * (T - 1)), b * T);
    if (o.fused && !o.documentIds && typeof (model as Partial<FusedLossModel>).fusedLoss === 'function') {
      // fused LM head + CE (config fused_loss): the [B·T, V] logits never exist; z-loss comes combined
      const tgt = tensor(tg, { shape: [B * T], dtype: 'int32' });
      const r = (model as unknown as FusedLossModel).fusedLoss(idsT, tgt, { ignoreIndex: IGNORE_INDEX, zLossMultiplier: o.zLossMultiplier ?? 0, activationCheckpointing: o.activationCheckpointing });
      tgt.dispose();
      const ceLoss = scale(r.loss, 1 / o.normalizer);
      r.loss.dispose();
      return { ceLoss, zLoss: null, ceSum: r.ceSum, zSum: r.zSum };
    }
    // packed fine-tuning rows: attention within each document, RoPE positions restart per document
    const fo: { activationCheckpointing?: ActivationCheckpointing; documentIds?: Int32Array } = {};
    if (o.activationCheckpointing) fo.activationCheckpointing = o.activationCheckpointing;
    if (o.documentIds) fo.documentIds = o.documentIds;
    const { logits } = Object.keys(fo).length ? model.forward(idsT, fo) : model.forward(idsT);
    const V = logits.shape[logits.shape.length - 1]!;
    const flat = logits.reshape([B * T, V]);
    const tgt = tensor(tg, { shape: [B * T], dtype: 'int32' });
    const { loss, zLoss } = crossEntropy(flat, tgt, { ignoreIndex: IGNORE_INDEX, reduction: 'sum', zLossMultiplier: o.zLossMultiplier ?? 0 });
    const ceSum = loss.item(), zSum = zLoss ? zLoss.item() : 0;
    const ceLoss = scale(loss, 1 / o.normalizer);
    const z = zLoss ? scale(zLoss, 1 / o.normalizer) : null;
    for (const t of [logits, flat, tgt, loss]) t.dispose();
    zLoss?.dispose();
    return { ceLoss, zLoss: z, ceSum, zSum };
  } finally {
    idsT.dispose();
  }
}
