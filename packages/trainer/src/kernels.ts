/**
 * The fused ops the trainer uses (adamwStep, clipGradNorm, sumSquares, crossEntropy), taken from
 * @olmo/tensor-cuda by the op API contract. Looked up at call time so the trainer type-checks and
 * runs while op families are still landing; where a fused op is absent a (slower, float64
 * accumulating) TS reference with the same semantics is used.
 */
import * as tc from '@olmo/tensor-cuda';
import { copyInto, scaleInPlace, tensor, type Tensor } from '@olmo/tensor-cuda';

const ops = tc as unknown as Record<string, unknown>;
function op<F>(name: string): F | undefined {
  const f = ops[name];
  return typeof f === 'function' ? (f as F) : undefined;
}

export interface AdamWArgs {
  params: Tensor[]; grads: Tensor[]; expAvg: Tensor[]; expAvgSq: Tensor[];
  lr: number[]; weightDecay: number[]; beta1: number; beta2: number; eps: number; step: number;
}

function writeBack(dst: Tensor, data: Float32Array): void {
  const t = tensor(data, { shape: dst.shape });
  try { copyInto(dst, t); } finally { t.dispose(); }
}

/** p *= 1 - lr*wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g²; p -= lr * m̂ / (sqrt(v̂) + eps). */
export function adamwStep(a: AdamWArgs): void {
  const f = op<(a: AdamWArgs) => void>('adamwStep');
  if (f) return f(a);
  const bc1 = 1 - a.beta1 ** a.step, bc2 = 1 - a.beta2 ** a.step;
  const gs = a.grads.map((g) => g.toFloat32Array());
  for (const g of gs) for (let i = 0; i < g.length; i++) if (!Number.isFinite(g[i]!)) throw new tc.OlmoError('NON_FINITE', 'adamwStep: gradient contains NaN/Inf', 'lower the learning rate or enable clipping');
  for (let k = 0; k < a.params.length; k++) {
    const p = a.params[k]!.toFloat32Array(), g = gs[k]!, m = a.expAvg[k]!.toFloat32Array(), v = a.expAvgSq[k]!.toFloat32Array();
    const lr = a.lr[k]!, decay = 1 - lr * a.weightDecay[k]!;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i]!;
      p[i] = p[i]! * decay;
      m[i] = a.beta1 * m[i]! + (1 - a.beta1) * gi;
      v[i] = a.beta2 * v[i]! + (1 - a.beta2) * gi * gi;
      p[i] = p[i]! - (lr * (m[i]! / bc1)) / (Math.sqrt(v[i]! / bc2) + a.eps);
    }
    writeBack(a.params[k]!, p); writeBack(a.expAvg[k]!, m); writeBack(a.expAvgSq[k]!, v);
  }
}

/** Σ x² over all tensors, float64 accumulation. */
export function sumSquares(ts: Tensor[]): number {
  const f = op<(t: Tensor[]) => number>('sumSquares');
  if (f) return f(ts);
  let s = 0;
  for (const t of ts) { const a = t.toFloat32Array(); for (let i = 0; i < a.length; i++) s += a[i]! * a[i]!; }
  return s;
}

/** Global L2 norm of the grads; scaled by maxNorm/(norm+1e-6) when that is < 1. */
export function clipGradNorm(params: Tensor[], maxNorm: number): { totalNorm: number; clipCoef: number } {
  const f = op<(p: Tensor[], m: number) => { totalNorm: number; clipCoef: number }>('clipGradNorm');
  if (f) return f(params, maxNorm);
  const grads = params.map((p) => p.grad).filter((g): g is Tensor => !!g);
  const totalNorm = Math.sqrt(sumSquares(grads));
  const clipCoef = maxNorm / (totalNorm + 1e-6);
  if (clipCoef < 1) for (const g of grads) scaleInPlace(g, clipCoef);
  return { totalNorm, clipCoef };
}

export type CrossEntropyFn = (logits: Tensor, targets: Tensor, o: { ignoreIndex?: number; reduction?: 'mean' | 'sum' | 'none'; zLossMultiplier?: number }) => { loss: Tensor; zLoss: Tensor | null };
export function crossEntropyOp(): CrossEntropyFn | undefined {
  return op<CrossEntropyFn>('crossEntropy');
}
