#include "olmo/ops/elementwise.h"

#include <algorithm>
#include <cstring>

#include "olmo/check.h"
#include "bf16_convert.h"
#include "parallel_for.h"

namespace olmo::cpu {

// Below this many elements the loop runs on the calling thread. These loops are memory-bound (an
// add of 2^16 floats is ~20 us on one core and gains only ~5 us from a second thread), while a
// parallel region on a busy 2-core machine can stall for a whole scheduler slice (ms) waiting for
// its second thread (measured with add at 2^14..2^18 elements, 1 vs 2 threads).
constexpr int64_t kParallelMin = 1 << 17;

void add_f32(float* out, const float* a, const float* b, int64_t n, float alpha, float beta) {
  parallel_for(n > kParallelMin, n, [&](int64_t i) { out[i] = alpha * a[i] + beta * b[i]; });
}

void mul_f32(float* out, const float* a, const float* b, int64_t n) {
#pragma omp parallel for simd if (n > kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] * b[i];
}

void scale_f32(float* out, const float* a, float s, int64_t n) {
#pragma omp parallel for simd if (n > kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = s * a[i];
}

void fill_f32(float* out, float value, int64_t n) {
#pragma omp parallel for simd if (n > kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = value;
}

template <class T>
static void copy_strided_t(T* out, const T* src, int ndim, const int64_t* shape, const int64_t* strides, bool scatter) {
  // Innermost dimension as a tight loop; outer dimensions walked by an index counter.
  int64_t inner = ndim > 0 ? shape[ndim - 1] : 1, inner_stride = ndim > 0 ? strides[ndim - 1] : 1;
  int64_t outer = 1;
  for (int d = 0; d < ndim - 1; ++d) outer *= shape[d];
#pragma omp parallel for if (outer * inner > kParallelMin) schedule(static)
  for (int64_t o = 0; o < outer; ++o) {
    int64_t rem = o, off = 0;
    for (int d = ndim - 2; d >= 0; --d) {
      off += (rem % shape[d]) * strides[d];
      rem /= shape[d];
    }
    if (scatter) {  // out is the strided view, src contiguous
      T* d = out + off;
      const T* s = src + o * inner;
      if (inner_stride == 1) std::memcpy(d, s, size_t(inner) * sizeof(T));
      else for (int64_t i = 0; i < inner; ++i) d[i * inner_stride] = s[i];
    } else {
      const T* s = src + off;
      T* dst = out + o * inner;
      if (inner_stride == 1) std::memcpy(dst, s, size_t(inner) * sizeof(T));
      else for (int64_t i = 0; i < inner; ++i) dst[i] = s[i * inner_stride];
    }
  }
}

void copy_strided(void* out, const void* src, int ndim, const int64_t* shape, const int64_t* strides, int64_t elem_size, bool scatter) {
  switch (elem_size) {
    case 1: copy_strided_t(static_cast<uint8_t*>(out), static_cast<const uint8_t*>(src), ndim, shape, strides, scatter); break;
    case 2: copy_strided_t(static_cast<uint16_t*>(out), static_cast<const uint16_t*>(src), ndim, shape, strides, scatter); break;
    case 4: copy_strided_t(static_cast<uint32_t*>(out), static_cast<const uint32_t*>(src), ndim, shape, strides, scatter); break;
    case 8: copy_strided_t(static_cast<uint64_t*>(out), static_cast<const uint64_t*>(src), ndim, shape, strides, scatter); break;
    default: OLMO_FAIL("DTYPE_UNSUPPORTED", "copy_strided: element size " << elem_size, "");
  }
}

static inline float load_as_f32(const void* p, DType d, int64_t i) {
  switch (d) {
    case DType::F32: return static_cast<const float*>(p)[i];
    case DType::BF16: return bf16_to_f32(static_cast<const uint16_t*>(p)[i]);
    case DType::I32: return float(static_cast<const int32_t*>(p)[i]);
    case DType::U16: return float(static_cast<const uint16_t*>(p)[i]);
    case DType::U32: return float(static_cast<const uint32_t*>(p)[i]);
  }
  return 0.f;
}

// Runs of a conversion split over the threads in blocks of 16 K elements (bf16_convert.h kernels).
template <class Run>
static void blocked_runs(int64_t n, Run&& run) {
  constexpr int64_t kBlock = 1 << 14;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  parallel_for_rows(n > kParallelMin, blocks, [&](int64_t b) { run(b * kBlock, std::min(kBlock, n - b * kBlock)); });
}

void cast(void* out, DType od, const void* src, DType sd, int64_t n) {
  if (od == sd) { std::memcpy(out, src, size_t(n) * dtype_size(od)); return; }
  // amp_bf16's casts (activation storage, compute copies, widened operands): vectorized, not the
  // per-element switch below (that was 3x slower and a visible share of an amp step).
  if (sd == DType::F32 && od == DType::BF16) {
    blocked_runs(n, [&](int64_t i, int64_t m) { bf16conv::f32_to_bf16_run(static_cast<const float*>(src) + i, static_cast<uint16_t*>(out) + i, m); });
    return;
  }
  if (sd == DType::BF16 && od == DType::F32) {
    blocked_runs(n, [&](int64_t i, int64_t m) { bf16conv::bf16_to_f32_run(static_cast<const uint16_t*>(src) + i, static_cast<float*>(out) + i, m); });
    return;
  }
  // Integer <-> integer casts go through int64 so that uint32 values above 2^24 stay exact.
  bool src_int = sd == DType::I32 || sd == DType::U16 || sd == DType::U32;
  bool out_int = od == DType::I32 || od == DType::U16 || od == DType::U32;
  if (src_int && out_int) {
#pragma omp parallel for if (n > kParallelMin) schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      int64_t v = sd == DType::I32 ? int64_t(static_cast<const int32_t*>(src)[i])
                : sd == DType::U16 ? int64_t(static_cast<const uint16_t*>(src)[i])
                                   : int64_t(static_cast<const uint32_t*>(src)[i]);
      if (od == DType::I32) static_cast<int32_t*>(out)[i] = int32_t(v);
      else if (od == DType::U16) static_cast<uint16_t*>(out)[i] = uint16_t(v);
      else static_cast<uint32_t*>(out)[i] = uint32_t(v);
    }
    return;
  }
#pragma omp parallel for if (n > kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    float v = load_as_f32(src, sd, i);
    switch (od) {
      case DType::F32: static_cast<float*>(out)[i] = v; break;
      case DType::BF16: static_cast<uint16_t*>(out)[i] = f32_to_bf16(v); break;
      case DType::I32: static_cast<int32_t*>(out)[i] = int32_t(v); break;
      case DType::U16: static_cast<uint16_t*>(out)[i] = uint16_t(v); break;
      case DType::U32: static_cast<uint32_t*>(out)[i] = uint32_t(v); break;
    }
  }
}

}  // namespace olmo::cpu

namespace olmo::cpu {

void round_bf16(float* out, const float* src, int64_t n) {
  blocked_runs(n, [&](int64_t i, int64_t m) { bf16conv::round_f32(src + i, out + i, m); });
}

}  // namespace olmo::cpu
