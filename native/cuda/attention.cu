// attention on CUDA: fused flash-style attention, fp32, same semantics as native/cpu/attention.cc
// (see olmo/ops/attention.h: q [B,T,NH,HS], k/v [B,Tk,NKV,HS], out [B,T,NH,HS], lse [B,NH,T], GQA,
// KV-cache offset Tk - T, causal or not, documents via doc_start: a key j is masked for row i when
// j < doc_start[b, Tk - T + i]).
//
// Tiles: BQ = 32 query rows x BK = 32 keys, 128 threads = 4 warps, each warp owns 8 rows of the
// tile. The head dimension is padded to D in {32, 64, 128, 256} (template), lanes own the columns
// d = lane + 32c. Tiles live in dynamic shared memory; the operand read along "lane = row" is stored
// transposed with a +1 pitch so that every shared load is conflict-free or a broadcast; the
// broadcast operand (same row for all lanes) is read as float4 (4 head dims per load).
//
// Forward (attn_fwd_k): grid (T/BQ, NH, B). Per key tile: S = scale * Q K^T (lane = key), masked,
//   online softmax per row (warp max / warp sum, rescale of the running output), O += P V (P
//   broadcast with shuffles). Causal blocks stop at the last key their last query can see.
//   Writes out = O / l and lse = m + log(l).
// Backward, two kernels, no atomics (deterministic):
//   attn_bwd_dq_k: grid (T/BQ, NH, B). First Drow = rowsum(dO o O) per query (written to a scratch
//     [B,NH,T] for the second kernel), then per key tile P = exp(S - lse), dP = dO V^T,
//     dS = P o (dP - Drow), dQ += dS K; dQ = scale * dQ WRITTEN.
//   attn_bwd_dkdv_k: grid (Tk/BK, NKV, B). Each block owns the dk/dv rows of one key tile of one kv
//     head and loops over the query heads of the group and the query tiles that can see the tile:
//     dV += P^T dO, dK += dS^T Q (summed over the group in registers); dk = scale * dK, dv WRITTEN.
#include <algorithm>

#include "common.cuh"
#include "olmo/ops/attention.h"

namespace olmo::cuda {

namespace {
constexpr int BQ = 32, BK = 32, NT = 128, R = 8;  // R rows per warp: 4 warps x 8 = 32
constexpr unsigned FULL = 0xffffffffu;

// ---------------------------------------------------------------------------------------------
// Forward. smem: Qs [BQ][D] (broadcast reads), KsT [D][BK+1] (lane = key), Vs [BK][D] (lane = d).
template <int D>
__global__ void __launch_bounds__(NT) attn_fwd_k(const float* __restrict__ q, const float* __restrict__ k,
                                                 const float* __restrict__ v, float* __restrict__ out, float* __restrict__ lse,
                                                 int T, int Tk, int NH, int NKV, int HS, float scale, bool causal,
    const int* __restrict__ doc_start) {
  constexpr int C = D / 32;
  extern __shared__ float sm[];
  float* Qs = sm;
  float* KsT = Qs + BQ * D;
  float* Vs = KsT + D * (BK + 1);
  const int b = blockIdx.z, h = blockIdx.y, i0 = blockIdx.x * BQ;
  const int kvh = h / (NH / NKV);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int off = Tk - T;

  for (int idx = threadIdx.x; idx < BQ * D; idx += NT) {
    const int r = idx / D, d = idx % D, i = i0 + r;
    Qs[idx] = (i < T && d < HS) ? q[((int64_t(b) * T + i) * NH + h) * HS + d] : 0.f;
  }
  float o[R][C], m[R], l[R];
  int lo[R];  // first key of each row's document (0 without documents)
#pragma unroll
  for (int r = 0; r < R; ++r) {
    const int i = i0 + warp * R + r;
    lo[r] = doc_start && i < T ? doc_start[int64_t(b) * Tk + off + i] : 0;
    m[r] = -INFINITY;
    l[r] = 0.f;
#pragma unroll
    for (int c = 0; c < C; ++c) o[r][c] = 0.f;
  }
  const int last_q = min(i0 + BQ, T) - 1;
  const int kend = causal ? min(Tk, off + last_q + 1) : Tk;
  for (int j0 = 0; j0 < kend; j0 += BK) {
    __syncthreads();  // previous tile fully consumed
    for (int idx = threadIdx.x; idx < BK * D; idx += NT) {
      const int jj = idx / D, d = idx % D, j = j0 + jj;
      const bool ok = j < Tk && d < HS;
      const int64_t g = ((int64_t(b) * Tk + j) * NKV + kvh) * HS + d;
      KsT[d * (BK + 1) + jj] = ok ? k[g] : 0.f;
      Vs[idx] = ok ? v[g] : 0.f;
    }
    __syncthreads();
    float s[R];
#pragma unroll
    for (int r = 0; r < R; ++r) s[r] = 0.f;
#pragma unroll 2
    for (int d = 0; d < D; d += 4) {
      const float k0 = KsT[d * (BK + 1) + lane], k1 = KsT[(d + 1) * (BK + 1) + lane];
      const float k2 = KsT[(d + 2) * (BK + 1) + lane], k3 = KsT[(d + 3) * (BK + 1) + lane];
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const float4 qv = *reinterpret_cast<const float4*>(Qs + (warp * R + r) * D + d);  // broadcast
        s[r] = fmaf(qv.x, k0, fmaf(qv.y, k1, fmaf(qv.z, k2, fmaf(qv.w, k3, s[r]))));
      }
    }
    const int j = j0 + lane;
#pragma unroll
    for (int r = 0; r < R; ++r) {
      const int i = i0 + warp * R + r;
      const bool ok = j < Tk && (!causal || j <= off + i) && j >= lo[r];
      const float sv = ok ? s[r] * scale : -INFINITY;
      const float mn = fmaxf(m[r], warp_max(sv));
      const float p = mn == -INFINITY ? 0.f : expf(sv - mn);
      const float alpha = m[r] == -INFINITY ? 0.f : expf(m[r] - mn);
      l[r] = l[r] * alpha + warp_sum(p);
      m[r] = mn;
#pragma unroll
      for (int c = 0; c < C; ++c) o[r][c] *= alpha;
      s[r] = p;
    }
#pragma unroll 4
    for (int jj = 0; jj < BK; ++jj) {
      float vv[C];
#pragma unroll
      for (int c = 0; c < C; ++c) vv[c] = Vs[jj * D + lane + 32 * c];
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const float pj = __shfl_sync(FULL, s[r], jj);
#pragma unroll
        for (int c = 0; c < C; ++c) o[r][c] += pj * vv[c];
      }
    }
  }
#pragma unroll
  for (int r = 0; r < R; ++r) {
    const int i = i0 + warp * R + r;
    if (i >= T) continue;
    const float inv = l[r] > 0.f ? 1.f / l[r] : 0.f;
    float* orow = out + ((int64_t(b) * T + i) * NH + h) * HS;
#pragma unroll
    for (int c = 0; c < C; ++c) {
      const int d = lane + 32 * c;
      if (d < HS) orow[d] = o[r][c] * inv;
    }
    if (lane == 0) lse[(int64_t(b) * NH + h) * T + i] = m[r] + logf(l[r]);
  }
}

// ---------------------------------------------------------------------------------------------
// Backward, dQ (and Drow). smem: Qs, dOs [BQ][D] (broadcast), KsT, VsT [D][BK+1] (lane = key for
// S / dP; lane = d for the dQ update reads KsT[d][j], conflict-free with the +1 pitch).
template <int D>
__global__ void __launch_bounds__(NT) attn_bwd_dq_k(const float* __restrict__ q, const float* __restrict__ k,
                                                    const float* __restrict__ v, const float* __restrict__ out,
                                                    const float* __restrict__ lse, const float* __restrict__ dout,
                                                    float* __restrict__ dq, float* __restrict__ Dbuf,
                                                    int T, int Tk, int NH, int NKV, int HS, float scale, bool causal,
    const int* __restrict__ doc_start) {
  constexpr int C = D / 32;
  extern __shared__ float sm[];
  float* Qs = sm;
  float* dOs = Qs + BQ * D;
  float* KsT = dOs + BQ * D;
  float* VsT = KsT + D * (BK + 1);
  const int b = blockIdx.z, h = blockIdx.y, i0 = blockIdx.x * BQ;
  const int kvh = h / (NH / NKV);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int off = Tk - T;

  for (int idx = threadIdx.x; idx < BQ * D; idx += NT) {
    const int r = idx / D, d = idx % D, i = i0 + r;
    const bool ok = i < T && d < HS;
    const int64_t g = ((int64_t(b) * T + i) * NH + h) * HS + d;
    Qs[idx] = ok ? q[g] : 0.f;
    dOs[idx] = ok ? dout[g] : 0.f;
  }
  // Drow = sum_d dO * O, per row; lse per row.
  float Dr[R], L[R], acc[R][C];
  int lo[R];
#pragma unroll
  for (int r = 0; r < R; ++r) {
    const int i = i0 + warp * R + r;
    lo[r] = doc_start && i < T ? doc_start[int64_t(b) * Tk + off + i] : 0;
    float sdot = 0.f;
    if (i < T) {
      const int64_t base = ((int64_t(b) * T + i) * NH + h) * HS;
      for (int d = lane; d < HS; d += 32) sdot += dout[base + d] * out[base + d];
    }
    Dr[r] = warp_sum(sdot);
    L[r] = i < T ? lse[(int64_t(b) * NH + h) * T + i] : 0.f;
    if (i < T && lane == 0) Dbuf[(int64_t(b) * NH + h) * T + i] = Dr[r];
#pragma unroll
    for (int c = 0; c < C; ++c) acc[r][c] = 0.f;
  }
  const int last_q = min(i0 + BQ, T) - 1;
  const int kend = causal ? min(Tk, off + last_q + 1) : Tk;
  for (int j0 = 0; j0 < kend; j0 += BK) {
    __syncthreads();
    for (int idx = threadIdx.x; idx < BK * D; idx += NT) {
      const int jj = idx / D, d = idx % D, j = j0 + jj;
      const bool ok = j < Tk && d < HS;
      const int64_t g = ((int64_t(b) * Tk + j) * NKV + kvh) * HS + d;
      KsT[d * (BK + 1) + jj] = ok ? k[g] : 0.f;
      VsT[d * (BK + 1) + jj] = ok ? v[g] : 0.f;
    }
    __syncthreads();
    float s[R], dp[R];
#pragma unroll
    for (int r = 0; r < R; ++r) s[r] = dp[r] = 0.f;
#pragma unroll 2
    for (int d = 0; d < D; d += 4) {
      float kd[4], vd[4];
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        kd[e] = KsT[(d + e) * (BK + 1) + lane];
        vd[e] = VsT[(d + e) * (BK + 1) + lane];
      }
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const float4 qv = *reinterpret_cast<const float4*>(Qs + (warp * R + r) * D + d);   // broadcast
        const float4 gv = *reinterpret_cast<const float4*>(dOs + (warp * R + r) * D + d);  // broadcast
        s[r] = fmaf(qv.x, kd[0], fmaf(qv.y, kd[1], fmaf(qv.z, kd[2], fmaf(qv.w, kd[3], s[r]))));
        dp[r] = fmaf(gv.x, vd[0], fmaf(gv.y, vd[1], fmaf(gv.z, vd[2], fmaf(gv.w, vd[3], dp[r]))));
      }
    }
    const int j = j0 + lane;
#pragma unroll
    for (int r = 0; r < R; ++r) {
      const int i = i0 + warp * R + r;
      const bool ok = i < T && j < Tk && (!causal || j <= off + i) && j >= lo[r];
      const float p = ok ? expf(s[r] * scale - L[r]) : 0.f;
      s[r] = p * (dp[r] - Dr[r]);  // dS
    }
#pragma unroll 4
    for (int jj = 0; jj < BK; ++jj) {
      float kk[C];
#pragma unroll
      for (int c = 0; c < C; ++c) kk[c] = KsT[(lane + 32 * c) * (BK + 1) + jj];
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const float ds = __shfl_sync(FULL, s[r], jj);
#pragma unroll
        for (int c = 0; c < C; ++c) acc[r][c] += ds * kk[c];
      }
    }
  }
#pragma unroll
  for (int r = 0; r < R; ++r) {
    const int i = i0 + warp * R + r;
    if (i >= T) continue;
    float* row = dq + ((int64_t(b) * T + i) * NH + h) * HS;
#pragma unroll
    for (int c = 0; c < C; ++c) {
      const int d = lane + 32 * c;
      if (d < HS) row[d] = acc[r][c] * scale;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Backward, dK / dV. smem: Ks, Vs [BK][D] (broadcast reads by key row), QsT, dOsT [D][BQ+1]
// (lane = query for S / dP; lane = d for the accumulation), lse / Drow of the query tile.
template <int D>
__global__ void __launch_bounds__(NT) attn_bwd_dkdv_k(const float* __restrict__ q, const float* __restrict__ k,
                                                      const float* __restrict__ v, const float* __restrict__ lse,
                                                      const float* __restrict__ dout, const float* __restrict__ Dbuf,
                                                      float* __restrict__ dk, float* __restrict__ dv,
                                                      int T, int Tk, int NH, int NKV, int HS, float scale, bool causal,
    const int* __restrict__ doc_start) {
  constexpr int C = D / 32;
  extern __shared__ float sm[];
  float* Ks = sm;
  float* Vs = Ks + BK * D;
  float* QsT = Vs + BK * D;
  float* dOsT = QsT + D * (BQ + 1);
  float* Ls = dOsT + D * (BQ + 1);
  float* Ds = Ls + BQ;
  const int b = blockIdx.z, kvh = blockIdx.y, j0 = blockIdx.x * BK;
  const int G = NH / NKV;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int off = Tk - T;

  for (int idx = threadIdx.x; idx < BK * D; idx += NT) {
    const int jj = idx / D, d = idx % D, j = j0 + jj;
    const bool ok = j < Tk && d < HS;
    const int64_t g = ((int64_t(b) * Tk + j) * NKV + kvh) * HS + d;
    Ks[idx] = ok ? k[g] : 0.f;
    Vs[idx] = ok ? v[g] : 0.f;
  }
  float dka[R][C], dva[R][C];
#pragma unroll
  for (int r = 0; r < R; ++r)
#pragma unroll
    for (int c = 0; c < C; ++c) dka[r][c] = dva[r][c] = 0.f;

  // First query that can see key j0 (causal): i >= j0 - off.
  const int qstart = causal ? max(0, j0 - off) / BQ * BQ : 0;
  for (int gi = 0; gi < G; ++gi) {
    const int h = kvh * G + gi;
    for (int i0 = qstart; i0 < T; i0 += BQ) {
      __syncthreads();  // previous tile consumed (and K/V loaded on the first pass)
      for (int idx = threadIdx.x; idx < BQ * D; idx += NT) {
        const int r = idx / D, d = idx % D, i = i0 + r;
        const bool ok = i < T && d < HS;
        const int64_t g = ((int64_t(b) * T + i) * NH + h) * HS + d;
        QsT[d * (BQ + 1) + r] = ok ? q[g] : 0.f;
        dOsT[d * (BQ + 1) + r] = ok ? dout[g] : 0.f;
      }
      if (threadIdx.x < BQ) {
        const int i = i0 + threadIdx.x;
        Ls[threadIdx.x] = i < T ? lse[(int64_t(b) * NH + h) * T + i] : 0.f;
        Ds[threadIdx.x] = i < T ? Dbuf[(int64_t(b) * NH + h) * T + i] : 0.f;
      }
      __syncthreads();
      float s[R], dp[R];
#pragma unroll
      for (int r = 0; r < R; ++r) s[r] = dp[r] = 0.f;
#pragma unroll 2
      for (int d = 0; d < D; d += 4) {
        float qd[4], gd[4];
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          qd[e] = QsT[(d + e) * (BQ + 1) + lane];
          gd[e] = dOsT[(d + e) * (BQ + 1) + lane];
        }
#pragma unroll
        for (int r = 0; r < R; ++r) {
          const float4 kv = *reinterpret_cast<const float4*>(Ks + (warp * R + r) * D + d);  // broadcast
          const float4 vv = *reinterpret_cast<const float4*>(Vs + (warp * R + r) * D + d);  // broadcast
          s[r] = fmaf(kv.x, qd[0], fmaf(kv.y, qd[1], fmaf(kv.z, qd[2], fmaf(kv.w, qd[3], s[r]))));
          dp[r] = fmaf(vv.x, gd[0], fmaf(vv.y, gd[1], fmaf(vv.z, gd[2], fmaf(vv.w, gd[3], dp[r]))));
        }
      }
      const int i = i0 + lane;
      const float Li = Ls[lane], Di = Ds[lane];
      const int lo = doc_start && i < T ? doc_start[int64_t(b) * Tk + off + i] : 0;
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const int j = j0 + warp * R + r;
        const bool ok = i < T && j < Tk && (!causal || j <= off + i) && j >= lo;
        const float p = ok ? expf(s[r] * scale - Li) : 0.f;
        s[r] = p;
        dp[r] = p * (dp[r] - Di);  // dS
      }
#pragma unroll 4
      for (int ii = 0; ii < BQ; ++ii) {
        float gq[C], qq[C];
#pragma unroll
        for (int c = 0; c < C; ++c) {
          gq[c] = dOsT[(lane + 32 * c) * (BQ + 1) + ii];
          qq[c] = QsT[(lane + 32 * c) * (BQ + 1) + ii];
        }
#pragma unroll
        for (int r = 0; r < R; ++r) {
          const float p = __shfl_sync(FULL, s[r], ii), ds = __shfl_sync(FULL, dp[r], ii);
#pragma unroll
          for (int c = 0; c < C; ++c) {
            dva[r][c] += p * gq[c];
            dka[r][c] += ds * qq[c];
          }
        }
      }
    }
  }
#pragma unroll
  for (int r = 0; r < R; ++r) {
    const int j = j0 + warp * R + r;
    if (j >= Tk) continue;
    const int64_t base = ((int64_t(b) * Tk + j) * NKV + kvh) * HS;
#pragma unroll
    for (int c = 0; c < C; ++c) {
      const int d = lane + 32 * c;
      if (d < HS) {
        dk[base + d] = dka[r][c] * scale;
        dv[base + d] = dva[r][c];
      }
    }
  }
}

size_t fwd_smem(int D) { return sizeof(float) * (size_t(BQ) * D + size_t(D) * (BK + 1) + size_t(BK) * D); }
size_t dq_smem(int D) { return sizeof(float) * (2 * size_t(BQ) * D + 2 * size_t(D) * (BK + 1)); }
size_t dkdv_smem(int D) { return sizeof(float) * (2 * size_t(BK) * D + 2 * size_t(D) * (BQ + 1) + 2 * BQ); }

template <class K>
void set_smem(K kernel, size_t bytes, const char* what) {
  cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes));
  OLMO_CHECK(e == cudaSuccess, "CUDA_ERROR", what << ": " << bytes << " bytes of shared memory: " << cudaGetErrorString(e),
             "head size too large for this GPU");
}

int padded_dim(int64_t HS) {
  OLMO_CHECK(HS > 0 && HS <= 256, "SHAPE_MISMATCH", "attention (cuda): head size " << HS << " is not in [1, 256]",
             "use the CPU kernel for larger heads");
  return HS <= 32 ? 32 : HS <= 64 ? 64 : HS <= 128 ? 128 : 256;
}

void check_shapes(int64_t B, int64_t T, int64_t Tk, int64_t NH, int64_t NKV) {
  OLMO_CHECK(NKV > 0 && NH % NKV == 0, "SHAPE_MISMATCH", "attention: NH " << NH << " is not a multiple of NKV " << NKV, "");
  OLMO_CHECK(B < 65536 && NH < 65536 && T < (1LL << 30) && Tk < (1LL << 30), "SHAPE_MISMATCH",
             "attention (cuda): shape too large (B " << B << ", NH " << NH << ", T " << T << ", Tk " << Tk << ")", "");
}

template <int D>
void fwd(const float* q, const float* k, const float* v, float* out, float* lse, int B, int T, int Tk, int NH, int NKV, int HS,
         float scale, bool causal, const int* doc_start) {
  const size_t sm = fwd_smem(D);
  set_smem(attn_fwd_k<D>, sm, "attention_fwd");
  dim3 grid((T + BQ - 1) / BQ, NH, B);
  attn_fwd_k<D><<<grid, NT, sm>>>(q, k, v, out, lse, T, Tk, NH, NKV, HS, scale, causal, doc_start);
  OLMO_CUDA_LAUNCH_CHECK("attention_fwd");
}

template <int D>
void bwd(const float* q, const float* k, const float* v, const float* out, const float* lse, const float* dout, float* dq,
         float* dk, float* dv, float* Dbuf, int B, int T, int Tk, int NH, int NKV, int HS, float scale, bool causal,
    const int* __restrict__ doc_start) {
  const size_t s1 = dq_smem(D), s2 = dkdv_smem(D);
  set_smem(attn_bwd_dq_k<D>, s1, "attention_bwd (dq)");
  set_smem(attn_bwd_dkdv_k<D>, s2, "attention_bwd (dk/dv)");
  attn_bwd_dq_k<D><<<dim3((T + BQ - 1) / BQ, NH, B), NT, s1>>>(q, k, v, out, lse, dout, dq, Dbuf, T, Tk, NH, NKV, HS, scale, causal, doc_start);
  OLMO_CUDA_LAUNCH_CHECK("attention_bwd (dq)");
  attn_bwd_dkdv_k<D><<<dim3((Tk + BK - 1) / BK, NKV, B), NT, s2>>>(q, k, v, lse, dout, Dbuf, dk, dv, T, Tk, NH, NKV, HS, scale, causal, doc_start);
  OLMO_CUDA_LAUNCH_CHECK("attention_bwd (dk/dv)");
}
}  // namespace

void attention_fwd_f32(int dev, const float* q, const float* k, const float* v, float* out, float* lse,
                       int64_t B, int64_t T, int64_t Tk, int64_t NH, int64_t NKV, int64_t HS, float scale, bool causal,
                       const int32_t* doc_start) {
  if (B <= 0 || T <= 0 || NH <= 0) return;
  check_shapes(B, T, Tk, NH, NKV);
  OLMO_CHECK(!causal || Tk >= T, "SHAPE_MISMATCH", "attention: causal with Tk " << Tk << " < T " << T, "");
  const int D = padded_dim(HS);
  cudaSetDevice(dev);
  switch (D) {
    case 32: fwd<32>(q, k, v, out, lse, int(B), int(T), int(Tk), int(NH), int(NKV), int(HS), scale, causal, doc_start); break;
    case 64: fwd<64>(q, k, v, out, lse, int(B), int(T), int(Tk), int(NH), int(NKV), int(HS), scale, causal, doc_start); break;
    case 128: fwd<128>(q, k, v, out, lse, int(B), int(T), int(Tk), int(NH), int(NKV), int(HS), scale, causal, doc_start); break;
    default: fwd<256>(q, k, v, out, lse, int(B), int(T), int(Tk), int(NH), int(NKV), int(HS), scale, causal, doc_start); break;
  }
}

void attention_bwd_f32(int dev, const float* q, const float* k, const float* v, const float* out, const float* lse,
                       const float* dout, float* dq, float* dk, float* dv,
                       int64_t B, int64_t T, int64_t Tk, int64_t NH, int64_t NKV, int64_t HS, float scale, bool causal,
                       const int32_t* doc_start) {
  if (B <= 0 || NH <= 0 || Tk <= 0) return;
  check_shapes(B, T, Tk, NH, NKV);
  OLMO_CHECK(!causal || Tk >= T, "SHAPE_MISMATCH", "attention: causal with Tk " << Tk << " < T " << T, "");
  const int D = padded_dim(HS);
  cudaSetDevice(dev);
  float* Dbuf = static_cast<float*>(scratch(dev, sizeof(float) * size_t(B * NH * std::max<int64_t>(T, 1))));
  if (T <= 0) {  // no queries: dk = dv = 0
    cudaMemsetAsync(dk, 0, sizeof(float) * size_t(B * Tk * NKV * HS));
    cudaMemsetAsync(dv, 0, sizeof(float) * size_t(B * Tk * NKV * HS));
    OLMO_CUDA_LAUNCH_CHECK("attention_bwd");
    return;
  }
  switch (D) {
    case 32: bwd<32>(q, k, v, out, lse, dout, dq, dk, dv, Dbuf, int(B), int(T), int(Tk), int(NH), int(NKV), int(HS), scale, causal, doc_start); break;
    case 64: bwd<64>(q, k, v, out, lse, dout, dq, dk, dv, Dbuf, int(B), int(T), int(Tk), int(NH), int(NKV), int(HS), scale, causal, doc_start); break;
    case 128: bwd<128>(q, k, v, out, lse, dout, dq, dk, dv, Dbuf, int(B), int(T), int(Tk), int(NH), int(NKV), int(HS), scale, causal, doc_start); break;
    default: bwd<256>(q, k, v, out, lse, dout, dq, dk, dv, Dbuf, int(B), int(T), int(Tk), int(NH), int(NKV), int(HS), scale, causal, doc_start); break;
  }
}

}  // namespace olmo::cuda
