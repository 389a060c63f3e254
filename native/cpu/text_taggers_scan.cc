// Tables and bitmaps shared by the text_taggers family (see text_taggers_scan.h).
#include "text_taggers_scan.h"

#include <cstdlib>
#include <cstring>
#include <type_traits>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace olmo::cpu::text {
namespace {

#include "text_tables.inc"

template <size_t N>
inline bool in_ranges(const CpRange (&r)[N], uint32_t c) {
  size_t lo = 0, hi = N;
  while (lo < hi) {
    size_t m = (lo + hi) / 2;
    if (r[m].hi < c) lo = m + 1; else hi = m;
  }
  return lo < N && r[lo].lo <= c;
}

}  // namespace

bool is_alpha_table(uint32_t c) { return in_ranges(kAlpha, c); }
bool is_digit_table(uint32_t c) { return in_ranges(kDigit, c); }

ClassTable::ClassTable() {
  for (uint32_t u = 0; u < 65536; u++) {
    uint16_t k = 0;
    if (is_space(u)) k |= kSpace | kNotC;
    if (u == '.' || u == ',' || u == '?' || u == '!' || u == ';' || u == ':' || u == ')' || u == '(' || u == '@') k |= kPunct;
    if (u == ',' || u == '?' || u == '!' || u == ';' || u == ':' || u == ')' || u == '(' || u == '@') k |= kNotC;
    if (u == '@') k |= kAt;
    if (u >= '0' && u <= '9') k |= kAsciiDigit;
    if (is_high(u) || is_low(u)) k |= kSurr;
    if (u == '-' || u == '.' || u == ' ') k |= kSep;
    if (!(k & kSurr) && is_alpha(u)) k |= kAlphaBmp;
    if (u == '#' || u == 0x2026) k |= kSym;
    c[u] = k;
  }
}
const ClassTable kClasses;

bool text_simd() {
#if defined(__AVX2__)
  static const bool on = [] {
    const char* isa = std::getenv("OLMO_CPU_ISA");
    return !(isa && std::strcmp(isa, "scalar") == 0);
  }();
  return on;
#else
  return false;
#endif
}

void text_bits(const uint16_t* s, int64_t n, TextBits& tb, bool word_classes) {
  const size_t nw = size_t((n + 64) / 64);
  tb.space.assign(nw, 0);
  tb.newline.assign(nw, 0);
  tb.digit.assign(nw, 0);
  tb.phone_next.assign(nw, 0);
  tb.word_classes = word_classes;
  if (word_classes) {
    tb.alpha.assign(nw + 1, 0);  // + 1: gopher reads a word's bits as two words (any_bit64)
    tb.sym.assign(nw + 1, 0);
  }
  tb.any_at = tb.any_digit = tb.any_non_ascii = tb.any_surrogate = tb.any_dotted_i = false;
  int64_t i = 0;
#if defined(__AVX2__)
  const __m256i zero = _mm256_setzero_si256();
  auto mask16 = [](__m256i m) -> uint32_t {  // 16 lanes of 0 / 0xffff → 16 bits
    return uint32_t(_mm_movemask_epi8(_mm_packs_epi16(_mm256_castsi256_si128(m), _mm256_extracti128_si256(m, 1))));
  };
  auto le = [&](__m256i v, uint16_t lo, uint16_t width) {  // lo <= v <= lo + width (unsigned)
    return _mm256_cmpeq_epi16(_mm256_subs_epu16(_mm256_sub_epi16(v, _mm256_set1_epi16(short(lo))), _mm256_set1_epi16(short(width))), zero);
  };
  const bool simd = text_simd();
  // the block loop with or without gopher's word classes (decided once, not per block)
  const auto blocks = [&](auto word_classes_tag) {
    constexpr bool WC = decltype(word_classes_tag)::value;
    for (; simd && i + 64 <= n; i += 64) {
      uint64_t spm = 0, nlm = 0, dgm = 0, pnm = 0, alm = 0, sym = 0;
      for (int k = 0; k < 4; k++) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i + 16 * k));
        const __m256i ws = _mm256_or_si256(le(v, 0x09, 4), le(v, 0x1c, 4));
        const __m256i dg = le(v, '0', 9);
        const __m256i hi = _mm256_cmpeq_epi16(_mm256_subs_epu16(v, _mm256_set1_epi16(0x7f)), zero);  // lanes <= 0x7f
        const uint32_t hi_m = ~mask16(hi) & 0xffff;
        uint32_t w = mask16(ws);
        const uint32_t d = mask16(dg);
        const uint32_t at = mask16(_mm256_cmpeq_epi16(v, _mm256_set1_epi16('@')));
        const uint32_t paren = mask16(_mm256_cmpeq_epi16(v, _mm256_set1_epi16('(')));
        // ASCII letters: (v | 0x20) in 'a'..'z' (a unit >= 0x80 stays >= 0x80; those are fixed up below)
        uint32_t al = 0, sy = 0;
        if constexpr (WC) {
          al = mask16(le(_mm256_or_si256(v, _mm256_set1_epi16(0x20)), 'a', 25));
          sy = mask16(_mm256_or_si256(_mm256_cmpeq_epi16(v, _mm256_set1_epi16('#')), _mm256_cmpeq_epi16(v, _mm256_set1_epi16(short(0x2026)))));
        }
        if (hi_m) {
          tb.any_non_ascii = true;
          for (uint32_t m = hi_m; m; m &= m - 1) {
            const uint16_t u = s[i + 16 * k + __builtin_ctz(m)];
            const uint16_t c = cls(u);
            if (c & kSpace) w |= 1u << __builtin_ctz(m);
            if (c & kAlphaBmp) al |= 1u << __builtin_ctz(m);
            if (c & kSurr) tb.any_surrogate = true;
            if (u == 0x130) tb.any_dotted_i = true;
          }
        }
        tb.any_at |= at != 0;
        tb.any_digit |= d != 0;
        spm |= uint64_t(w) << (16 * k);
        nlm |= uint64_t(mask16(_mm256_cmpeq_epi16(v, _mm256_set1_epi16('\n')))) << (16 * k);
        dgm |= uint64_t(d) << (16 * k);
        pnm |= uint64_t(d | paren | hi_m) << (16 * k);
        alm |= uint64_t(al) << (16 * k);
        sym |= uint64_t(sy) << (16 * k);
      }
      tb.space[size_t(i >> 6)] = spm;
      tb.newline[size_t(i >> 6)] = nlm;
      tb.digit[size_t(i >> 6)] = dgm;
      tb.phone_next[size_t(i >> 6)] = pnm;
      if constexpr (WC) {
        tb.alpha[size_t(i >> 6)] = alm;
        tb.sym[size_t(i >> 6)] = sym;
      }
    }
  };
  if (word_classes) blocks(std::true_type{});
  else blocks(std::false_type{});
#endif
  for (; i < n; i++) {
    const uint16_t u = s[i];
    const uint16_t c = cls(u);
    const size_t w = size_t(i >> 6);
    const uint64_t b = uint64_t(1) << (i & 63);
    if (c & kSpace) tb.space[w] |= b;
    if (u == '\n') tb.newline[w] |= b;
    if (c & kAsciiDigit) { tb.digit[w] |= b; tb.any_digit = true; }
    if ((c & kAsciiDigit) || u == '(' || u >= 0x80) tb.phone_next[w] |= b;
    if (word_classes && (c & kAlphaBmp)) tb.alpha[w] |= b;
    if (word_classes && (c & kSym)) tb.sym[w] |= b;
    if (u == '@') tb.any_at = true;
    if (u >= 0x80) tb.any_non_ascii = true;
    if (c & kSurr) tb.any_surrogate = true;
    if (u == 0x130) tb.any_dotted_i = true;
  }
  for (int64_t j = n; j < int64_t(nw) * 64; j++) tb.space[size_t(j >> 6)] |= uint64_t(1) << (j & 63);
}

}  // namespace olmo::cpu::text
