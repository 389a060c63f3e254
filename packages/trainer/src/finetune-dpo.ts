/**
 * DPO inside the Trainer (`finetune.mode: dpo`), single process and FSDP alike.
 *
 * A microbatch of n pairs is one forward of 2n rows (chosen rows, then rejected rows, each
 * right-padded to max_length). The loss is not a sum over tokens, so it is applied as a
 * surrogate inside the loss function the model calls on the logits (under FSDP: inside the head
 * unit): the summed log-probs π [2n] are read once, `dpoLoss` (float64, host) gives the loss and
 * g = dL/dπ, and the returned scalar is Σ g·π, whose gradient is exactly the DPO gradient. Each
 * microbatch's g is scaled by n / (pairs of the device batch), so microbatches and ranks (FSDP
 * averages gradients) add up to the gradient of the mean loss over the global batch.
 * The reference log-probs are those of the initial model, computed once (noGrad, every rank the
 * same forwards so FSDP's gathers line up) and stored in every checkpoint's trainer state.
 */
import { crossEntropy, matmul, noGrad, sum, tensor, type Tensor } from '@olmo/tensor-cuda';
import { IGNORE_INDEX, type DpoPair } from '@olmo/data';
import { dpoLoss, type DpoLossType, type DpoMetrics } from './dpo.js';

export interface DpoReferenceState { chosen: number[]; rejected: number[] }

interface ForwardModel { forward(ids: Tensor, opts?: Record<string, unknown>): { logits: Tensor; loss?: Tensor | null } }

/** Rows, next-token targets and the per-example selection of 2n sequences (chosen…, rejected…). */
function pairRows(pairs: readonly DpoPair[], T: number, padId: number) {
  const seqs = [...pairs.map((p) => p.chosen), ...pairs.map((p) => p.rejected)];
  const R = seqs.length;
  const ids = new Int32Array(R * T).fill(padId);
  const tg = new Int32Array(R * T).fill(IGNORE_INDEX);
  const sel = new Float32Array(R * R * T);
  const counts = new Array<number>(R).fill(0);
  seqs.forEach((s, r) => {
    if (s.inputIds.length > T) throw new RangeError(`a DPO sequence of ${s.inputIds.length} ids exceeds max_length ${T}`);
    ids.set(s.inputIds, r * T);
    for (let t = 0; t + 1 < s.inputIds.length; t++) {
      const l = s.labels[t + 1]!;
      if (l === IGNORE_INDEX) continue;
      tg[r * T + t] = l;
      sel[r * R * T + r * T + t] = 1;
      counts[r]!++;
    }
  });
  return { R, ids, tg, sel, counts };
}

/** Summed log-probs [R, 1] (negated CE sums) of the rows' labelled targets, from the logits. */
function summedCe(logits: Tensor, tg: Tensor, M: Tensor, R: number, T: number): Tensor {
  const V = logits.shape[logits.shape.length - 1]!;
  const flat = logits.reshape([R * T, V]);
  const { loss: ce } = crossEntropy(flat, tg, { ignoreIndex: IGNORE_INDEX, reduction: 'none' });
  return matmul(M, ce.reshape([R * T, 1]));
}

/** Reference log-probs of every pair under the model as it is now (call before the first step). */
export function dpoReference(model: ForwardModel, pairs: readonly DpoPair[], T: number, padId: number, batch: number): DpoReferenceState {
  const out: DpoReferenceState = { chosen: [], rejected: [] };
  noGrad(() => {
    for (let i = 0; i < pairs.length; i += batch) {
      const part = pairs.slice(i, i + batch);
      const { R, ids, tg, sel } = pairRows(part, T, padId);
      const idsT = tensor(ids, { shape: [R, T], dtype: 'int32' });
      const tgT = tensor(tg, { shape: [R * T], dtype: 'int32' });
      const M = tensor(sel, { shape: [R, R * T] });
      const { logits } = model.forward(idsT);
      const s = summedCe(logits, tgT, M, R, T);
      const v = s.toFloat32Array();
      for (const t of [idsT, tgT, M, logits, s]) t.dispose();
      part.forEach((_, j) => { out.chosen.push(-v[j]!); out.rejected.push(-v[part.length + j]!); });
    }
  });
  return out;
}

export interface DpoMicrobatchOut {
  /** The surrogate scalar to backward (its gradient is share × the DPO gradient of these pairs). */
  loss: Tensor;
  /** Sums over the microbatch's pairs (metrics: divide by the pairs of the global batch). */
  sums: Record<keyof DpoMetrics | 'loss' | 'chosen_nll' | 'chosen_tokens', number>;
}

/**
 * Forward + DPO surrogate for one microbatch. `fsdp`: the model's forward runs through the FSDP
 * units (the DistContext wrapper adds them) and the surrogate is built inside the head unit.
 * Call backward() on `loss` inside the same tidy scope.
 */
export function dpoMicrobatch(model: ForwardModel, pairs: readonly DpoPair[], ref: { chosen: ArrayLike<number>; rejected: ArrayLike<number> },
  o: { T: number; padId: number; beta: number; lossType: DpoLossType; share: number; fsdp: boolean }): DpoMicrobatchOut {
  const n = pairs.length;
  const { R, ids, tg, sel, counts } = pairRows(pairs, o.T, o.padId);
  const idsT = tensor(ids, { shape: [R, o.T], dtype: 'int32' });
  const tgT = tensor(tg, { shape: [R * o.T], dtype: 'int32' });
  const M = tensor(sel, { shape: [R, R * o.T] });
  // dL/dπ (negated, scaled): a plain array, made into a tensor on every call — under FSDP the
  // loss function runs inside the head unit's scope (again during backward), which frees its tensors
  let G: Float32Array | null = null;
  let sums: DpoMicrobatchOut['sums'] | null = null;
  const lossFn = (logits: Tensor): Tensor => {
    const ceSums = summedCe(logits, tgT, M, R, o.T);
    if (!G) {
      // first call: the DPO loss and dL/dπ from the policy log-probs (FSDP calls this again in backward; same values)
      const v = ceSums.toFloat32Array();
      const pc = Array.from(v.subarray(0, n), (x) => -x), pr = Array.from(v.subarray(n), (x) => -x);
      const r = dpoLoss({ policyChosen: pc, policyRejected: pr, referenceChosen: ref.chosen, referenceRejected: ref.rejected, chosenCounts: counts.slice(0, n), rejectedCounts: counts.slice(n) }, { beta: o.beta, lossType: o.lossType });
      // surrogate = Σ g·π = Σ (−g)·ceSum
      const g = new Float32Array(R);
      for (let i = 0; i < n; i++) { g[i] = -r.gradChosen[i]! * o.share; g[n + i] = -r.gradRejected[i]! * o.share; }
      G = g;
      let nll = 0, tok = 0;
      for (let i = 0; i < n; i++) { nll += v[i]!; tok += counts[i]!; }
      sums = { loss: r.loss * n, chosen_nll: nll, chosen_tokens: tok } as DpoMicrobatchOut['sums'];
      for (const [k, x] of Object.entries(r.metrics)) sums[k as keyof DpoMetrics] = x * n;
    }
    return sum(matmul(tensor(G, { shape: [1, R] }), ceSums));
  };
  let loss: Tensor;
  if (o.fsdp) {
    const out = model.forward(idsT, { lossFn });
    out.logits.dispose();
    loss = out.loss!;
  } else {
    const { logits } = model.forward(idsT);
    loss = lossFn(logits);
  }
  return { loss, sums: sums! };
}
