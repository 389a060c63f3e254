// Tuning constants of lowplinear's batch-1 GEMV (decode) kernels, in one place: prefetch distance,
// which rows go through the multi-row kernels, and the env knobs that restore earlier values for
// A/B measurements. Each value says what it was measured on; re-measure on a new CPU family with
// bench/ops/lowplinear-gemv.cc (GEMV_STEP=1b / GEMV_COLD=1) before changing one.
#pragma once
#include <cstdint>

namespace olmo::cpu {

// Software prefetch distance of the multi-row GEMV kernels (q8_0 in lowplinear_gemv512.cc and
// lowplinear.cc's dot4_q8q8_*, float32 / bf16 in lowplinear_rows4.cc). Four rows read in step are
// four interleaved streams 4·row-bytes apart, which the hardware prefetchers did not follow: on
// the 50304x512 LM head (out of cache) the 4-row q8_0 kernel ran at half the one-row speed without
// it (13-14 vs 25-27 GB/s per thread, 2026-12-05, shared Zen 5) and at 31-32 GB/s with it (4-16
// KiB all alike).
constexpr int64_t kGemvPrefetchBytes = 4096;

// Rows of at least this many bytes prefetch per row stream (each of the group's rows
// kGemvPrefetchBytes ahead, running on into the same row of the next group); shorter rows prefetch
// the next group linearly.
constexpr int64_t kStreamPrefetchMinRowBytes = 2048;

// Largest K whose float32 / bf16 rows go four at a time through lowplinear_rows4.cc's AVX-512
// kernels (larger K: the one-row kernel per row; the AVX2 kernels keep 4 KiB groups). bf16: 8192
// (OLMo-1B's every shape; OLMO_BF16_ROWS4_MAXK=512 restores the earlier 4 KiB-group limit).
// float32: 8192 on Intel, 256 elsewhere (OLMO_F32_ROWS4_MAXK=256 restores the earlier limit on
// Intel). Measurements in lowplinear_tune.cc. Read once per process. OLMO_GEMV_ROWS4=0 turns both off.
int64_t bf16_rows4_max_k();
int64_t f32_rows4_max_k();

// Per-row-stream prefetch for long rows (>= kStreamPrefetchMinRowBytes) in the AVX-512 4-row
// float32 / bf16 kernels (lowplinear_rows4.cc); OLMO_GEMV_ROWS4_STREAM_PF=0 prefetches the next
// group linearly instead (as for short rows). It is what makes the long-row groups pay: without
// it the bf16 OLMo-1B step was no faster in groups than row by row.
bool rows4_stream_prefetch();

}  // namespace olmo::cpu
