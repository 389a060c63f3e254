// lowplinear on CPU: GEMV/GEMM over bf16 and Q8_0 weights (see olmo/ops/lowplinear.h).
//
// Run-time ISA selection. The build may use -march=native, but the kernels here carry their own
// target attributes and are only called when cpuid says the CPU has those features, so this file
// works the same in an OLMO_PORTABLE build. Paths (best first):
//   bf16: avx512 (u16 -> u32 << 16 -> fma; also on AVX512-BF16 CPUs, see row_dot), avx2 (same,
//         8 lanes), scalar — x stays float32 on every path.
//   q8_0 (default, as llama.cpp): x quantized per 32-block to int8 (d = amax/127 as f16), int8 dot
//         products (avx512vnni vpdpbusd, or avx2 maddubs on |x| and sign(x)·w), one f32 multiply
//         per block; with OLMO_Q8_ACT=f32: dequantize in registers (int8 -> f32, fma with the
//         float32 x, block scale), whose error is the weight quantization alone.
//   M > 16 (prefill, batches): q8_0 with int8 activations: lowplinear_gemm_q8.cc's int8 GEMM
//         (avx512vnni / avx2), x quantized by the same quantizer as above; bf16, f32 and q8_0 with
//         OLMO_Q8_ACT=f32: lowplinear_gemm.cc's float32 panel GEMM (avx512 / avx2); OpenBLAS on
//         converted tiles (float32 x) on the scalar path.
//         With Intel AMX (Isa::Amx; OLMO_AMX=0 or the avx512bf16 cap turn it off) bf16 weights and
//         q8_0 weights with int8 activations take lowplinear_gemm_amx.cc's tile GEMMs instead.
//   f32 (WeightFormat::F32, used by gemm_f32's batch-1 GEMV and decodelayer): plain FMA dots on the
//         same OpenMP team as the other formats. OpenBLAS's sgemv runs its own thread pool next to
//         OpenMP's; on the shared 2-vCPU machine at load ~110 a tiny-model decode step took 150 ms
//         through it vs 8 ms for the bf16 GEMV on the OpenMP team (bench/model, 19:55 UTC).
// Measured (bench/ops/lowplinear.mjs, 2048x8192 GEMV, 2-vCPU Zen 5, shared and loaded machine, so
// only the ratios mean much): int8 activations 1.3-3x faster than dequantize-in-register on both
// AVX2 and AVX-512 (dequantizing costs 3 vector ops per 8/16 weights, the int8 path 1-3 per 32), and
// they make our q8_0 numerics match llama.cpp's — so they are the default.
#include "olmo/ops/lowplinear.h"

// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own _mm*_undefined_* helpers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "env_switch.h"
#include "lowplinear_gemm.h"
#include "lowplinear_gemv512.h"
#include "lowplinear_rows4.h"
#include "lowplinear_tune.h"
#include "olmo/check.h"
#include "olmo/tensor.h"
#include "parallel_for.h"
#include "work_pool.h"

#if defined(__x86_64__) || defined(__i386__)
#define OLMO_X86 1
#include <immintrin.h>
#endif

namespace olmo::cpu {

// A GEMV row costs ~K loads; a second thread pays off from ~2^16 weights (like elementwise.cc).
constexpr int64_t kParallelMin = 1 << 16;
// Batch-1 GEMVs of at least gemv_parallel_bytes() of weights are split across threads on
// work_pool.h's claimed-chunk pool: the caller starts on the rows at once and the helper thread
// takes chunks once it has woken up, so the caller never waits for the wake-up (OpenMP's static
// split waits at the join for a late thread's whole half). OLMO_GEMV_POOL=0 keeps the OpenMP
// fork-join split instead (for measuring). The threshold: the helper sleeps between GEMVs and wakes
// ~10-15 µs after the caller's futex wake on the quiet 2-vCPU VMs (libgomp's passive 2-thread
// region costs ~13 µs), while one core streams ~20-30 GB/s, so a GEMV must stream a few hundred KB
// for a second thread to pay off: measured on decode steps from about 512 KiB (bench/model/
// overhead.mjs, lowplinear.mjs --n/--k). Counted in bytes, not weights: a q8_0 row is 1/4 of a
// float32 row to stream. OLMO_GEMV_PAR_BYTES overrides it (read once; for measuring, e.g. 1e15
// keeps every batch-1 GEMV on the calling thread).
static bool gemv_use_pool() {
  static const bool v = env_switch_on("OLMO_GEMV_POOL");
  return v;
}
static int64_t gemv_parallel_bytes() {
  static const int64_t v = [] {
    if (const char* e = std::getenv("OLMO_GEMV_PAR_BYTES")) return int64_t(std::strtod(e, nullptr));  // accepts 1e15
    return int64_t(512) << 10;
  }();
  return v;
}
// q8_0 x int8 activations on AVX512-VNNI: rows up to IsaChoice::vnni256_max_k take the 256-bit
// one-block-per-dot kernels (dot_q8q8_vnni / dot4_q8q8_vnni), longer rows lowplinear_gemv512.cc's
// two-blocks-per-dot 4-row kernel with software prefetch. Measured per thread (2026-12-05, shared
// 2-vCPU Zen 5, a GEMV microbenchmark alternating both builds): K >= 512 1.4-1.9x faster with the
// 512-bit kernel (512x512 15.6 -> 8.5 us, 50304x512 LM head 1.43 -> 1.01 ms), K = 256 ~15% slower
// (its whole row is one 8-block group, so the per-call setup and reduction are not amortised) —
// hence 256 on AMD. On Intel (Emerald Rapids, 2026-12-06: bench/ops/lowplinear-gemv.cc, 1 thread,
// CPU time, 3 alternated rounds) the 512-bit kernel is the faster one at K = 256 too: tiny's
// 50304x256 LM head 471-473 -> 420-425 us, the other tiny shapes equal — the 256-bit kernel's
// per-block scalar scale conversions and broadcasts compete for Intel's two 512-bit-capable vector
// ports — hence 0 there. OLMO_VNNI256_MAXK=<K> overrides it (read by lowp_set_isa too, so tests
// can run both kernel families on one machine).
static int64_t vnni256_max_k_default() {
#ifdef OLMO_X86
  if (__builtin_cpu_is("intel")) return 0;
#endif
  return 256;
}
// Rows of W converted per GEMM tile (tile = kTileRows x K floats, e.g. 2 MiB for K = 4096).
constexpr int64_t kTileRows = 128;

// Amx: AVX512-BF16 + Intel AMX (tiles granted by the kernel): the M > 16 GEMMs for bf16 and q8_0
// weights run lowplinear_gemm_amx.cc; everything else (GEMVs, float32 weights) as Avx512Bf16.
enum class Isa { Scalar = 0, Avx2 = 1, Avx512 = 2, Avx512Bf16 = 3, Amx = 4 };

struct IsaChoice {
  Isa isa = Isa::Scalar;
  bool vnni = false;    // avx512vnni + avx512vl (int8 dot products on 256-bit vectors)
  bool q8act = false;   // OLMO_Q8_ACT=q8
  int64_t vnni256_max_k = 256;  // see vnni256_max_k_default
};

// Best kernels for this CPU, capped by `cap` ("scalar" | "avx2" | "avx512" | "avx512bf16" | anything
// else = no cap). OLMO_AMX=0 keeps the AMX GEMMs off whatever the cap (read at every selection).
static IsaChoice detect(const std::string& cap, bool q8act) {
  IsaChoice c;
#ifdef OLMO_X86
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
  const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  const bool bf16 = avx512 && __builtin_cpu_supports("avx512bf16");
  c.vnni = avx512 && __builtin_cpu_supports("avx512vnni");
  c.isa = bf16 ? Isa::Avx512Bf16 : avx512 ? Isa::Avx512 : avx2 ? Isa::Avx2 : Isa::Scalar;
  if (bf16 && env_switch_on("OLMO_AMX") && amx_usable()) c.isa = Isa::Amx;
#endif
  const Isa want = cap == "scalar" ? Isa::Scalar : cap == "avx2" ? Isa::Avx2 : cap == "avx512" ? Isa::Avx512
                   : cap == "avx512bf16" ? Isa::Avx512Bf16 : Isa::Amx;
  if (want < c.isa) c.isa = want;
  if (c.isa < Isa::Avx512) c.vnni = false;
  c.q8act = q8act;
  const char* mk = std::getenv("OLMO_VNNI256_MAXK");
  c.vnni256_max_k = mk && *mk ? std::strtoll(mk, nullptr, 10) : vnni256_max_k_default();
  return c;
}

static std::string env_or(const char* name, const char* dflt) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string(dflt);
}

// Chosen once from the environment; lowp_set_isa changes it (tests run every path in one process).
static IsaChoice g_isa = detect(env_or("OLMO_CPU_ISA", ""), env_or("OLMO_Q8_ACT", "q8") != "f32");
static std::string g_isa_name;

static const IsaChoice& isa() { return g_isa; }

const char* lowp_isa() {
  const IsaChoice& c = isa();
  g_isa_name = c.isa == Isa::Amx ? "amx" : c.isa == Isa::Avx512Bf16 ? "avx512bf16" : c.isa == Isa::Avx512 ? "avx512" : c.isa == Isa::Avx2 ? "avx2" : "scalar";
  if (c.q8act) g_isa_name += c.vnni ? "+q8act-vnni" : "+q8act";
  return g_isa_name.c_str();
}

const char* lowp_set_isa(const char* cap, bool q8act) {
  g_isa = detect(cap, q8act);
  return lowp_isa();
}

// ------------------------------------------------------------------ scalar reference kernels

static float dot_bf16_scalar(const uint16_t* w, const float* x, int64_t K) {
  float acc = 0.f;
  for (int64_t k = 0; k < K; ++k) acc += bf16_to_f32(w[k]) * x[k];
  return acc;
}

static float dot_f32_scalar(const float* w, const float* x, int64_t K) {
  float acc = 0.f;
  for (int64_t k = 0; k < K; ++k) acc += w[k] * x[k];
  return acc;
}

static float dot_q8_scalar(const BlockQ8_0* w, const float* x, int64_t K) {
  float acc = 0.f;
  for (int64_t b = 0; b < K / 32; ++b) {
    float s = 0.f;
    for (int j = 0; j < 32; ++j) s += float(w[b].qs[j]) * x[b * 32 + j];
    acc += f16_to_f32(w[b].d) * s;
  }
  return acc;
}

// Activations quantized like llama.cpp's quantize_row_q8_0: d = amax / 127, q = round(x / d).
static void quantize_act(BlockQ8_0* dst, const float* x, int64_t K) {
  for (int64_t b = 0; b < K / 32; ++b) {
    float amax = 0.f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[b * 32 + j]));
    const float d = amax / 127.f, id = d != 0.f ? 1.f / d : 0.f;
    dst[b].d = f32_to_f16(d);
    for (int j = 0; j < 32; ++j) dst[b].qs[j] = int8_t(std::lround(x[b * 32 + j] * id));
  }
}

static float dot_q8q8_scalar(const BlockQ8_0* w, const BlockQ8_0* xq, int64_t K) {
  float acc = 0.f;
  for (int64_t b = 0; b < K / 32; ++b) {
    int32_t s = 0;
    for (int j = 0; j < 32; ++j) s += int32_t(w[b].qs[j]) * int32_t(xq[b].qs[j]);
    acc += f16_to_f32(w[b].d) * f16_to_f32(xq[b].d) * float(s);
  }
  return acc;
}

#ifdef OLMO_X86
// ------------------------------------------------------------------ AVX2 / FMA

#define OLMO_AVX2 __attribute__((target("avx2,fma,f16c")))
#define OLMO_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl")))
#define OLMO_AVX512VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

OLMO_AVX2 static inline float hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

OLMO_AVX2 static inline __m256 bf16x8_avx2(const uint16_t* p) {
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));  // unaligned is fine
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

OLMO_AVX2 static float dot_bf16_avx2(const uint16_t* w, const float* x, int64_t K) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  int64_t k = 0;
  for (; k + 32 <= K; k += 32) {
    a0 = _mm256_fmadd_ps(bf16x8_avx2(w + k), _mm256_loadu_ps(x + k), a0);
    a1 = _mm256_fmadd_ps(bf16x8_avx2(w + k + 8), _mm256_loadu_ps(x + k + 8), a1);
    a2 = _mm256_fmadd_ps(bf16x8_avx2(w + k + 16), _mm256_loadu_ps(x + k + 16), a2);
    a3 = _mm256_fmadd_ps(bf16x8_avx2(w + k + 24), _mm256_loadu_ps(x + k + 24), a3);
  }
  for (; k + 8 <= K; k += 8) a0 = _mm256_fmadd_ps(bf16x8_avx2(w + k), _mm256_loadu_ps(x + k), a0);
  float acc = hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  for (; k < K; ++k) acc += bf16_to_f32(w[k]) * x[k];
  return acc;
}

OLMO_AVX2 static float dot_f32_avx2(const float* w, const float* x, int64_t K) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  int64_t k = 0;
  for (; k + 32 <= K; k += 32) {
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + k), _mm256_loadu_ps(x + k), a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + k + 8), _mm256_loadu_ps(x + k + 8), a1);
    a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w + k + 16), _mm256_loadu_ps(x + k + 16), a2);
    a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w + k + 24), _mm256_loadu_ps(x + k + 24), a3);
  }
  for (; k + 8 <= K; k += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + k), _mm256_loadu_ps(x + k), a0);
  float acc = hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  for (; k < K; ++k) acc += w[k] * x[k];
  return acc;
}

OLMO_AVX2 static inline __m256 i8x8_avx2(const int8_t* p) {
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}

OLMO_AVX2 static float dot_q8_avx2(const BlockQ8_0* w, const float* x, int64_t K) {
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < K / 32; ++b) {
    const float* xb = x + b * 32;
    __m256 s = _mm256_mul_ps(i8x8_avx2(w[b].qs), _mm256_loadu_ps(xb));
    s = _mm256_fmadd_ps(i8x8_avx2(w[b].qs + 8), _mm256_loadu_ps(xb + 8), s);
    s = _mm256_fmadd_ps(i8x8_avx2(w[b].qs + 16), _mm256_loadu_ps(xb + 16), s);
    s = _mm256_fmadd_ps(i8x8_avx2(w[b].qs + 24), _mm256_loadu_ps(xb + 24), s);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(w[b].d)), s, acc);
  }
  return hsum256(acc);
}

// llama.cpp's int8 x int8 block dot: maddubs needs unsigned x signed, so |x| against sign(x)·w.
OLMO_AVX2 static float dot_q8q8_avx2(const BlockQ8_0* w, const BlockQ8_0* xq, int64_t K) {
  __m256 acc = _mm256_setzero_ps();
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t b = 0; b < K / 32; ++b) {
    const __m256i qw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].qs));
    const __m256i qx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[b].qs));
    const __m256i ax = _mm256_sign_epi8(qx, qx), sw = _mm256_sign_epi8(qw, qx);
    const __m256i dot = _mm256_madd_epi16(_mm256_maddubs_epi16(ax, sw), ones);
    const float d = _cvtsh_ss(w[b].d) * _cvtsh_ss(xq[b].d);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(dot), acc);
  }
  return hsum256(acc);
}

// ------------------------------------------------------------------ AVX-512

OLMO_AVX512 static inline __m512 bf16x16_avx512(const uint16_t* p) {
  const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

OLMO_AVX512 static float dot_bf16_avx512(const uint16_t* w, const float* x, int64_t K) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  int64_t k = 0;
  for (; k + 64 <= K; k += 64) {
    a0 = _mm512_fmadd_ps(bf16x16_avx512(w + k), _mm512_loadu_ps(x + k), a0);
    a1 = _mm512_fmadd_ps(bf16x16_avx512(w + k + 16), _mm512_loadu_ps(x + k + 16), a1);
    a2 = _mm512_fmadd_ps(bf16x16_avx512(w + k + 32), _mm512_loadu_ps(x + k + 32), a2);
    a3 = _mm512_fmadd_ps(bf16x16_avx512(w + k + 48), _mm512_loadu_ps(x + k + 48), a3);
  }
  for (; k + 16 <= K; k += 16) a0 = _mm512_fmadd_ps(bf16x16_avx512(w + k), _mm512_loadu_ps(x + k), a0);
  float acc = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
  for (; k < K; ++k) acc += bf16_to_f32(w[k]) * x[k];
  return acc;
}

OLMO_AVX512 static float dot_f32_avx512(const float* w, const float* x, int64_t K) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  int64_t k = 0;
  for (; k + 64 <= K; k += 64) {
    a0 = _mm512_fmadd_ps(_mm512_loadu_ps(w + k), _mm512_loadu_ps(x + k), a0);
    a1 = _mm512_fmadd_ps(_mm512_loadu_ps(w + k + 16), _mm512_loadu_ps(x + k + 16), a1);
    a2 = _mm512_fmadd_ps(_mm512_loadu_ps(w + k + 32), _mm512_loadu_ps(x + k + 32), a2);
    a3 = _mm512_fmadd_ps(_mm512_loadu_ps(w + k + 48), _mm512_loadu_ps(x + k + 48), a3);
  }
  for (; k + 16 <= K; k += 16) a0 = _mm512_fmadd_ps(_mm512_loadu_ps(w + k), _mm512_loadu_ps(x + k), a0);
  float acc = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
  for (; k < K; ++k) acc += w[k] * x[k];
  return acc;
}

OLMO_AVX512 static inline __m512 i8x16_avx512(const int8_t* p) {
  return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
}

OLMO_AVX512 static float dot_q8_avx512(const BlockQ8_0* w, const float* x, int64_t K) {
  __m512 acc = _mm512_setzero_ps();
  for (int64_t b = 0; b < K / 32; ++b) {
    const float* xb = x + b * 32;
    __m512 s = _mm512_mul_ps(i8x16_avx512(w[b].qs), _mm512_loadu_ps(xb));
    s = _mm512_fmadd_ps(i8x16_avx512(w[b].qs + 16), _mm512_loadu_ps(xb + 16), s);
    acc = _mm512_fmadd_ps(_mm512_set1_ps(_cvtsh_ss(w[b].d)), s, acc);
  }
  return _mm512_reduce_add_ps(acc);
}

// K <= 256 (see rows4): one block per 256-bit vpdpbusd (vpsignb for the u8 x s8 form).
OLMO_AVX512VNNI static float dot_q8q8_vnni(const BlockQ8_0* w, const BlockQ8_0* xq, int64_t K) {
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < K / 32; ++b) {
    const __m256i qw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].qs));
    const __m256i qx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[b].qs));
    const __m256i ax = _mm256_sign_epi8(qx, qx), sw = _mm256_sign_epi8(qw, qx);
    const __m256i dot = _mm256_dpbusd_epi32(_mm256_setzero_si256(), ax, sw);
    const float d = _cvtsh_ss(w[b].d) * _cvtsh_ss(xq[b].d);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(dot), acc);
  }
  return hsum256(acc);
}

// quantize_act, 32 values per step, bit for bit the same: the same amax, d, 1 / d and x · (1 / d)
// in float32, and lround's half-away-from-zero rounding (a 2-cycle vector op instead of a libm
// call per value: lroundf was ~7% of a 512x512 q8_0 GEMV).
// round(v · id) half away from zero, as int8 (|v · id| <= 127 here, so v - trunc(v) is exact).
OLMO_AVX512 static inline __m128i round_away_i8(__m512 v, __m512 vid) {
  v = _mm512_mul_ps(v, vid);
  const __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __mmask16 up = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_sub_ps(v, t)), _mm512_set1_ps(0.5f), _CMP_GE_OQ);
  const __m512i sign = _mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(int32_t(0x80000000u)));
  const __m512 away = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(_mm512_set1_ps(1.f)), sign));  // ±1
  return _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(_mm512_mask_add_ps(t, up, t, away)));
}

OLMO_AVX512 static void quantize_act_avx512(BlockQ8_0* dst, const float* x, int64_t K) {
  for (int64_t b = 0; b < K / 32; ++b) {
    const __m512 v0 = _mm512_loadu_ps(x + b * 32), v1 = _mm512_loadu_ps(x + b * 32 + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
    const float d = amax / 127.f, id = d != 0.f ? 1.f / d : 0.f;
    dst[b].d = f32_to_f16(d);
    const __m512 vid = _mm512_set1_ps(id);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst[b].qs), round_away_i8(v0, vid));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst[b].qs + 16), round_away_i8(v1, vid));
  }
}

// Four rows at once (the LM head and every GEMV with short rows, e.g. K = 256: a row is only 8
// blocks, so per-row work outside the block loop — dispatch, |x| and the x scale per block, the
// horizontal sum, the store — cost as much as the dots). x's |x| and scale are loaded once per
// block for four rows, and the four sums reduce together. Same arithmetic per row as dot_q8q8_*:
// an int32 dot per block, times dw·dx in float32, accumulated in the same lane order.
// Four hsum256 at once, adding in exactly hsum256's order (so a row's result does not depend on
// whether it went through a 4-row kernel): lanes i + i+4, then (0+2) + (1+3).
OLMO_AVX2 static inline void hsum256x4(__m256 a, __m256 b, __m256 c, __m256 d, float* y) {
  __m128 s0 = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  __m128 s1 = _mm_add_ps(_mm256_castps256_ps128(b), _mm256_extractf128_ps(b, 1));
  __m128 s2 = _mm_add_ps(_mm256_castps256_ps128(c), _mm256_extractf128_ps(c, 1));
  __m128 s3 = _mm_add_ps(_mm256_castps256_ps128(d), _mm256_extractf128_ps(d, 1));
  _MM_TRANSPOSE4_PS(s0, s1, s2, s3);  // s_j = lane j of the four rows
  _mm_storeu_ps(y, _mm_add_ps(_mm_add_ps(s0, s2), _mm_add_ps(s1, s3)));
}

// The four rows after these, kGemvPrefetchBytes ahead (see lowplinear_gemv512.h): the 4-row
// kernels read four interleaved streams, which the hardware prefetchers follow poorly. On the
// 50304x256 LM head (per thread, out of L2) this took the VNNI kernel from ~500 to ~430 us.
OLMO_AVX2 static inline void prefetch_next_rows(const BlockQ8_0* next, int64_t blocks) {
  const char* p = reinterpret_cast<const char*>(next) + kGemvPrefetchBytes;
  for (int64_t o = 0; o < blocks * int64_t(sizeof(BlockQ8_0)); o += 64) _mm_prefetch(p + o, _MM_HINT_T0);
}

OLMO_AVX2 static void dot4_q8q8_avx2(const BlockQ8_0* w0, int64_t nb, const BlockQ8_0* xq, float* y) {
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  prefetch_next_rows(w0 + 4 * nb, 4 * nb);
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t b = 0; b < nb; ++b) {
    const __m256i qx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[b].qs));
    const __m256i ax = _mm256_sign_epi8(qx, qx);
    const float dx = _cvtsh_ss(xq[b].d);
    for (int r = 0; r < 4; ++r) {
      const BlockQ8_0& wb = w0[r * nb + b];
      const __m256i sw = _mm256_sign_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb.qs)), qx);
      const __m256i dot = _mm256_madd_epi16(_mm256_maddubs_epi16(ax, sw), ones);
      acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(wb.d) * dx), _mm256_cvtepi32_ps(dot), acc[r]);
    }
  }
  hsum256x4(acc[0], acc[1], acc[2], acc[3], y);
}

OLMO_AVX512VNNI static void dot4_q8q8_vnni(const BlockQ8_0* w0, int64_t nb, const BlockQ8_0* xq, float* y) {
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  prefetch_next_rows(w0 + 4 * nb, 4 * nb);
  for (int64_t b = 0; b < nb; ++b) {
    const __m256i qx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[b].qs));
    const __m256i ax = _mm256_sign_epi8(qx, qx);
    const float dx = _cvtsh_ss(xq[b].d);
    for (int r = 0; r < 4; ++r) {
      const BlockQ8_0& wb = w0[r * nb + b];
      const __m256i sw = _mm256_sign_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb.qs)), qx);
      const __m256i dot = _mm256_dpbusd_epi32(_mm256_setzero_si256(), ax, sw);
      acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(wb.d) * dx), _mm256_cvtepi32_ps(dot), acc[r]);
    }
  }
  hsum256x4(acc[0], acc[1], acc[2], acc[3], y);
}
#endif  // OLMO_X86

// ------------------------------------------------------------------ dispatch

// Per-call activation forms some kernels need (computed once, shared by all rows and weights).
struct ActForms {
  std::vector<BlockQ8_0> q8;      // x quantized per block (OLMO_Q8_ACT=q8)
  Q8Act512 q8v;                   // q8 rearranged for the AVX512-VNNI kernels
};

static float row_dot(const WeightRef& w, int64_t r, const float* x, int64_t K, const ActForms& act) {
  const IsaChoice& c = isa();
  if (w.fmt == WeightFormat::F32) {
    const float* row = static_cast<const float*>(w.data) + r * K;
#ifdef OLMO_X86
    if (c.isa >= Isa::Avx512) return dot_f32_avx512(row, x, K);
    if (c.isa == Isa::Avx2) return dot_f32_avx2(row, x, K);
#endif
    return dot_f32_scalar(row, x, K);
  }
  if (w.fmt == WeightFormat::BF16) {
    const uint16_t* row = static_cast<const uint16_t*>(w.data) + r * K;
#ifdef OLMO_X86
    // AVX512-BF16 CPUs take the convert + FMA kernel too: vdpbf16ps needs x in bf16 (an x split
    // into hi + lo keeps ~16 of its 24 bits and took two dot instructions), and on Zen 5 the
    // convert + FMA path measured faster at decode shapes (bench/ops/lowplinear.mjs, 2048x512:
    // 0.068 vs 0.079 ms; 2048x8192: 0.770 vs 0.866 ms) while keeping x exact.
    if (c.isa >= Isa::Avx512) return dot_bf16_avx512(row, x, K);
    if (c.isa == Isa::Avx2) return dot_bf16_avx2(row, x, K);
#endif
    return dot_bf16_scalar(row, x, K);
  }
  const BlockQ8_0* row = static_cast<const BlockQ8_0*>(w.data) + r * (K / 32);
  if (c.q8act) {
#ifdef OLMO_X86
    if (c.vnni) return K <= c.vnni256_max_k ? dot_q8q8_vnni(row, act.q8.data(), K) : dot_q8q8_vnni512(row, act.q8v);
    if (c.isa >= Isa::Avx2) return dot_q8q8_avx2(row, act.q8.data(), K);
#endif
    return dot_q8q8_scalar(row, act.q8.data(), K);
  }
#ifdef OLMO_X86
  if (c.isa >= Isa::Avx512) return dot_q8_avx512(row, x, K);
  if (c.isa == Isa::Avx2) return dot_q8_avx2(row, x, K);
#endif
  return dot_q8_scalar(row, x, K);
}

// float32 / bf16 rows four at a time (lowplinear_rows4.cc) up to lowplinear_tune.h's
// {f32,bf16}_rows4_max_k(), unless OLMO_GEMV_ROWS4=0 (for measuring). Measured on the out-of-cache
// LM heads, one thread, min of 6 alternated runs (2026-12-05, shared 2-vCPU Zen 5, load ~2.5):
// 50304x256 f32 1754 -> 1147 us, bf16 780 -> 621 us; 50304x512 bf16 1361 -> 1123 us; but
// 50304x512 f32 (8 KiB groups: four interleaved 2 KiB-apart streams) 2903 -> 3374 us, slower with
// or without the software prefetch — the same effect as with the q8_0 kernels on long rows. bf16
// rows up to K = 8192 (OLMo-1B) measured faster in groups on Intel (lowplinear_tune.cc).
constexpr int64_t kRows4Avx2MaxGroupBytes = 4096;
static bool dense_rows4() {
  static const bool v = env_switch_on("OLMO_GEMV_ROWS4");
  return v;
}

// Rows [r0, r0 + 4) into y through a 4-row kernel when there is one for this format and ISA.
static bool rows4(const WeightRef& w, int64_t r0, const float* x, int64_t K, const ActForms& act, float* y) {
#ifdef OLMO_X86
  const IsaChoice& c = isa();
  // AVX-512: up to lowplinear_tune.h's limits (long rows prefetched per row stream). AVX2 keeps
  // the 4 KiB groups its kernel was measured with (no per-row-stream prefetch there).
  if (w.fmt == WeightFormat::F32 && dense_rows4()) {
    const float* row = static_cast<const float*>(w.data) + r0 * K;
    if (c.isa >= Isa::Avx512) return K <= f32_rows4_max_k() && rows4_f32_avx512(row, K, x, y);
    return c.isa == Isa::Avx2 && 4 * K * 4 <= kRows4Avx2MaxGroupBytes && rows4_f32_avx2(row, K, x, y);
  }
  if (w.fmt == WeightFormat::BF16 && dense_rows4()) {
    const uint16_t* row = static_cast<const uint16_t*>(w.data) + r0 * K;
    if (c.isa >= Isa::Avx512) return K <= bf16_rows4_max_k() && rows4_bf16_avx512(row, K, x, y);
    return c.isa == Isa::Avx2 && 4 * K * 2 <= kRows4Avx2MaxGroupBytes && rows4_bf16_avx2(row, K, x, y);
  }
  if (w.fmt != WeightFormat::Q8_0 || !c.q8act || c.isa < Isa::Avx2) return false;
  const int64_t nb = K / 32;
  const BlockQ8_0* row = static_cast<const BlockQ8_0*>(w.data) + r0 * nb;
  // AVX512-VNNI: every K, by the same kernel family as row_dot for that K (see vnni256_max_k).
  // AVX2: only short rows (K <= 256: 8 blocks, where per-row overhead rivals the dots); on longer
  // rows its four interleaved weight streams, before they were prefetched, measured much slower
  // than row by row (small config, K = 512 / 2048, q8_0 decode 124 vs 206 tok/s, GGUF bench
  // 2026-12-05); not re-measured with the prefetch (no AVX2-only machine at hand).
  if (c.vnni) {
    if (K <= c.vnni256_max_k) dot4_q8q8_vnni(row, nb, act.q8.data(), y);
    else dot4_q8q8_vnni512(row, act.q8v, y);
    return true;
  }
  if (K > 256) return false;
  dot4_q8q8_avx2(row, nb, act.q8.data(), y);
  return true;
#else
  return false;
#endif
}

static void prepare_act(ActForms& act, const float* x, int64_t K, bool any_q8) {
  const IsaChoice& c = isa();
  if (any_q8 && c.q8act) {
    act.q8.resize(size_t(K / 32));
#ifdef OLMO_X86
    if (c.isa >= Isa::Avx512) quantize_act_avx512(act.q8.data(), x, K);
    else
#endif
      quantize_act(act.q8.data(), x, K);
#ifdef OLMO_X86
    if (c.vnni && K > c.vnni256_max_k) q8_act_prepare_vnni(act.q8v, act.q8.data(), K / 32);
#endif
  }
}

// M == 1: all rows of all weights form one parallel loop (the fused call's point: one team).
static void gemv(const float* x, int64_t K, const WeightRef* ws, int nw) {
  ActForms act;
  bool any_q8 = false;
  int64_t bytes = 0;
  // Work items are groups of 4 rows of one weight (see dot4_q8q8_*; other formats and a last
  // partial group go row by row); gstart[i] = first group of weight i.
  std::vector<int64_t> gstart(size_t(nw) + 1, 0);
  for (int i = 0; i < nw; ++i) {
    any_q8 |= ws[i].fmt == WeightFormat::Q8_0;
    bytes += weight_bytes(ws[i].fmt, ws[i].n, K);
    gstart[size_t(i) + 1] = gstart[size_t(i)] + (ws[i].n + 3) / 4;
  }
  prepare_act(act, x, K, any_q8);
  const int64_t groups = gstart[size_t(nw)];
  auto group = [&](int64_t g) {
    int i = 0;
    while (g >= gstart[size_t(i) + 1]) ++i;
    const WeightRef& w = ws[i];
    const int64_t r0 = (g - gstart[size_t(i)]) * 4, r1 = std::min(w.n, r0 + 4);
    if (r1 - r0 == 4 && rows4(w, r0, x, K, act, w.y + r0)) return;
    for (int64_t r = r0; r < r1; ++r) w.y[r] = row_dot(w, r, x, K, act);
  };
  const bool split = bytes >= gemv_parallel_bytes();
  // Smaller GEMVs (a quarter of the threshold and up: tiny / small models' q/k/v, out and down
  // projections) are offered to helpers that are already awake — inside a decode block's PoolBurst
  // (decodelayer.cc) they spin between jobs — without waking a sleeping one (wake = false).
  const bool join = bytes >= gemv_parallel_bytes() / 4;
  if (!gemv_use_pool() || !join) {
    parallel_for_rows(split, groups, group);  // serial unless OLMO_GEMV_POOL=0 splits it
    return;
  }
  // Chunks of ~1/16 of the weight bytes, 16-128 KiB: enough chunks that a late helper still finds
  // work, few enough that claiming (one contended CAS each) stays negligible.
  const int64_t chunk_bytes = std::clamp<int64_t>(bytes / 16, 16 << 10, 128 << 10);
  const int64_t chunk = std::max<int64_t>(1, chunk_bytes * groups / bytes);
  pool_for(groups, chunk, /*wake=*/split, group);
}

// Rows [r0, r1) of w as float32 into tile[(r - r0) * K + k].
static void convert_rows(float* tile, const WeightRef& w, int64_t r0, int64_t r1, int64_t K) {
#pragma omp parallel for if ((r1 - r0) * K >= kParallelMin) schedule(static)
  for (int64_t r = r0; r < r1; ++r) {
    float* dst = tile + (r - r0) * K;
    if (w.fmt == WeightFormat::F32) {
      std::memcpy(dst, static_cast<const float*>(w.data) + r * K, size_t(K) * sizeof(float));
    } else if (w.fmt == WeightFormat::BF16) {
      const uint16_t* src = static_cast<const uint16_t*>(w.data) + r * K;
      for (int64_t k = 0; k < K; ++k) dst[k] = bf16_to_f32(src[k]);
    } else {
      const BlockQ8_0* src = static_cast<const BlockQ8_0*>(w.data) + r * (K / 32);
      for (int64_t b = 0; b < K / 32; ++b) {
        const float d = f16_to_f32(src[b].d);
        for (int j = 0; j < 32; ++j) dst[b * 32 + j] = d * float(src[b].qs[j]);
      }
    }
  }
}

// M > 16 without an x86 SIMD path (OLMO_CPU_ISA=scalar, non-x86 builds): per tile of rows, convert
// into the packing buffer, then one OpenBLAS sgemm (threads inside OpenBLAS; the tile loop stays
// serial so the two pools never nest). AVX2 / AVX-512 take lowplinear_gemm.cc's panel GEMM.
static void gemm(const float* x, int64_t M, int64_t K, const WeightRef* ws, int nw) {
  std::vector<float> tile(size_t(std::min<int64_t>(kTileRows, std::max<int64_t>(1, [&] {
    int64_t mx = 0;
    for (int i = 0; i < nw; ++i) mx = std::max(mx, ws[i].n);
    return mx;
  }())) * K));
  for (int i = 0; i < nw; ++i) {
    const WeightRef& w = ws[i];
    for (int64_t r0 = 0; r0 < w.n; r0 += kTileRows) {
      const int64_t r1 = std::min(w.n, r0 + kTileRows);
      convert_rows(tile.data(), w, r0, r1, K);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(M), int(r1 - r0), int(K), 1.f, x, int(K),
                  tile.data(), int(K), 0.f, w.y + r0, int(w.ldy));
    }
  }
}

// 1 < M <= kSmallM (short prompts, small batches): GEMV kernels per input row, rows of W in the
// outer loop so each weight row is read from memory once and reused from cache for every x row.
// The tiled GEMM below pays a full float32 conversion pass plus many small sgemm calls instead
// (measured on OLMo-7B bf16: an 8-token prefill took 37 s through the tile path at load ~8).
constexpr int64_t kSmallM = 16;

static void small_batch(const float* x, int64_t M, int64_t K, const WeightRef* ws, int nw) {
  std::vector<ActForms> acts(static_cast<size_t>(M));
  bool any_q8 = false;
  int64_t total = 0;
  std::vector<int64_t> start(size_t(nw) + 1, 0);
  for (int i = 0; i < nw; ++i) {
    any_q8 |= ws[i].fmt == WeightFormat::Q8_0;
    start[size_t(i)] = total;
    total += ws[i].n;
  }
  start[size_t(nw)] = total;
  for (int64_t m = 0; m < M; ++m) prepare_act(acts[size_t(m)], x + m * K, K, any_q8);
#pragma omp parallel for if (total * K >= kParallelMin) schedule(static)
  for (int64_t g = 0; g < total; ++g) {
    int i = 0;
    while (g >= start[size_t(i) + 1]) ++i;
    const int64_t r = g - start[size_t(i)];
    for (int64_t m = 0; m < M; ++m) ws[i].y[m * ws[i].ldy + r] = row_dot(ws[i], r, x + m * K, K, acts[size_t(m)]);
  }
}

// M > 16, every ws[i] q8_0, int8 activations: x quantized row by row with prepare_act's quantizer,
// then the int8 GEMM for this ISA; without one (scalar path, non-x86) the per-row GEMV kernels,
// so every path multiplies the quantized x the decode GEMV multiplies.
static void gemm_q8(const float* x, int64_t M, int64_t K, const WeightRef* ws, int nw) {
#ifdef OLMO_X86
  const IsaChoice& c = isa();
  if (c.isa >= Isa::Avx2) {
    const int64_t nb = K / 32;
    std::vector<BlockQ8_0> xq(size_t(M * nb));
    for (int64_t m = 0; m < M; ++m) {
      if (c.isa >= Isa::Avx512) quantize_act_avx512(xq.data() + m * nb, x + m * K, K);
      else quantize_act(xq.data() + m * nb, x + m * K, K);
    }
    if (c.isa == Isa::Amx && lowp_gemm_q8_amx(xq.data(), M, K, ws, nw)) return;
    if (c.vnni ? lowp_gemm_q8_vnni512(xq.data(), M, K, ws, nw) : lowp_gemm_q8_avx2(xq.data(), M, K, ws, nw)) return;
  }
#endif
  small_batch(x, M, K, ws, nw);
}

void lowp_linear(const float* x, int64_t M, int64_t K, const WeightRef* ws, int nw) {
  if (M == 0 || nw == 0) return;
  if (K == 0) {
    for (int i = 0; i < nw; ++i)
      for (int64_t m = 0; m < M; ++m) std::memset(ws[i].y + m * ws[i].ldy, 0, size_t(ws[i].n) * sizeof(float));
    return;
  }
  const IsaChoice& c = isa();
  if (M == 1) return gemv(x, K, ws, nw);
  if (M <= kSmallM) return small_batch(x, M, K, ws, nw);
  // M > 16: q8_0 weights with int8 activations take lowplinear_gemm_q8.cc (x quantized per row as
  // the GEMV quantizes it, so prefill and decode multiply the same operands); the rest of a fused
  // call the float32 panel GEMM.
  std::vector<WeightRef> rest;
  rest.reserve(size_t(nw));
  std::vector<WeightRef> q8;
  for (int i = 0; i < nw; ++i) (c.q8act && ws[i].fmt == WeightFormat::Q8_0 ? q8 : rest).push_back(ws[i]);
  if (!q8.empty()) gemm_q8(x, M, K, q8.data(), int(q8.size()));
  if (rest.empty()) return;
  if (c.isa == Isa::Amx) {  // bf16 weights through the AMX GEMM, the rest below
    std::vector<WeightRef> bf, other;
    for (const WeightRef& w : rest) (w.fmt == WeightFormat::BF16 ? bf : other).push_back(w);
    if (!bf.empty() && lowp_gemm_bf16_amx(x, M, K, bf.data(), int(bf.size()))) rest.swap(other);
    if (rest.empty()) return;
  }
  const int nr = int(rest.size());
  if (c.isa >= Isa::Avx512 && lowp_gemm_f32_avx512(x, M, K, rest.data(), nr)) return;
  if (c.isa == Isa::Avx2 && lowp_gemm_f32_avx2(x, M, K, rest.data(), nr)) return;
  gemm(x, M, K, rest.data(), nr);
}

}  // namespace olmo::cpu
