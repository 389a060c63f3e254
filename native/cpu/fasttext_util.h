// Byte-level helpers of native/cpu/fasttext.cc (internal): the model file reader, fastText's FNV-1a
// and word separators, this file's own token hash and bucket modulo, Python whitespace and UTF-8
// decoding for the strip of Dolma's preprocessing.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "olmo/check.h"

namespace olmo::cpu::ft {

#define FT_CORRUPT(cond, msg) \
  OLMO_CHECK(cond, "CHECKPOINT_CORRUPT", "fastText model: " << msg, "the file is not a fastText model (.bin/.ftz) or is damaged; re-fetch it")

// Bounds-checked little-endian reader over the file bytes.
struct Reader {
  const uint8_t* p;
  size_t n, off = 0;
  template <class T>
  T get(const char* what) {
    FT_CORRUPT(n - off >= sizeof(T), "truncated while reading " << what << " at byte " << off);
    T v;
    std::memcpy(&v, p + off, sizeof(T));
    off += sizeof(T);
    return v;
  }
  bool get_bool(const char* what) { return get<uint8_t>(what) != 0; }
  const uint8_t* bytes(uint64_t count, const char* what) {
    FT_CORRUPT(count <= n - off, "truncated: " << what << " needs " << count << " bytes at byte " << off << ", " << (n - off) << " left");
    const uint8_t* r = p + off;
    off += size_t(count);
    return r;
  }
  size_t left() const { return n - off; }
};

// FNV-1a over signed bytes (fastText sign-extends each char before the xor).
inline uint32_t fnv_step(uint32_t h, char c) { return (h ^ uint32_t(int32_t(int8_t(c)))) * 16777619u; }
inline uint32_t fnv(const char* s, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; ++i) h = fnv_step(h, s[i]);
  return h;
}

// The hash of a token in this file's own tables (the token cache and the vocabulary lookup): 8 bytes
// a step, where FNV-1a is a dependent multiply per byte. Never a fastText bucket: those (character
// and word n-grams) keep FNV-1a.
// The bytes [p, p + n), n <= 8, as one integer that differs for different bytes of the same length,
// read without going past p + n: two overlapping 4-byte loads, or for 1-3 bytes the first, middle
// and last byte (which between them are all of them).
inline uint64_t load_upto8(const char* p, size_t n) {
  if (n >= 4) {
    uint32_t lo, hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + n - 4, 4);
    return uint64_t(lo) | uint64_t(hi) << 32;
  }
  if (n == 0) return 0;
  return uint64_t(uint8_t(p[0])) | uint64_t(uint8_t(p[n >> 1])) << 8 | uint64_t(uint8_t(p[n - 1])) << 16;
}
inline uint64_t load8(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

// Hash of a token (the token caches and the vocabulary table; not fastText's own hash): up to 16
// bytes in one or two (overlapping) loads, no loop over the bytes.
inline uint32_t tok_hash(const char* s, size_t n) {
  uint64_t h = 0x9e3779b97f4a7c15ull ^ uint64_t(n);
  if (n <= 8) {
    h = (h ^ load_upto8(s, n)) * 0xbf58476d1ce4e5b9ull;
  } else {
    size_t i = 0;
    for (; i + 8 < n; i += 8) {
      h = (h ^ load8(s + i)) * 0xbf58476d1ce4e5b9ull;
      h ^= h >> 31;
    }
    h = (h ^ load8(s + n - 8)) * 0xbf58476d1ce4e5b9ull;  // the last 8 bytes (overlapping the loop's)
  }
  h ^= h >> 31;
  h *= 0x94d049bb133111ebull;
  return uint32_t(h >> 32);
}

// Equality of two byte strings of length n, inline (a token is usually a few bytes: a memcmp call
// costs more than the comparison).
inline bool tok_eq(const char* a, const char* b, size_t n) {
  if (n <= 8) return load_upto8(a, n) == load_upto8(b, n);
  if (n <= 16) return load8(a) == load8(b) && load8(a + n - 8) == load8(b + n - 8);
  return std::memcmp(a, b, n) == 0;
}

struct FastMod {
  uint64_t m = 0;
  uint32_t d = 1;
  void set(uint32_t divisor) { d = divisor; m = ~uint64_t(0) / divisor + 1; }
  uint32_t operator()(uint32_t x) const { return uint32_t((static_cast<unsigned __int128>(m * x) * d) >> 64); }
};

// fastText's word separators (Dictionary::readWord).
inline bool is_sep(unsigned char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f' || c == '\0';
}

// Python's str.isspace() for one code point.
inline bool py_space(uint32_t c) {
  if (c <= 0x20) return c == 0x20 || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
  if (c < 0x85) return false;
  return c == 0x85 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
         c == 0x202f || c == 0x205f || c == 0x3000;
}

// Decodes the UTF-8 code point starting at s[i] (end e); returns its length, or 0 if malformed.
inline size_t utf8_at(const unsigned char* s, size_t i, size_t e, uint32_t* cp) {
  unsigned char c = s[i];
  if (c < 0x80) { *cp = c; return 1; }
  size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
  if (len == 0 || i + len > e) return 0;
  uint32_t v = c & (0x7f >> len);
  for (size_t k = 1; k < len; ++k) {
    if ((s[i + k] & 0xc0) != 0x80) return 0;
    v = (v << 6) | (s[i + k] & 0x3f);
  }
  *cp = v;
  return len;
}

inline float std_log(float x) { return float(std::log(double(x) + 1e-5)); }

inline uint32_t next_pow2(uint64_t x) {
  uint32_t p = 16;
  while (p < x) p <<= 1;
  return p;
}

}  // namespace olmo::cpu::ft
