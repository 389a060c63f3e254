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
import { call } from '../native.js';
import { DeviceError, ShapeError } from '../errors.js';
import { Tensor } from '../tensor.js';
import { castInto, contig } from './views.js';
import { expectDtype, fmt } from './util.js';

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

/**
 * dst = bf16 values of src, held in float32 (CPU only; both contiguous float32 of one shape). The GEMM
 * operand form of amp_bf16 on CPUs without AVX512-BF16: the rounding + sgemm path of gemmBf16 reads
 * such an operand in place (GemmOptions.aRounded / bRounded) instead of making a rounded copy.
 */
export function roundBf16Into(dst: Tensor, src: Tensor): void {
  expectDtype('roundBf16Into', dst, 'float32');
  expectDtype('roundBf16Into', src, 'float32');
  if (fmt(dst.shape) !== fmt(src.shape)) throw new ShapeError(`roundBf16Into: shapes ${fmt(dst.shape)} and ${fmt(src.shape)} differ`);
  if (!dst.isContiguous || !src.isContiguous) throw new ShapeError('roundBf16Into: both tensors must be contiguous');
  if (dst.deviceIndex >= 0 || src.deviceIndex >= 0) throw new DeviceError('DEVICE_MISMATCH', 'roundBf16Into: CPU tensors only', 'on CUDA, cast to bfloat16 instead');
  call((n) => n.roundBf16(dst.buf, dst.byteOffset, src.buf, src.byteOffset, src.size));
}

/** A float32 tensor holding the bf16 values of t (CPU; see roundBf16Into), no graph. */
export function roundedBf16F32(t: Tensor): Tensor {
  const src = contig(t);
  try {
    const out = Tensor.allocate(t.shape, 'float32', t.deviceIndex, false);
    roundBf16Into(out, src);
    return out;
  } finally {
    if (src !== t) src.dispose();
  }
}
