// attention_fwd_f32's one-query path (native/cpu/attention_decode.cc), private to native/cpu.
#pragma once
#include <cstdint>

namespace olmo::cpu {

// T == 1 and no documents (a decode step): writes out and lse as attention_fwd_f32 does and returns
// true; any other call returns false and touches nothing (the tiled kernel runs it). par: run the
// (batch, head) rows on the OpenMP team (attention.cc decides when that pays).
bool attention_decode_f32(const float* q, const float* k, const float* v, float* out, float* lse,
                          int64_t B, int64_t T, int64_t Tk, int64_t NH, int64_t NKV, int64_t HS,
                          float scale, const int32_t* doc_start, bool par);

}  // namespace olmo::cpu
