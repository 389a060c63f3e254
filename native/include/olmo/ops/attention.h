// attention: fused (flash-style) scaled dot-product self-attention, fp32, all tensors contiguous.
//   q [B,T,NH,HS], k/v [B,Tk,NKV,HS] read in this layout (no transposes), out [B,T,NH,HS],
//   lse [B,NH,T] (natural-log logsumexp of the scaled, masked scores of each query row).
//   GQA: NH % NKV == 0, query head h reads kv head h / (NH/NKV) (NKV == 1 is MQA).
//   KV cache: Tk >= T; query i sits at absolute position Tk - T + i and, when causal, attends to
//   keys 0..Tk-T+i. Non-causal attends to all Tk keys.
//   Documents (packed sequences): doc_start (nullable, int32 [B, Tk], causal only) gives for every
//   position p the first position of its document (doc_start[p] <= p). Query i (position p =
//   Tk-T+i) then attends only to keys doc_start[p]..p: no attention across document boundaries.
// Forward (attention_fwd_f32): online softmax over key tiles; writes out and lse, nothing else is
//   kept (no T x Tk matrix).
// Backward (attention_bwd_f32): recomputes P = exp(scale q k^T - lse) tile by tile, D = rowsum(dO o O),
//   dS = P o (dO v^T - D); WRITES (does not accumulate) dq, dk, dv, with dk/dv summed over the
//   query heads of each kv group.
#pragma once
#include <cstdint>

namespace olmo::cpu {
void attention_fwd_f32(const float* q, const float* k, const float* v, float* out, float* lse,
                       int64_t B, int64_t T, int64_t Tk, int64_t NH, int64_t NKV, int64_t HS,
                       float scale, bool causal, const int32_t* doc_start = nullptr);
void attention_bwd_f32(const float* q, const float* k, const float* v, const float* out, const float* lse,
                       const float* dout, float* dq, float* dk, float* dv,
                       int64_t B, int64_t T, int64_t Tk, int64_t NH, int64_t NKV, int64_t HS,
                       float scale, bool causal, const int32_t* doc_start = nullptr);
}  // namespace olmo::cpu

namespace olmo::cuda {
void attention_fwd_f32(int dev, const float* q, const float* k, const float* v, float* out, float* lse,
                       int64_t B, int64_t T, int64_t Tk, int64_t NH, int64_t NKV, int64_t HS,
                       float scale, bool causal, const int32_t* doc_start = nullptr);
void attention_bwd_f32(int dev, const float* q, const float* k, const float* v, const float* out, const float* lse,
                       const float* dout, float* dq, float* dk, float* dv,
                       int64_t B, int64_t T, int64_t Tk, int64_t NH, int64_t NKV, int64_t HS,
                       float scale, bool causal, const int32_t* doc_start = nullptr);
// Tensor-core flash attention for amp_bf16 (native/cuda/attention_bf16.cu): the same tensors and
// semantics, with q/k/v/dout rounded to bf16 as tiles are loaded, fp32 accumulation and softmax
// statistics, and P / dS rounded to bf16 as mma operands. Head sizes 64 and 128 on sm_80+; return
// false (nothing launched) otherwise or when OLMO_CUDA_FLASH_BF16=0 -- the caller then runs the
// fp32 kernel.
bool attention_fwd_bf16(int dev, const float* q, const float* k, const float* v, float* out, float* lse,
                        int64_t B, int64_t T, int64_t Tk, int64_t NH, int64_t NKV, int64_t HS,
                        float scale, bool causal, const int32_t* doc_start = nullptr);
bool attention_bwd_bf16(int dev, const float* q, const float* k, const float* v, const float* out, const float* lse,
                        const float* dout, float* dq, float* dk, float* dv,
                        int64_t B, int64_t T, int64_t Tk, int64_t NH, int64_t NKV, int64_t HS,
                        float scale, bool causal, const int32_t* doc_start = nullptr);
// The same with q, k, v stored as bfloat16 bits (amp_bf16 activation storage): tiles are copied
// instead of rounded, so the results equal attention_*_bf16 on float32 inputs holding those values.
bool attention_fwd_bf16in(int dev, const uint16_t* q, const uint16_t* k, const uint16_t* v, float* out, float* lse,
                          int64_t B, int64_t T, int64_t Tk, int64_t NH, int64_t NKV, int64_t HS,
                          float scale, bool causal, const int32_t* doc_start = nullptr);
bool attention_bwd_bf16in(int dev, const uint16_t* q, const uint16_t* k, const uint16_t* v, const float* out, const float* lse,
                          const float* dout, float* dq, float* dk, float* dv,
                          int64_t B, int64_t T, int64_t Tk, int64_t NH, int64_t NKV, int64_t HS,
                          float scale, bool causal, const int32_t* doc_start = nullptr);
}  // namespace olmo::cuda
