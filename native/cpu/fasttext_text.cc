// Dolma's fastText input on UTF-16 text (what a JavaScript string holds): Python's str.lower()
// (= String.prototype.toLowerCase, pystr.ts pyLower) written straight out as UTF-8, so the language
// tagger hands the document to native code once instead of lower-casing a copy in JavaScript and
// re-encoding it. See py_lower_utf8 in olmo/ops/fasttext.h.
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "olmo/ops/fasttext.h"
#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace olmo::cpu {
namespace {

#include "text_lower.inc"

constexpr uint32_t kCapitalSigma = 0x3a3;   // lower case depends on context (Final_Sigma): not handled here
constexpr uint32_t kDottedCapitalI = 0x130;  // lower case "i\u0307", the one multi-character mapping

// Per-unit lower case of the BMP (surrogates map to themselves); plane 1 by binary search.
struct LowerTable {
  uint16_t bmp[65536];
  LowerTable() {
    for (uint32_t u = 0; u < 65536; ++u) bmp[u] = uint16_t(u);
    for (const auto& p : kLowerPairs)
      if (p[0] < 0x10000) bmp[p[0]] = uint16_t(p[1]);  // the generator checks BMP maps to BMP
  }
};
const LowerTable kLower;

uint32_t lower_astral(uint32_t c) {
  const auto* e = std::end(kLowerPairs);
  const auto* it = std::lower_bound(std::begin(kLowerPairs), e, c, [](const uint32_t (&p)[2], uint32_t v) { return p[0] < v; });
  return it != e && (*it)[0] == c ? (*it)[1] : c;
}

inline char* put_utf8(char* o, uint32_t c) {
  if (c < 0x80) {
    *o++ = char(c);
  } else if (c < 0x800) {
    *o++ = char(0xc0 | (c >> 6));
    *o++ = char(0x80 | (c & 0x3f));
  } else if (c < 0x10000) {
    *o++ = char(0xe0 | (c >> 12));
    *o++ = char(0x80 | ((c >> 6) & 0x3f));
    *o++ = char(0x80 | (c & 0x3f));
  } else {
    *o++ = char(0xf0 | (c >> 18));
    *o++ = char(0x80 | ((c >> 12) & 0x3f));
    *o++ = char(0x80 | ((c >> 6) & 0x3f));
    *o++ = char(0x80 | (c & 0x3f));
  }
  return o;
}

}  // namespace

int64_t py_lower_utf8(const uint16_t* s, int64_t n, ScratchBuffer<char>& buf, int64_t* code_points) {
  // at most 3 bytes per unit: a BMP unit takes <= 3 bytes (U+0130 → "i" + U+0307 = 3), a pair 4 for 2
  char* o = buf.reserve(size_t(3 * n + 64));
  int64_t pairs = 0;
  int64_t i = 0;
#if defined(__AVX2__)
  // OLMO_CPU_ISA=scalar: the scalar loop only (tests compare both paths)
  static const bool simd = [] {
    const char* isa = std::getenv("OLMO_CPU_ISA");
    return !(isa && std::strcmp(isa, "scalar") == 0);
  }();
#endif
  while (i < n) {
#if defined(__AVX2__)
    // ASCII fast path, 16 units at a time: A-Z → a-z, narrowed to bytes
    if (simd && i + 16 <= n) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i));
      if (_mm256_testz_si256(v, _mm256_set1_epi16(short(0xff80)))) {
        const __m256i up = _mm256_cmpeq_epi16(_mm256_subs_epu16(_mm256_sub_epi16(v, _mm256_set1_epi16('A')), _mm256_set1_epi16(25)), _mm256_setzero_si256());
        const __m256i lo = _mm256_or_si256(v, _mm256_and_si256(up, _mm256_set1_epi16(0x20)));
        const __m128i b = _mm_packus_epi16(_mm256_castsi256_si128(lo), _mm256_extracti128_si256(lo, 1));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(o), b);
        o += 16;
        i += 16;
        continue;
      }
    }
#endif
    const uint32_t u = s[i];
    if (u < 0x80) {
      *o++ = char(uint32_t(u - 'A') < 26u ? u | 0x20 : u);
      ++i;
      continue;
    }
    if ((u & 0xfc00) == 0xd800 && i + 1 < n && (s[i + 1] & 0xfc00) == 0xdc00) {
      const uint32_t c = 0x10000 + ((u - 0xd800) << 10) + (uint32_t(s[i + 1]) - 0xdc00);
      o = put_utf8(o, c < 0x20000 ? lower_astral(c) : c);
      ++pairs;
      i += 2;
      continue;
    }
    if ((u & 0xf800) == 0xd800) {  // a lone surrogate: V8's UTF-8 conversion writes U+FFFD
      o = put_utf8(o, 0xfffd);
      ++i;
      continue;
    }
    if (u == kCapitalSigma) return -1;
    if (u == kDottedCapitalI) {
      *o++ = 'i';
      o = put_utf8(o, 0x307);
      ++i;
      continue;
    }
    o = put_utf8(o, kLower.bmp[u]);
    ++i;
  }
  *code_points = n - pairs;
  return int64_t(o - buf.data());
}

}  // namespace olmo::cpu
