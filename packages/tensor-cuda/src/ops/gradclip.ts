/**
 * gradclip family (kernel: native/cpu/gradclip.cc; header native/include/olmo/ops/gradclip.h).
 *   globalGradNorm(params) -> number: L2 norm over every p.grad (params without a grad are
 *     skipped), one fused multi-tensor native pass with float64 accumulation.
 *   clipGradNorm(params, maxNorm) -> { totalNorm, clipCoef }: clipCoef = maxNorm / (totalNorm + 1e-6);
 *     when clipCoef < 1 every grad is scaled by it in place (one fused native pass). A non-finite
 *     norm scales nothing (AdamW then reports NON_FINITE).
 * Not recorded by autograd.
 */
import { call } from '../native.js';
import type { Tensor } from '../tensor.js';
import { ArgumentError } from '../errors.js';
import { contig } from './views.js';
import { expectDtype, sameDevice } from './util.js';

function grads(op: string, params: Tensor[]): Tensor[] {
  if (!Array.isArray(params)) throw new ArgumentError(`${op}: params must be an array of tensors`);
  const gs: Tensor[] = [];
  for (const p of params) {
    if (!p.grad) continue;
    expectDtype(op, p.grad, 'float32');
    gs.push(p.grad);
  }
  if (gs.length) sameDevice(op, ...gs);
  return gs;
}

function sumSquaresOf(gs: Tensor[]): number {
  const cs = gs.map((g) => contig(g));
  try {
    return call((n) => n.gradClipSumSquares(cs.map((g) => g.buf), cs.map((g) => g.byteOffset), cs.map((g) => g.size))) as number;
  } finally {
    cs.forEach((c, i) => { if (c !== gs[i]) c.dispose(); });
  }
}

/** Global L2 norm of all parameter gradients (float64 accumulation). */
export function globalGradNorm(params: Tensor[]): number {
  return Math.sqrt(sumSquaresOf(grads('globalGradNorm', params)));
}

/** Clips the global gradient norm to maxNorm in place (torch.nn.utils.clip_grad_norm_ semantics). */
export function clipGradNorm(params: Tensor[], maxNorm: number): { totalNorm: number; clipCoef: number } {
  if (typeof maxNorm !== 'number' || !(maxNorm > 0)) throw new ArgumentError(`clipGradNorm: maxNorm must be a positive number, got ${maxNorm}`);
  const gs = grads('clipGradNorm', params);
  const totalNorm = Math.sqrt(sumSquaresOf(gs));
  const clipCoef = maxNorm / (totalNorm + 1e-6);
  if (clipCoef < 1 && gs.length) {
    for (const g of gs) {
      if (!g.isContiguous) throw new ArgumentError(`clipGradNorm: gradient of [${g.shape.join(', ')}] is not contiguous and cannot be scaled in place`);
    }
    call((n) => n.gradClipScale(gs.map((g) => g.buf), gs.map((g) => g.byteOffset), gs.map((g) => g.size), clipCoef));
  }
  return { totalNorm, clipCoef };
}
