// The low-precision prefill GEMMs (native/cpu/lowplinear_gemm_amx.cc, lowplinear_gemm_q8.cc)
// without node, against an older build of the same files linked into the same binary:
//
//   check   bit-identity: old and new kernels on random shapes (M 17-80, N 1-200 per weight, 1-3
//           fused weights, K any for bf16 / multiples of 32 for q8_0, y with a padded row stride
//           filled with a sentinel), outputs compared with memcmp, sentinel padding included.
//   bench   cold weights: every call reads a different copy of the weight, cycling through
//           COLD_MB MiB of copies (default 768: more than this VM's 480 MiB L3), so W comes from
//           memory as in a real prefill, where a layer's weights are evicted by the time the
//           next forward reaches them. Rounds alternate old / new (order reversed every round);
//           per shape: median µs per call of each over rounds (each round's median of CALLS
//           calls), min–max over rounds, and the median of the per-round ratios old / new; the
//           same for process CPU time per call (all threads), less sensitive to a loaded machine.
//
// Kernels (KERNELS, comma list; default all this CPU runs): bf16amx, q8amx, q8vnni, q8avx2.
// Build (old = the files at REV, symbols renamed; AMX flags for the AMX file only, as the addon):
//
//   REV=main; D=/tmp/gemmcold; mkdir -p $D
//   for f in lowplinear_gemm_amx lowplinear_gemm_q8; do git show $REV:native/cpu/$f.cc > $D/old_$f.cc; done
//   R="-Dlowp_gemm_q8_amx=old_lowp_gemm_q8_amx -Dlowp_gemm_bf16_amx=old_lowp_gemm_bf16_amx -Damx_usable=old_amx_usable
//      -Dlowp_gemm_q8_vnni512=old_lowp_gemm_q8_vnni512 -Dlowp_gemm_q8_avx2=old_lowp_gemm_q8_avx2"
//   F="-O3 -march=native -fno-math-errno -fopenmp -Inative/include -Inative/cpu"
//   AMX="-mamx-tile -mamx-bf16 -mamx-int8"
//   g++ $F $AMX $R -c $D/old_lowplinear_gemm_amx.cc -o $D/old_amx.o
//   g++ $F $R -c $D/old_lowplinear_gemm_q8.cc -o $D/old_q8.o
//   g++ $F $AMX -c native/cpu/lowplinear_gemm_amx.cc -o $D/amx.o
//   g++ $F -c native/cpu/lowplinear_gemm_q8.cc -o $D/q8.o
//   g++ $F bench/ops/lowplinear-gemm-cold.cc $D/*.o -o $D/gemmcold
//   OMP_WAIT_POLICY=passive $D/gemmcold check && OMP_WAIT_POLICY=passive $D/gemmcold bench
//
// Env: SHAPES=tiny,small,1b (bench), M (32), ROUNDS (7), CALLS (64), COLD_MB (768), SEED, CASES
// (check: random shapes per kernel, 60). The new kernels' switches (OLMO_GEMM_CLAIM_AHEAD=0,
// OLMO_AMX_ROW_PREFETCH=0) are read once per process: run `check` once with each to cover both
// paths. OMP_WAIT_POLICY=passive as the addon sets it.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "olmo/ops/lowplinear.h"

namespace olmo::cpu {
bool amx_usable();
bool lowp_gemm_bf16_amx(const float* x, int64_t M, int64_t K, const WeightRef* ws, int nw);
bool lowp_gemm_q8_amx(const BlockQ8_0* xq, int64_t M, int64_t K, const WeightRef* ws, int nw);
bool lowp_gemm_q8_vnni512(const BlockQ8_0* xq, int64_t M, int64_t K, const WeightRef* ws, int nw);
bool lowp_gemm_q8_avx2(const BlockQ8_0* xq, int64_t M, int64_t K, const WeightRef* ws, int nw);
bool old_amx_usable();
bool old_lowp_gemm_bf16_amx(const float* x, int64_t M, int64_t K, const WeightRef* ws, int nw);
bool old_lowp_gemm_q8_amx(const BlockQ8_0* xq, int64_t M, int64_t K, const WeightRef* ws, int nw);
bool old_lowp_gemm_q8_vnni512(const BlockQ8_0* xq, int64_t M, int64_t K, const WeightRef* ws, int nw);
bool old_lowp_gemm_q8_avx2(const BlockQ8_0* xq, int64_t M, int64_t K, const WeightRef* ws, int nw);
}  // namespace olmo::cpu

using namespace olmo;
using namespace olmo::cpu;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
int64_t env_int(const char* n, int64_t d) {
  const char* v = std::getenv(n);
  return v && *v ? std::strtoll(v, nullptr, 10) : d;
}
std::string env_str(const char* n, const char* d) {
  const char* v = std::getenv(n);
  return v && *v ? v : d;
}
// Process CPU seconds (all threads): on a loaded machine the work itself, without the time a
// thread waited for a core (OMP_WAIT_POLICY=passive: idle team threads sleep, adding nothing).
double cpu_now() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

uint16_t f32_to_bf16(float f) {  // round to nearest even (finite inputs only)
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return uint16_t((u + 0x7FFF + ((u >> 16) & 1)) >> 16);
}

bool is_q8(const std::string& k) { return k != "bf16amx"; }

// Kernel `name` (old or new) on float x / quantized xq.
bool run_kernel(const std::string& name, bool old, const float* x, const BlockQ8_0* xq, int64_t M, int64_t K,
                const WeightRef* ws, int nw) {
  if (name == "bf16amx") return old ? old_lowp_gemm_bf16_amx(x, M, K, ws, nw) : lowp_gemm_bf16_amx(x, M, K, ws, nw);
  if (name == "q8amx") return old ? old_lowp_gemm_q8_amx(xq, M, K, ws, nw) : lowp_gemm_q8_amx(xq, M, K, ws, nw);
  if (name == "q8vnni") return old ? old_lowp_gemm_q8_vnni512(xq, M, K, ws, nw) : lowp_gemm_q8_vnni512(xq, M, K, ws, nw);
  return old ? old_lowp_gemm_q8_avx2(xq, M, K, ws, nw) : lowp_gemm_q8_avx2(xq, M, K, ws, nw);
}

// Random weight bytes of one format: bf16 values in [-1, 1), or q8_0 blocks with quants in
// [-127, 127] and f16 scales in [0.001, 0.03) (no -128: no q8_0 writer produces it).
std::vector<uint8_t> random_weight(bool q8, int64_t N, int64_t K, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1.f, 1.f), ds(0.001f, 0.03f);
  std::uniform_int_distribution<int> q(-127, 127);
  std::vector<uint8_t> b(size_t(weight_bytes(q8 ? WeightFormat::Q8_0 : WeightFormat::BF16, N, K)));
  if (q8) {
    BlockQ8_0* blk = reinterpret_cast<BlockQ8_0*>(b.data());
    for (int64_t i = 0; i < N * K / 32; ++i) {
      blk[i].d = _cvtss_sh(ds(rng), 0);
      for (int j = 0; j < 32; ++j) blk[i].qs[j] = int8_t(q(rng));
    }
  } else {
    uint16_t* h = reinterpret_cast<uint16_t*>(b.data());
    for (int64_t i = 0; i < N * K; ++i) h[i] = f32_to_bf16(u(rng));
  }
  return b;
}

std::vector<BlockQ8_0> random_xq(int64_t M, int64_t K, std::mt19937& rng) {
  std::vector<uint8_t> b = random_weight(true, M, K, rng);
  std::vector<BlockQ8_0> xq(size_t(M * K / 32));
  std::memcpy(xq.data(), b.data(), b.size());
  return xq;
}

std::vector<float> random_x(int64_t M, int64_t K, std::mt19937& rng) {
  std::normal_distribution<float> n(0.f, 1.f);
  std::vector<float> x(size_t(M * K));
  for (float& v : x) v = n(rng);
  return x;
}

std::vector<std::string> kernels_here() {
  std::vector<std::string> all;
  const std::string want = env_str("KERNELS", "bf16amx,q8amx,q8vnni,q8avx2");
  std::stringstream ss(want);
  for (std::string k; std::getline(ss, k, ',');) {
    if ((k == "bf16amx" || k == "q8amx") && !(amx_usable() && old_amx_usable())) continue;
    if (k == "q8vnni" && !__builtin_cpu_supports("avx512vnni")) continue;
    all.push_back(k);
  }
  return all;
}

// ------------------------------------------------------------------ check

int check() {
  std::mt19937 rng(uint32_t(env_int("SEED", 1)));
  const int cases = int(env_int("CASES", 60));
  int bad = 0, total = 0;
  for (const std::string& k : kernels_here()) {
    const bool q8 = is_q8(k);
    int kbad = 0;
    for (int c = 0; c < cases; ++c) {
      const int64_t M = std::uniform_int_distribution<int64_t>(17, 80)(rng);
      const int64_t K = q8 ? 32 * std::uniform_int_distribution<int64_t>(1, 40)(rng)
                           : std::uniform_int_distribution<int64_t>(1, 700)(rng);
      const int nw = std::uniform_int_distribution<int>(1, 3)(rng);
      std::vector<std::vector<uint8_t>> wdata;
      std::vector<int64_t> ns, lds;
      for (int i = 0; i < nw; ++i) {
        ns.push_back(std::uniform_int_distribution<int64_t>(1, 200)(rng));
        lds.push_back(ns.back() + std::uniform_int_distribution<int64_t>(0, 5)(rng));
        wdata.push_back(random_weight(q8, ns.back(), K, rng));
      }
      const std::vector<float> x = random_x(M, K, rng);
      const std::vector<BlockQ8_0> xq = q8 ? random_xq(M, K, rng) : std::vector<BlockQ8_0>();
      std::vector<std::vector<float>> y[2];
      for (int v = 0; v < 2; ++v) {
        std::vector<WeightRef> ws;
        for (int i = 0; i < nw; ++i) {
          y[v].emplace_back(size_t(M * lds[size_t(i)]), -12345.f);  // sentinel: padding must survive
          ws.push_back({q8 ? WeightFormat::Q8_0 : WeightFormat::BF16, wdata[size_t(i)].data(), ns[size_t(i)],
                        y[v].back().data(), lds[size_t(i)]});
        }
        run_kernel(k, v == 0, x.data(), xq.data(), M, K, ws.data(), nw);
      }
      for (int i = 0; i < nw; ++i)
        if (std::memcmp(y[0][size_t(i)].data(), y[1][size_t(i)].data(), y[0][size_t(i)].size() * sizeof(float)) != 0) {
          if (kbad < 3) std::printf("MISMATCH %s M=%lld K=%lld weight %d N=%lld\n", k.c_str(), (long long)M, (long long)K, i, (long long)ns[size_t(i)]);
          ++kbad;
          break;
        }
    }
    std::printf("check %-8s %d cases: %s\n", k.c_str(), cases, kbad ? "DIFFERENT" : "bit-identical");
    bad += kbad;
    total += cases;
  }
  std::printf("%d of %d cases differ\n", bad, total);
  return bad ? 1 : 0;
}

// ------------------------------------------------------------------ bench

struct Shape {
  const char* model;
  int64_t N, K;
};
const Shape kShapes[] = {{"tiny", 768, 256},   {"tiny", 256, 256},    {"tiny", 2048, 256},   {"tiny", 256, 1024},
                         {"small", 1536, 512}, {"small", 512, 512},   {"small", 4096, 512},  {"small", 512, 2048},
                         {"1b", 6144, 2048},   {"1b", 2048, 2048},    {"1b", 16384, 2048},   {"1b", 2048, 8192}};

int bench() {
  const int64_t M = env_int("M", 32), rounds = env_int("ROUNDS", 7), calls = env_int("CALLS", 64);
  const int64_t cold_bytes = env_int("COLD_MB", 768) << 20;
  const std::string models = "," + env_str("SHAPES", "tiny,small,1b") + ",";
  std::mt19937 rng(uint32_t(env_int("SEED", 1)));
  std::printf("# cold-weight GEMM bench: M = %lld, %d threads, %lld rounds x %lld calls, %lld MiB of weight copies\n",
              (long long)M, omp_get_max_threads(), (long long)rounds, (long long)calls, (long long)(cold_bytes >> 20));
  std::printf("| kernel | model | N x K | old wall µs (min–max) | new wall µs | old / new wall per round: median (min–max) | old CPU µs | new CPU µs | old / new CPU |\n|---|---|---|---|---|---|---|---|---|\n");
  for (const std::string& k : kernels_here()) {
    const bool q8 = is_q8(k);
    for (const Shape& s : kShapes) {
      if (models.find("," + std::string(s.model) + ",") == std::string::npos) continue;
      const int64_t bytes = weight_bytes(q8 ? WeightFormat::Q8_0 : WeightFormat::BF16, s.N, s.K);
      const int64_t copies = std::max<int64_t>(2, cold_bytes / bytes);
      // One random weight, copied: the contents do not matter for timing, the addresses do.
      const std::vector<uint8_t> w0 = random_weight(q8, s.N, s.K, rng);
      std::vector<uint8_t> pool(size_t(copies * bytes));
      for (int64_t c = 0; c < copies; ++c) std::memcpy(pool.data() + c * bytes, w0.data(), size_t(bytes));
      const std::vector<float> x = random_x(M, s.K, rng);
      const std::vector<BlockQ8_0> xq = random_xq(M, s.K, rng);
      std::vector<float> y(size_t(M * s.N));
      int64_t next = 0;
      // {wall, CPU} µs per call, medians of the round's calls
      auto one_round = [&](bool old) {
        std::vector<double> t, c;
        for (int64_t i = 0; i < calls; ++i) {
          const WeightRef w{q8 ? WeightFormat::Q8_0 : WeightFormat::BF16, pool.data() + (next++ % copies) * bytes, s.N, y.data(), s.N};
          const double t0 = now(), c0 = cpu_now();
          run_kernel(k, old, x.data(), xq.data(), M, s.K, &w, 1);
          t.push_back(now() - t0), c.push_back(cpu_now() - c0);
        }
        return std::make_pair(median(t) * 1e6, median(c) * 1e6);
      };
      one_round(false), one_round(true);  // warm-up (thread team, page faults of the pool)
      std::vector<double> to, tn, ratio, co, cn, cratio;
      for (int64_t r = 0; r < rounds; ++r) {
        std::pair<double, double> a, b;
        if (r % 2 == 0) a = one_round(true), b = one_round(false);
        else b = one_round(false), a = one_round(true);
        to.push_back(a.first), tn.push_back(b.first), ratio.push_back(a.first / b.first);
        co.push_back(a.second), cn.push_back(b.second), cratio.push_back(a.second / b.second);
      }
      auto mm = [](const std::vector<double>& v, const char* f) {
        char buf[96];
        std::snprintf(buf, sizeof buf, f, median(v), *std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end()));
        return std::string(buf);
      };
      std::printf("| %s | %s | %lld x %lld | %s | %s | %s | %s | %s | %s |\n", k.c_str(), s.model, (long long)s.N, (long long)s.K,
                  mm(to, "%.1f (%.1f–%.1f)").c_str(), mm(tn, "%.1f (%.1f–%.1f)").c_str(), mm(ratio, "%.2fx (%.2f–%.2f)").c_str(),
                  mm(co, "%.1f (%.1f–%.1f)").c_str(), mm(cn, "%.1f (%.1f–%.1f)").c_str(), mm(cratio, "%.2fx (%.2f–%.2f)").c_str());
      std::fflush(stdout);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "check";
  if (mode == "check") return check();
  if (mode == "bench") return bench();
  std::fprintf(stderr, "usage: gemmcold check|bench\n");
  return 2;
}
