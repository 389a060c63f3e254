// decodelayer: one whole transformer block (OLMo-1 or OLMo-2) for ONE token of ONE sequence
// (batch 1, T = 1) against a KV cache, in a single native call — the batch-1 decode path, where
// a block run op by op costs ~20 native calls and ~25 tensor allocations per layer per token.
//
// It computes exactly what @olmo/model's block() computes op by op, with the same CPU kernels in
// the same order (layernorm/rmsnorm, lowp_linear (gemm_f32's batch-1 GEMV for float32), clamp, rope, attention, swiglu,
// add), so its results equal the op-by-op path's bit for bit:
//   OLMo-1: a = LN(x); q,k,v = a·Wqᵀ, a·Wkᵀ, a·Wvᵀ (clipped to ±clip when clip > 0);
//           q,k = rope(q,k at position pos); cache[pos] = k,v; att = attention(q, cache[0..pos]);
//           h = x + att·Woᵀ; m = LN(h); x = h + (silu(m·Wgᵀ) * m·Wuᵀ)·Wdᵀ
//   OLMo-2: no pre-norms; q,k RMS-normed over their full width (q_norm, k_norm) before RoPE;
//           h = x + RMS(att·Woᵀ, post_attn); x = h + RMS(mlp(h), post_ff)
// x [C] float32 is updated in place. The KV cache rows are [max_len, NKV, HS] float32; row `pos`
// is written and rows 0..pos are read. Scratch space is per-thread and reused (no allocation per
// token once warm). Weights: float32, bf16 or q8_0 (WeightFormat), [out, in] row-major.
#pragma once
#include <cstdint>

#include "olmo/ops/lowplinear.h"

namespace olmo {

struct DecodeWeight {
  WeightFormat fmt;  // F32, BF16 or Q8_0
  const void* data;  // [out, in]
};

struct DecodeLayerArgs {
  int64_t C, NH, NKV, HS, I;  // hidden size, query / kv heads, head size, MLP hidden size
  bool olmo2;
  float eps;    // norm epsilon
  float clip;   // clip_qkv (> 0), or 0 for none
  float theta;  // RoPE base
  int64_t pos;  // this token's position = cached positions before it
  DecodeWeight q, k, v, o, gate, up, down;
  const float *q_norm, *k_norm, *post_attn_norm, *post_ff_norm;  // OLMo-2 only (else null)
  float* k_cache;  // [>= pos + 1, NKV, HS]
  float* v_cache;
};

}  // namespace olmo

namespace olmo::cpu {
void decode_layer(float* x, const DecodeLayerArgs& a);
}  // namespace olmo::cpu
