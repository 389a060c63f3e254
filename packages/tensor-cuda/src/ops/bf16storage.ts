/**
 * bf16 activation storage for withAutocast('bfloat16') (OLMo's `precision: amp_bf16`, "bf16
 * activations"). Ops keep the activations they save for backward as bfloat16 instead of float32
 * and compute in float32 from those bf16 values, forward and backward alike:
 *   - matmul / linear: the activation operand A (the backward needs bf16(A) anyway: dB = bf16(A)ᵀ·bf16(g));
 *   - attention: q, k, v (rounded once at the op's input; out and the logsumexp stay float32);
 *   - swiglu: gate and up (the native kernels read the bf16 values directly).
 * Gradients with respect to activations stay float32 (they are transient, never saved; the
 * backward GEMMs round them to bf16 as operands). Everything these helpers do is a plain cast
 * (round to nearest even), the same kernel on CPU and CUDA, so both devices share the numerics.
 */
import { Tensor } from '../tensor.js';
import { castInto, contig } from './views.js';

/** A contiguous bfloat16 copy of a float32 tensor (no graph): the storage form of an activation. */
export function storeBf16(t: Tensor): Tensor {
  const src = contig(t);
  try {
    const out = Tensor.allocate(t.shape, 'bfloat16', t.deviceIndex, false);
    castInto(out, src);
    return out;
  } finally {
    if (src !== t) src.dispose();
  }
}

/** A float32 copy of a (contiguous) bfloat16 tensor (no graph), for kernels that read float32. */
export function widenF32(t: Tensor): Tensor {
  const out = Tensor.allocate(t.shape, 'float32', t.deviceIndex, false);
  castInto(out, t);
  return out;
}
