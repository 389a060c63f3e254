/**
 * Mixed-precision autocast (the numerics of OLMo's `precision: amp_bf16`, as torch.autocast):
 * inside `withAutocast('bfloat16', fn)`, every matmul / linear rounds its two operands to bfloat16
 * (round to nearest even) and accumulates in float32 into a float32 result — forward, and the
 * backward GEMMs of the nodes recorded inside (dA = bf16(g)·bf16(B)ᵀ, dB = bf16(A)ᵀ·bf16(g)).
 * Activations saved for backward are stored in bf16 where torch.autocast has bf16 tensors (the
 * GEMMs' activation operand, attention q/k/v, swiglu gate/up; ops/bf16storage.ts), and those ops
 * compute in float32 from the stored values. Everything else (norms, softmax, losses, reductions,
 * optimizer, gradients w.r.t. activations) stays float32.
 * On CPU the rounding happens while the GEMM packs its operands (native/cpu/gemm_bf16.cc); on
 * CUDA the operands are cast to bfloat16 and run on cuBLAS / the tiled kernel.
 */
export type AutocastDtype = 'bfloat16';

let current: AutocastDtype | null = null;

/** The active autocast dtype (null: full float32). */
export function autocastDtype(): AutocastDtype | null {
  return current;
}

/** Runs fn with matmul operands rounded to `dtype` (null: float32); restores the previous mode. */
export function withAutocast<T>(dtype: AutocastDtype | null, fn: () => T): T {
  const prev = current;
  current = dtype;
  try {
    return fn();
  } finally {
    current = prev;
  }
}
