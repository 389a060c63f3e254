// Batch-1 decode attention (attention_fwd_f32 with T = 1, as decodeLayer calls it) at the bench
// models' shapes, one thread, CPU time: the one-query path (native/cpu/attention_decode.cc) against
// the tiled flash kernel it replaced for T = 1, in one process, alternated per round
// (OLMO_ATTN_DECODE is read once, so the tiled kernel runs in a child process with it set to 0).
//
//   g++ -O3 -march=native -fno-math-errno -fopenmp -Inative/include -Inative/cpu
//       bench/ops/attention-decode.cc native/cpu/attention.cc native/cpu/attention_decode.cc -o /tmp/attdec
//   /tmp/attdec            (prints one markdown table: µs per call, median of 5 rounds, and the ratio)
//
// Each timed sample is 50 back-to-back calls (CLOCK_THREAD_CPUTIME_ID is a system call here, ~1 µs).
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "olmo/ops/attention.h"

static double cpu_now() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}

struct Shape { const char* name; int64_t NH, NKV, HS, Tk; };
static const Shape kShapes[] = {
  {"tiny Tk=96", 4, 4, 64, 96}, {"small Tk=33", 8, 8, 64, 33}, {"small Tk=96", 8, 8, 64, 96}, {"small Tk=160", 8, 8, 64, 160},
  {"1b Tk=96", 16, 16, 128, 96}, {"1b Tk=1024", 16, 16, 128, 1024},
};

// µs per call of every shape, one line of numbers (the child's output).
static void run_once() {
  for (const Shape& s : kShapes) {
    std::mt19937 rng(1);
    std::normal_distribution<float> nd;
    std::vector<float> q(size_t(s.NH * s.HS)), k(size_t(s.Tk * s.NKV * s.HS)), v(k.size()), o(q.size()), lse(size_t(s.NH));
    for (float& x : q) x = nd(rng);
    for (float& x : k) x = nd(rng);
    for (float& x : v) x = nd(rng);
    std::vector<double> ts;
    for (int r = 0; r < 40; ++r) {
      const double t0 = cpu_now();
      for (int i = 0; i < 50; ++i) olmo::cpu::attention_fwd_f32(q.data(), k.data(), v.data(), o.data(), lse.data(), 1, 1, s.Tk, s.NH, s.NKV, s.HS, 1.f / 8, true);
      ts.push_back((cpu_now() - t0) / 50);
    }
    std::sort(ts.begin(), ts.end());
    printf("%.3f ", ts[ts.size() / 2] * 1e6);
  }
  printf("\n");
}

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--once") == 0) {
    run_once();
    return 0;
  }
  const int rounds = 5, ns = int(sizeof(kShapes) / sizeof(kShapes[0]));
  std::vector<std::vector<double>> fast(static_cast<size_t>(ns)), tiled(static_cast<size_t>(ns));
  for (int r = 0; r < rounds; ++r) {
    for (int which = 0; which < 2; ++which) {
      const bool tiles = (which == 1) != (r % 2 == 1);  // alternate the order per round
      const std::string cmd = std::string(tiles ? "OLMO_ATTN_DECODE=0 " : "OLMO_ATTN_DECODE=1 ") + "OMP_NUM_THREADS=1 " + argv[0] + " --once";
      FILE* f = popen(cmd.c_str(), "r");
      for (int i = 0; i < ns; ++i) {
        double us = 0;
        if (fscanf(f, "%lf", &us) != 1) return 1;
        (tiles ? tiled : fast)[size_t(i)].push_back(us);
      }
      pclose(f);
    }
  }
  auto med = [](std::vector<double> v) { std::sort(v.begin(), v.end()); return v[v.size() / 2]; };
  char host[256] = "";
  gethostname(host, sizeof host);
  printf("| shape (NH x HS, Tk keys) | tiled µs (range) | one-query µs (range) | tiled / one-query |\n|---|---|---|---|\n");
  for (int i = 0; i < ns; ++i) {
    auto& a = tiled[size_t(i)];
    auto& b = fast[size_t(i)];
    printf("| %s (%ld x %ld) | %.2f (%.2f-%.2f) | %.2f (%.2f-%.2f) | %.1fx |\n", kShapes[i].name, long(kShapes[i].NH), long(kShapes[i].HS), med(a),
           *std::min_element(a.begin(), a.end()), *std::max_element(a.begin(), a.end()), med(b), *std::min_element(b.begin(), b.end()),
           *std::max_element(b.begin(), b.end()), med(a) / med(b));
  }
  return 0;
}
