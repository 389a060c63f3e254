// attention on CUDA tensor cores (amp_bf16): FlashAttention-2-style forward and backward with
// mma.sync m16n8k16 bf16 x bf16 -> fp32 (mma.cuh), head sizes 64 and 128, the same semantics and
// tensors as attention_f32 (olmo/ops/attention.h: fp32 q [B,T,NH,HS], k/v [B,Tk,NKV,HS], out, lse
// [B,NH,T], GQA, KV-cache offset Tk - T, causal or not, documents via doc_start).
//
// Numerics (what torch's bf16 SDPA does under autocast): q, k, v, dout are rounded to bf16 when a
// tile is copied to shared memory; every matrix product accumulates in fp32; softmax statistics
// (running max, row sum, lse, D = rowsum(dO o O)) are fp32; the probabilities P (and in backward dS)
// are rounded to bf16 only as the A operand of the next product (the row sum uses fp32 P).
//
// Tiles: 64 query rows x 64 keys, 128 threads = 4 warps; a warp owns 16 rows (forward, dq) or 16 keys
// (dk/dv) -- one m16 mma row block -- so softmax rows never leave a warp: a row lives in the 4 lanes
// of a quad (g = lane/4), reduced with two xor-shuffles. Shared tiles are bf16 [64][D + 8] (row pitch
// 16-byte aligned for ldmatrix, consecutive rows 16 bytes apart in the bank space).
//   S  = Q K^T   A: Q rows (ldmatrix.x4), B: K as stored [key][d] = [n][k] (ldmatrix.x4)
//   O += P V     A: P from the S accumulators (C layout -> A layout in registers), B: V [key][d] = [k][n]
//                (ldmatrix.x4.trans)
// Forward (attn_bf16_fwd_k), grid (T/64, NH, B): online softmax over key tiles; causal blocks stop at
//   the last key their last query sees and start at the first key tile of their first document.
// Backward, deterministic (no atomics), three kernels:
//   attn_bf16_drow_k: D = rowsum(dO o O) (fp32) into a scratch [B,NH,T].
//   attn_bf16_dq_k, grid (T/64, NH, B): per key tile P = exp(scale S - lse), dP = dO V^T,
//     dS = P o (dP - D), dQ += dS K; dq = scale dQ WRITTEN.
//   attn_bf16_dkdv_k, grid (Tk/64, NKV, B): the transposed products per key tile, looping over the
//     query heads of the kv group and the query tiles that can see the keys: S^T = K Q^T,
//     P^T, dP^T = V dO^T, dS^T = P^T o (dP^T - D), dV += P^T dO, dK += dS^T Q (group sum in registers);
//     dk = scale dK, dv WRITTEN.
#include <algorithm>
#include <cstdlib>

#include "common.cuh"
#include "mma.cuh"
#include "olmo/ops/attention.h"

namespace olmo::cuda {

namespace {
constexpr int TB = 64, NTH = 128;  // tile rows (queries or keys), threads
using bf16 = __nv_bfloat16;

__device__ __forceinline__ bf16 to_bf16(float x) { return __float2bfloat16_rn(x); }
__device__ __forceinline__ bf16 to_bf16(bf16 x) { return x; }

// fp32 or bf16 rows (row r at src + r * rs, r < nrows) -> bf16 tile [TB][D + 8], zero-filled past
// nrows. fp32 rows are rounded here; bf16 rows (amp_bf16 activation storage) are copied as they are.
template <int D, class In>
__device__ void load_tile(bf16* dst, const In* __restrict__ src, int64_t rs, int nrows) {
  constexpr int P = D + 8;
  for (int idx = threadIdx.x; idx < TB * D; idx += NTH) {
    const int r = idx / D, d = idx % D;
    dst[r * P + d] = r < nrows ? to_bf16(src[r * rs + d]) : to_bf16(0.f);
  }
}

// s[j] (j < 8: the 8 n-tiles of 64 columns) = A[16 rows of `a` from row0] . B^T, where B is a
// [64][D] tile stored [n][k] (k = head dim contiguous): the QK^T-shaped product.
template <int D>
__device__ __forceinline__ void mma_abt(float s[8][4], const bf16* a, int row0, const bf16* b) {
  constexpr int P = D + 8;
  const int lane = threadIdx.x & 31;
#pragma unroll
  for (int j = 0; j < 8; ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e) s[j][e] = 0.f;
#pragma unroll
  for (int ks = 0; ks < D; ks += 16) {
    uint32_t af[4];
    ldmatrix_x4(af, a + (row0 + (lane & 15)) * P + ks + 8 * (lane >> 4));
#pragma unroll
    for (int j = 0; j < 8; j += 2) {
      uint32_t r[4];
      ldmatrix_x4(r, b + ((j + (lane >> 4)) * 8 + (lane & 7)) * P + ks + 8 * ((lane >> 3) & 1));
      const uint32_t b0[2] = {r[0], r[1]}, b1[2] = {r[2], r[3]};
      mma_bf16_16816(s[j], af, b0, s[j]);
      mma_bf16_16816(s[j + 1], af, b1, s[j + 1]);
    }
  }
}

// o[D/8 n-tiles] += bf16(p)[16 x 64] . B, where p holds the 16 x 64 values in the C layout of mma_abt
// and B is a [64][D] tile stored [k][n] (n = head dim contiguous): the PV-shaped product.
template <int D>
__device__ __forceinline__ void mma_pb(float o[D / 8][4], const float p[8][4], const bf16* b) {
  constexpr int P = D + 8;
  const int lane = threadIdx.x & 31;
#pragma unroll
  for (int kk = 0; kk < 4; ++kk) {
    // C fragments of n-tiles 2kk, 2kk+1 are exactly the A fragment of k-chunk kk.
    const uint32_t af[4] = {pack_bf16x2(p[2 * kk][0], p[2 * kk][1]), pack_bf16x2(p[2 * kk][2], p[2 * kk][3]),
                            pack_bf16x2(p[2 * kk + 1][0], p[2 * kk + 1][1]), pack_bf16x2(p[2 * kk + 1][2], p[2 * kk + 1][3])};
#pragma unroll
    for (int dn = 0; dn < D / 8; dn += 2) {
      uint32_t r[4];
      ldmatrix_x4_trans(r, b + (kk * 16 + (lane & 7) + 8 * ((lane >> 3) & 1)) * P + (dn + (lane >> 4)) * 8);
      const uint32_t b0[2] = {r[0], r[1]}, b1[2] = {r[2], r[3]};
      mma_bf16_16816(o[dn], af, b0, o[dn]);
      mma_bf16_16816(o[dn + 1], af, b1, o[dn + 1]);
    }
  }
}

__device__ __forceinline__ float quad_max(float v) {
  v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
  return fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
}
__device__ __forceinline__ float quad_sum(float v) {
  v += __shfl_xor_sync(0xffffffffu, v, 1);
  return v + __shfl_xor_sync(0xffffffffu, v, 2);
}

// Can query row i (absolute position off + i, document start lo) see key j?
__device__ __forceinline__ bool visible(int i, int j, int T, int Tk, int off, bool causal, int lo) {
  return i < T && j < Tk && (!causal || j <= off + i) && j >= lo;
}

// First key tile any query row of [i0, i1) can see (documents only restrict causal attention).
__device__ int first_key_tile(const int* __restrict__ ds, int64_t b, int Tk, int off, int i0, int i1) {
  if (!ds) return 0;
  int lo = 1 << 30;
  for (int i = i0; i < i1; ++i) lo = min(lo, ds[b * Tk + off + i]);
  return lo / TB * TB;
}

// ---------------------------------------------------------------------------------------------
template <int D, class In>
__global__ void __launch_bounds__(NTH) attn_bf16_fwd_k(const In* __restrict__ q, const In* __restrict__ k,
                                                       const In* __restrict__ v, float* __restrict__ out,
                                                       float* __restrict__ lse, int T, int Tk, int NH, int NKV, float scale,
                                                       bool causal, const int* __restrict__ doc_start) {
  constexpr int P = D + 8;
  extern __shared__ float sm[];
  bf16* Qs = reinterpret_cast<bf16*>(sm);
  bf16* Ks = Qs + TB * P;
  bf16* Vs = Ks + TB * P;
  const int b = blockIdx.z, h = blockIdx.y, i0 = blockIdx.x * TB, kvh = h / (NH / NKV);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const int off = Tk - T;
  const int64_t qrs = int64_t(NH) * D, krs = int64_t(NKV) * D;
  load_tile<D>(Qs, q + ((int64_t(b) * T + i0) * NH + h) * D, qrs, min(TB, T - i0));
  int row[2], lo[2];
  float m[2], l[2], o[D / 8][4];
#pragma unroll
  for (int hr = 0; hr < 2; ++hr) {
    row[hr] = i0 + warp * 16 + g + 8 * hr;
    lo[hr] = doc_start && row[hr] < T ? doc_start[int64_t(b) * Tk + off + row[hr]] : 0;
    m[hr] = -INFINITY;
    l[hr] = 0.f;
  }
#pragma unroll
  for (int j = 0; j < D / 8; ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e) o[j][e] = 0.f;
  const int i1 = min(i0 + TB, T);
  const int kend = causal ? min(Tk, off + i1) : Tk;
  const int kbeg = causal ? first_key_tile(doc_start, b, Tk, off, i0, i1) : 0;
  for (int j0 = kbeg; j0 < kend; j0 += TB) {
    __syncthreads();  // previous K/V tile consumed (and Q tile written, first time)
    const int nk = min(TB, Tk - j0);
    load_tile<D>(Ks, k + ((int64_t(b) * Tk + j0) * NKV + kvh) * D, krs, nk);
    load_tile<D>(Vs, v + ((int64_t(b) * Tk + j0) * NKV + kvh) * D, krs, nk);
    __syncthreads();
    float s[8][4];
    mma_abt<D>(s, Qs, warp * 16, Ks);
    float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int j = 0; j < 8; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int hr = e >> 1, key = j0 + j * 8 + 2 * t + (e & 1);
        s[j][e] = visible(row[hr], key, T, Tk, off, causal, lo[hr]) ? s[j][e] * scale : -INFINITY;
        mx[hr] = fmaxf(mx[hr], s[j][e]);
      }
    float alpha[2], base[2], rs[2] = {0.f, 0.f};
#pragma unroll
    for (int hr = 0; hr < 2; ++hr) {
      const float mn = fmaxf(m[hr], quad_max(mx[hr]));
      base[hr] = mn == -INFINITY ? 0.f : mn;  // a row with nothing visible yet: keep exp() finite
      alpha[hr] = expf(m[hr] - base[hr]);
      m[hr] = mn;
    }
#pragma unroll
    for (int j = 0; j < 8; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        s[j][e] = expf(s[j][e] - base[e >> 1]);
        rs[e >> 1] += s[j][e];
      }
#pragma unroll
    for (int hr = 0; hr < 2; ++hr) l[hr] = l[hr] * alpha[hr] + quad_sum(rs[hr]);
#pragma unroll
    for (int j = 0; j < D / 8; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) o[j][e] *= alpha[e >> 1];
    mma_pb<D>(o, s, Vs);
  }
#pragma unroll
  for (int hr = 0; hr < 2; ++hr) {
    if (row[hr] >= T) continue;
    const float inv = l[hr] > 0.f ? 1.f / l[hr] : 0.f;
    float* orow = out + ((int64_t(b) * T + row[hr]) * NH + h) * D;
#pragma unroll
    for (int j = 0; j < D / 8; ++j) {
      orow[j * 8 + 2 * t] = o[j][2 * hr] * inv;
      orow[j * 8 + 2 * t + 1] = o[j][2 * hr + 1] * inv;
    }
    if (t == 0) lse[(int64_t(b) * NH + h) * T + row[hr]] = l[hr] > 0.f ? m[hr] + logf(l[hr]) : -INFINITY;
  }
}


// ---------------------------------------------------------------------------------------------
// Backward. D = rowsum(bf16(dO) o O): dO rounded as the dP product sees it, so that dP - D cancels
// exactly where it should (rowsum(P o dP) = D up to fp32 rounding).
template <int D>
__global__ void __launch_bounds__(NTH) attn_bf16_drow_k(const float* __restrict__ out, const float* __restrict__ dout,
                                                        float* __restrict__ Dbuf, int64_t rows, int T, int NH) {
  const int64_t idx = int64_t(blockIdx.x) * (NTH / 32) + (threadIdx.x >> 5);
  if (idx >= rows) return;  // whole warps leave together (no block barrier in this kernel)
  const int lane = threadIdx.x & 31;
  const int64_t b = idx / (int64_t(NH) * T), h = (idx / T) % NH, i = idx % T;
  const int64_t base = ((b * T + i) * NH + h) * D;
  float acc = 0.f;
  for (int d = lane; d < D; d += 32) acc += __bfloat162float(__float2bfloat16_rn(dout[base + d])) * out[base + d];
  acc = warp_sum(acc);
  if (lane == 0) Dbuf[idx] = acc;  // idx = (b * NH + h) * T + i
}

template <int D, class In>
__global__ void __launch_bounds__(NTH) attn_bf16_dq_k(const In* __restrict__ q, const In* __restrict__ k,
                                                      const In* __restrict__ v, const float* __restrict__ lse,
                                                      const float* __restrict__ dout, const float* __restrict__ Dbuf,
                                                      float* __restrict__ dq, int T, int Tk, int NH, int NKV, float scale,
                                                      bool causal, const int* __restrict__ doc_start) {
  constexpr int P = D + 8;
  extern __shared__ float sm[];
  bf16* Qs = reinterpret_cast<bf16*>(sm);
  bf16* dOs = Qs + TB * P;
  bf16* Ks = dOs + TB * P;
  bf16* Vs = Ks + TB * P;
  const int b = blockIdx.z, h = blockIdx.y, i0 = blockIdx.x * TB, kvh = h / (NH / NKV);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const int off = Tk - T;
  const int64_t qrs = int64_t(NH) * D, krs = int64_t(NKV) * D;
  load_tile<D>(Qs, q + ((int64_t(b) * T + i0) * NH + h) * D, qrs, min(TB, T - i0));
  load_tile<D>(dOs, dout + ((int64_t(b) * T + i0) * NH + h) * D, qrs, min(TB, T - i0));
  int row[2], lo[2];
  float L[2], Dr[2], acc[D / 8][4];
#pragma unroll
  for (int hr = 0; hr < 2; ++hr) {
    row[hr] = i0 + warp * 16 + g + 8 * hr;
    const bool in = row[hr] < T;
    lo[hr] = doc_start && in ? doc_start[int64_t(b) * Tk + off + row[hr]] : 0;
    L[hr] = in ? lse[(int64_t(b) * NH + h) * T + row[hr]] : 0.f;
    Dr[hr] = in ? Dbuf[(int64_t(b) * NH + h) * T + row[hr]] : 0.f;
  }
#pragma unroll
  for (int j = 0; j < D / 8; ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e) acc[j][e] = 0.f;
  const int i1 = min(i0 + TB, T);
  const int kend = causal ? min(Tk, off + i1) : Tk;
  const int kbeg = causal ? first_key_tile(doc_start, b, Tk, off, i0, i1) : 0;
  for (int j0 = kbeg; j0 < kend; j0 += TB) {
    __syncthreads();
    const int nk = min(TB, Tk - j0);
    load_tile<D>(Ks, k + ((int64_t(b) * Tk + j0) * NKV + kvh) * D, krs, nk);
    load_tile<D>(Vs, v + ((int64_t(b) * Tk + j0) * NKV + kvh) * D, krs, nk);
    __syncthreads();
    float s[8][4], dp[8][4];
    mma_abt<D>(s, Qs, warp * 16, Ks);
    mma_abt<D>(dp, dOs, warp * 16, Vs);
#pragma unroll
    for (int j = 0; j < 8; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int hr = e >> 1, key = j0 + j * 8 + 2 * t + (e & 1);
        const float p = visible(row[hr], key, T, Tk, off, causal, lo[hr]) ? expf(s[j][e] * scale - L[hr]) : 0.f;
        s[j][e] = p * (dp[j][e] - Dr[hr]);  // dS
      }
    mma_pb<D>(acc, s, Ks);
  }
#pragma unroll
  for (int hr = 0; hr < 2; ++hr) {
    if (row[hr] >= T) continue;
    float* o = dq + ((int64_t(b) * T + row[hr]) * NH + h) * D;
#pragma unroll
    for (int j = 0; j < D / 8; ++j) {
      o[j * 8 + 2 * t] = acc[j][2 * hr] * scale;
      o[j * 8 + 2 * t + 1] = acc[j][2 * hr + 1] * scale;
    }
  }
}

template <int D, class In>
__global__ void __launch_bounds__(NTH) attn_bf16_dkdv_k(const In* __restrict__ q, const In* __restrict__ k,
                                                        const In* __restrict__ v, const float* __restrict__ lse,
                                                        const float* __restrict__ dout, const float* __restrict__ Dbuf,
                                                        float* __restrict__ dk, float* __restrict__ dv, int T, int Tk, int NH,
                                                        int NKV, float scale, bool causal, const int* __restrict__ doc_start) {
  constexpr int P = D + 8;
  extern __shared__ float sm[];
  bf16* Ks = reinterpret_cast<bf16*>(sm);
  bf16* Vs = Ks + TB * P;
  bf16* Qs = Vs + TB * P;
  bf16* dOs = Qs + TB * P;
  float* Ls = reinterpret_cast<float*>(dOs + TB * P);  // per query row of the tile: lse, D, document start
  float* Ds = Ls + TB;
  int* los = reinterpret_cast<int*>(Ds + TB);
  const int b = blockIdx.z, kvh = blockIdx.y, j0 = blockIdx.x * TB, group = NH / NKV;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const int off = Tk - T;
  const int64_t qrs = int64_t(NH) * D, krs = int64_t(NKV) * D;
  load_tile<D>(Ks, k + ((int64_t(b) * Tk + j0) * NKV + kvh) * D, krs, min(TB, Tk - j0));
  load_tile<D>(Vs, v + ((int64_t(b) * Tk + j0) * NKV + kvh) * D, krs, min(TB, Tk - j0));
  int key[2];
#pragma unroll
  for (int hr = 0; hr < 2; ++hr) key[hr] = j0 + warp * 16 + g + 8 * hr;
  float dka[D / 8][4], dva[D / 8][4];
#pragma unroll
  for (int j = 0; j < D / 8; ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e) dka[j][e] = dva[j][e] = 0.f;
  // Causal: query i sees key j only when off + i >= j, so the first useful query tile holds j0 - off.
  const int qbeg = causal ? max(0, j0 - off) / TB * TB : 0;
  for (int h = kvh * group; h < (kvh + 1) * group; ++h)
    for (int i0 = qbeg; i0 < T; i0 += TB) {
      __syncthreads();  // previous query tile consumed (K/V written, first time)
      load_tile<D>(Qs, q + ((int64_t(b) * T + i0) * NH + h) * D, qrs, min(TB, T - i0));
      load_tile<D>(dOs, dout + ((int64_t(b) * T + i0) * NH + h) * D, qrs, min(TB, T - i0));
      for (int r = threadIdx.x; r < TB; r += NTH) {
        const int i = i0 + r;
        const bool in = i < T;
        Ls[r] = in ? lse[(int64_t(b) * NH + h) * T + i] : 0.f;
        Ds[r] = in ? Dbuf[(int64_t(b) * NH + h) * T + i] : 0.f;
        los[r] = doc_start && in ? doc_start[int64_t(b) * Tk + off + i] : 0;
      }
      __syncthreads();
      float st[8][4], dpt[8][4];  // S^T and dP^T: rows = this warp's 16 keys, columns = the 64 queries
      mma_abt<D>(st, Ks, warp * 16, Qs);
      mma_abt<D>(dpt, Vs, warp * 16, dOs);
#pragma unroll
      for (int j = 0; j < 8; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int c = j * 8 + 2 * t + (e & 1), kj = key[e >> 1];
          const float p = visible(i0 + c, kj, T, Tk, off, causal, los[c]) ? expf(st[j][e] * scale - Ls[c]) : 0.f;
          st[j][e] = p;
          dpt[j][e] = p * (dpt[j][e] - Ds[c]);  // dS^T
        }
      mma_pb<D>(dva, st, dOs);
      mma_pb<D>(dka, dpt, Qs);
    }
#pragma unroll
  for (int hr = 0; hr < 2; ++hr) {
    if (key[hr] >= Tk) continue;
    const int64_t base = ((int64_t(b) * Tk + key[hr]) * NKV + kvh) * D;
#pragma unroll
    for (int j = 0; j < D / 8; ++j) {
      dk[base + j * 8 + 2 * t] = dka[j][2 * hr] * scale;
      dk[base + j * 8 + 2 * t + 1] = dka[j][2 * hr + 1] * scale;
      dv[base + j * 8 + 2 * t] = dva[j][2 * hr];
      dv[base + j * 8 + 2 * t + 1] = dva[j][2 * hr + 1];
    }
  }
}

size_t tiles_smem(int D, int ntiles) { return sizeof(bf16) * size_t(ntiles) * TB * (D + 8); }

template <class K>
void set_smem(K kernel, size_t bytes, const char* what) {
  cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes));
  OLMO_CHECK(e == cudaSuccess, "CUDA_ERROR", what << ": " << bytes << " bytes of shared memory: " << cudaGetErrorString(e), "");
}

template <int D, class In>
void fwd(const In* q, const In* k, const In* v, float* out, float* lse, int B, int T, int Tk, int NH, int NKV, float scale,
         bool causal, const int* doc_start) {
  const size_t sm = tiles_smem(D, 3);
  set_smem(attn_bf16_fwd_k<D, In>, sm, "attention_fwd_bf16");
  attn_bf16_fwd_k<D, In><<<dim3((T + TB - 1) / TB, NH, B), NTH, sm>>>(q, k, v, out, lse, T, Tk, NH, NKV, scale, causal, doc_start);
  OLMO_CUDA_LAUNCH_CHECK("attention_fwd_bf16");
}

template <int D, class In>
void bwd(const In* q, const In* k, const In* v, const float* out, const float* lse, const float* dout, float* dq, float* dk,
         float* dv, float* Dbuf, int B, int T, int Tk, int NH, int NKV, float scale, bool causal, const int* doc_start) {
  const int64_t rows = int64_t(B) * NH * T;
  attn_bf16_drow_k<D><<<unsigned((rows + NTH / 32 - 1) / (NTH / 32)), NTH>>>(out, dout, Dbuf, rows, T, NH);
  OLMO_CUDA_LAUNCH_CHECK("attention_bwd_bf16 (D)");
  const size_t s1 = tiles_smem(D, 4), s2 = tiles_smem(D, 4) + 3 * sizeof(float) * TB;
  set_smem(attn_bf16_dq_k<D, In>, s1, "attention_bwd_bf16 (dq)");
  set_smem(attn_bf16_dkdv_k<D, In>, s2, "attention_bwd_bf16 (dk/dv)");
  attn_bf16_dq_k<D, In><<<dim3((T + TB - 1) / TB, NH, B), NTH, s1>>>(q, k, v, lse, dout, Dbuf, dq, T, Tk, NH, NKV, scale, causal, doc_start);
  OLMO_CUDA_LAUNCH_CHECK("attention_bwd_bf16 (dq)");
  attn_bf16_dkdv_k<D, In><<<dim3((Tk + TB - 1) / TB, NKV, B), NTH, s2>>>(q, k, v, lse, dout, Dbuf, dk, dv, T, Tk, NH, NKV, scale, causal,
                                                                     doc_start);
  OLMO_CUDA_LAUNCH_CHECK("attention_bwd_bf16 (dk/dv)");
}
}  // namespace

static bool attention_bf16_enabled() {
  const char* e = std::getenv("OLMO_CUDA_FLASH_BF16");
  return !(e && e[0] == '0');
}

namespace {
template <class In>
bool fwd_entry(int dev, const In* q, const In* k, const In* v, float* out, float* lse, int64_t B, int64_t T,
               int64_t Tk, int64_t NH, int64_t NKV, int64_t HS, float scale, bool causal, const int32_t* doc_start) {
  if ((HS != 64 && HS != 128) || !attention_bf16_enabled()) return false;
  if (!has_mma(dev)) return false;
  if (B <= 0 || T <= 0 || NH <= 0) return true;
  OLMO_CHECK(NKV > 0 && NH % NKV == 0, "SHAPE_MISMATCH", "attention: NH " << NH << " is not a multiple of NKV " << NKV, "");
  OLMO_CHECK(!causal || Tk >= T, "SHAPE_MISMATCH", "attention: causal with Tk " << Tk << " < T " << T, "");
  OLMO_CHECK(B < 65536 && NH < 65536 && T < (1LL << 30) && Tk < (1LL << 30), "SHAPE_MISMATCH",
             "attention (cuda): shape too large (B " << B << ", NH " << NH << ", T " << T << ", Tk " << Tk << ")", "");
  cudaSetDevice(dev);
  if (HS == 64) fwd<64>(q, k, v, out, lse, int(B), int(T), int(Tk), int(NH), int(NKV), scale, causal, doc_start);
  else fwd<128>(q, k, v, out, lse, int(B), int(T), int(Tk), int(NH), int(NKV), scale, causal, doc_start);
  return true;
}

template <class In>
bool bwd_entry(int dev, const In* q, const In* k, const In* v, const float* out, const float* lse, const float* dout,
               float* dq, float* dk, float* dv, int64_t B, int64_t T, int64_t Tk, int64_t NH, int64_t NKV, int64_t HS,
               float scale, bool causal, const int32_t* doc_start) {
  if ((HS != 64 && HS != 128) || !attention_bf16_enabled()) return false;
  if (!has_mma(dev)) return false;
  if (B <= 0 || NH <= 0 || Tk <= 0) return true;
  OLMO_CHECK(NKV > 0 && NH % NKV == 0, "SHAPE_MISMATCH", "attention: NH " << NH << " is not a multiple of NKV " << NKV, "");
  OLMO_CHECK(!causal || Tk >= T, "SHAPE_MISMATCH", "attention: causal with Tk " << Tk << " < T " << T, "");
  OLMO_CHECK(B < 65536 && NH < 65536 && T < (1LL << 30) && Tk < (1LL << 30), "SHAPE_MISMATCH",
             "attention (cuda): shape too large (B " << B << ", NH " << NH << ", T " << T << ", Tk " << Tk << ")", "");
  cudaSetDevice(dev);
  if (T <= 0) {  // no queries: dk = dv = 0
    cudaMemsetAsync(dk, 0, sizeof(float) * size_t(B * Tk * NKV * HS));
    cudaMemsetAsync(dv, 0, sizeof(float) * size_t(B * Tk * NKV * HS));
    OLMO_CUDA_LAUNCH_CHECK("attention_bwd_bf16");
    return true;
  }
  float* Dbuf = static_cast<float*>(scratch(dev, sizeof(float) * size_t(B * NH * T)));
  if (HS == 64) bwd<64>(q, k, v, out, lse, dout, dq, dk, dv, Dbuf, int(B), int(T), int(Tk), int(NH), int(NKV), scale, causal, doc_start);
  else bwd<128>(q, k, v, out, lse, dout, dq, dk, dv, Dbuf, int(B), int(T), int(Tk), int(NH), int(NKV), scale, causal, doc_start);
  return true;
}

const bf16* as_bf16(const uint16_t* p) { return reinterpret_cast<const bf16*>(p); }
}  // namespace

bool attention_fwd_bf16(int dev, const float* q, const float* k, const float* v, float* out, float* lse, int64_t B, int64_t T,
                        int64_t Tk, int64_t NH, int64_t NKV, int64_t HS, float scale, bool causal, const int32_t* doc_start) {
  return fwd_entry(dev, q, k, v, out, lse, B, T, Tk, NH, NKV, HS, scale, causal, doc_start);
}
bool attention_fwd_bf16in(int dev, const uint16_t* q, const uint16_t* k, const uint16_t* v, float* out, float* lse, int64_t B,
                          int64_t T, int64_t Tk, int64_t NH, int64_t NKV, int64_t HS, float scale, bool causal,
                          const int32_t* doc_start) {
  return fwd_entry(dev, as_bf16(q), as_bf16(k), as_bf16(v), out, lse, B, T, Tk, NH, NKV, HS, scale, causal, doc_start);
}
bool attention_bwd_bf16(int dev, const float* q, const float* k, const float* v, const float* out, const float* lse, const float* dout,
                        float* dq, float* dk, float* dv, int64_t B, int64_t T, int64_t Tk, int64_t NH, int64_t NKV, int64_t HS,
                        float scale, bool causal, const int32_t* doc_start) {
  return bwd_entry(dev, q, k, v, out, lse, dout, dq, dk, dv, B, T, Tk, NH, NKV, HS, scale, causal, doc_start);
}
bool attention_bwd_bf16in(int dev, const uint16_t* q, const uint16_t* k, const uint16_t* v, const float* out, const float* lse,
                          const float* dout, float* dq, float* dk, float* dv, int64_t B, int64_t T, int64_t Tk, int64_t NH,
                          int64_t NKV, int64_t HS, float scale, bool causal, const int32_t* doc_start) {
  return bwd_entry(dev, as_bf16(q), as_bf16(k), as_bf16(v), out, lse, dout, dq, dk, dv, B, T, Tk, NH, NKV, HS, scale, causal,
                   doc_start);
}

}  // namespace olmo::cuda
