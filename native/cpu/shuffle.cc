// numpy Generator(PCG64(seed)).shuffle — see native/include/olmo/ops/shuffle.h and
// ../shared/specs/numpy-pcg64-shuffle.md (section numbers below refer to it).
#include "olmo/ops/shuffle.h"

#include <cstdlib>
#include <cstring>

#ifdef __linux__
#include <sys/mman.h>
#endif

#include "olmo/check.h"

namespace olmo::cpu {
namespace {

using u128 = unsigned __int128;

constexpr uint32_t INIT_A = 0x43B0D7E5u, MULT_A = 0x931E8875u;
constexpr uint32_t INIT_B = 0x8B51F9DDu, MULT_B = 0x58F38DEDu;
constexpr uint32_t MIX_MULT_L = 0xCA01F9DDu, MIX_MULT_R = 0x4973F715u;
constexpr u128 PCG_MULT = (u128(0x2360ED051FC65DA4ull) << 64) | u128(0x4385DF649FCCF645ull);

struct Pcg64 {
  u128 state = 0, inc = 0;
  bool has32 = false;
  uint32_t u32 = 0;

  // §5: step first, then output XSL-RR of the new state.
  inline uint64_t next64() {
    state = state * PCG_MULT + inc;
    uint64_t hi = uint64_t(state >> 64), lo = uint64_t(state);
    uint64_t x = hi ^ lo;
    unsigned rot = unsigned(hi >> 58);
    return (x >> rot) | (x << ((64u - rot) & 63u));
  }
  // §6: each 64-bit draw serves two 32-bit draws, low half first.
  inline uint32_t next32() {
    if (has32) {
      has32 = false;
      return u32;
    }
    uint64_t r = next64();
    has32 = true;
    u32 = uint32_t(r >> 32);
    return uint32_t(r);
  }
  // §7: uniform in the closed range [0, max] by masked rejection.
  inline uint64_t interval(uint64_t max) {
    if (max == 0) return 0;
    uint64_t mask = ~uint64_t(0) >> __builtin_clzll(max);
    if (max <= 0xFFFFFFFFull) {
      uint32_t m32 = uint32_t(mask), mx = uint32_t(max);
      uint32_t v;
      while ((v = next32() & m32) > mx) {
      }
      return v;
    }
    uint64_t v;
    while ((v = next64() & mask) > max) {
    }
    return v;
  }
};

// §1–§3: SeedSequence(entropy=words).generate_state(4, uint64).
void seed_state(uint64_t s[4], const uint32_t* words, int64_t L) {
  OLMO_CHECK(L >= 1, "INVALID_ARGUMENT", "shuffle: seed needs at least one 32-bit word", "seed 0 is the single word [0]");
  uint32_t K = INIT_A;
  auto hashmix = [&K](uint32_t v) {
    v ^= K;
    K *= MULT_A;
    v *= K;
    return v ^ (v >> 16);
  };
  auto mix = [](uint32_t x, uint32_t y) {
    uint32_t r = MIX_MULT_L * x - MIX_MULT_R * y;
    return r ^ (r >> 16);
  };
  uint32_t pool[4];
  for (int i = 0; i < 4; ++i) pool[i] = hashmix(i < L ? words[i] : 0u);
  for (int src = 0; src < 4; ++src)
    for (int dst = 0; dst < 4; ++dst)
      if (src != dst) pool[dst] = mix(pool[dst], hashmix(pool[src]));
  for (int64_t src = 4; src < L; ++src)
    for (int dst = 0; dst < 4; ++dst) pool[dst] = mix(pool[dst], hashmix(words[src]));
  uint32_t Kb = INIT_B, w32[8];
  for (int t = 0; t < 8; ++t) {
    uint32_t v = pool[t & 3] ^ Kb;
    Kb *= MULT_B;
    v *= Kb;
    w32[t] = v ^ (v >> 16);
  }
  for (int k = 0; k < 4; ++k) s[k] = uint64_t(w32[2 * k]) | (uint64_t(w32[2 * k + 1]) << 32);
}

// §4: pcg_setseq_128_srandom_r.
Pcg64 make_pcg(const uint32_t* words, int64_t L) {
  uint64_t s[4];
  seed_state(s, words, L);
  u128 initstate = (u128(s[0]) << 64) | s[1];
  u128 initseq = (u128(s[2]) << 64) | s[3];
  Pcg64 g;
  g.inc = (initseq << 1) | 1u;
  g.state = 0;
  g.state = g.state * PCG_MULT + g.inc;
  g.state += initstate;
  g.state = g.state * PCG_MULT + g.inc;
  return g;
}

}  // namespace

void pcg64_raw(uint64_t* out, int64_t count, const uint32_t* seed_words, int64_t n_words) {
  Pcg64 g = make_pcg(seed_words, n_words);
  for (int64_t i = 0; i < count; ++i) out[i] = g.next64();
}

void pcg64_seeded_state(uint64_t* out4, const uint32_t* seed_words, int64_t n_words) {
  Pcg64 g = make_pcg(seed_words, n_words);
  out4[0] = uint64_t(g.state >> 64);
  out4[1] = uint64_t(g.state);
  out4[2] = uint64_t(g.inc >> 64);
  out4[3] = uint64_t(g.inc);
}

void shuffle_u32(uint32_t* a, int64_t n, const uint32_t* seed_words, int64_t n_words, bool fill_arange) {
  OLMO_CHECK(n >= 0, "INVALID_ARGUMENT", "shuffle: negative length " << n, "");
  Pcg64 g = make_pcg(seed_words, n_words);  // validates the seed even when n < 2
  if (fill_arange) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    // The shuffle touches memory at random: with 4 KiB pages nearly every swap is a TLB miss.
    // Ask for transparent huge pages on the (still untouched, freshly allocated) array before
    // the arange fill faults it in. Purely a hint; failure is harmless.
    const char* thp = std::getenv("OLMO_SHUFFLE_THP");  // "0" disables (for benchmarks)
    if (n >= (int64_t(1) << 20) && !(thp && thp[0] == '0')) {
      const uintptr_t huge = uintptr_t(2) << 20;
      uintptr_t lo = (reinterpret_cast<uintptr_t>(a) + huge - 1) & ~(huge - 1);
      uintptr_t hi = reinterpret_cast<uintptr_t>(a + n) & ~(huge - 1);
      if (hi > lo) madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE);
    }
#endif
    OLMO_CHECK(n <= (int64_t(1) << 32), "INVALID_ARGUMENT",
               "shuffle: arange of " << n << " elements does not fit uint32", "OLMo's indices are uint32: N <= 2^32");
#pragma omp parallel for schedule(static) if (n > (1 << 20))
    for (int64_t i = 0; i < n; ++i) a[i] = uint32_t(i);
  }
  if (n < 2) return;
  // §8: for i = n-1 down to 1: j = random_interval(i); swap(a[i], a[j]).
  // The j's are drawn kAhead steps early (same order of draws) so that a[j] can be prefetched;
  // the swaps still run strictly in order, so the result is identical to the plain loop.
  constexpr int64_t kAhead = 32;  // power of two
  uint64_t ring[kAhead];
  int64_t i = n - 1;
  int64_t next_draw = i;  // the next i whose j has not been drawn yet
  // Prime the pipeline.
  for (int64_t k = 0; k < kAhead && next_draw >= 1; ++k, --next_draw) {
    uint64_t j = g.interval(uint64_t(next_draw));
    ring[next_draw & (kAhead - 1)] = j;
    __builtin_prefetch(a + j, 1, 0);
  }
  for (; i >= 1; --i) {
    if (next_draw >= 1) {
      uint64_t jn = g.interval(uint64_t(next_draw));
      uint64_t j = ring[i & (kAhead - 1)];
      ring[next_draw & (kAhead - 1)] = jn;  // next_draw == i - kAhead: the slot j was just read from
      __builtin_prefetch(a + jn, 1, 0);
      --next_draw;
      uint32_t t = a[i];
      a[i] = a[j];
      a[j] = t;
    } else {
      uint64_t j = ring[i & (kAhead - 1)];
      uint32_t t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }
}

}  // namespace olmo::cpu
