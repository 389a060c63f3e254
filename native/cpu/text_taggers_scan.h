// Shared scanning helpers of the text_taggers family (gopher in text_taggers_gopher.cc, c4 in
// text_taggers_c4.cc, pii in text_taggers_pii.cc): Python character classes over UTF-16 units,
// code-point lengths, hashing, interning and the per-text whitespace/newline/digit bitmaps.
// Internal to native/cpu (the public API is olmo/ops/text_taggers.h).
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace olmo::cpu::text {

// Python's str.isspace() (all such code points are in the BMP, so a code unit decides).
inline bool is_space(uint32_t c) {
  if (c <= 0x20) return c == 0x20 || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
  if (c < 0x85) return false;
  return c == 0x85 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
         c == 0x202f || c == 0x205f || c == 0x3000;
}
// \p{L} (str.isalpha) and \p{Nd} (re's \d) beyond ASCII: binary searches of the generated tables.
bool is_alpha_table(uint32_t c);
bool is_digit_table(uint32_t c);
inline bool is_alpha(uint32_t c) {
  if (c < 0x80) return uint32_t((c | 0x20) - 'a') < 26u;
  return is_alpha_table(c);
}
inline bool is_digit(uint32_t c) {
  if (c < 0x80) return uint32_t(c - '0') < 10u;
  return is_digit_table(c);
}
inline bool is_high(uint32_t u) { return (u & 0xfc00) == 0xd800; }
inline bool is_low(uint32_t u) { return (u & 0xfc00) == 0xdc00; }

// The code point at unit i (a lone surrogate is itself, as in JavaScript) and its unit length.
inline uint32_t cp_at(const uint16_t* s, int64_t n, int64_t i, int* len) {
  uint32_t u = s[i];
  if (is_high(u) && i + 1 < n && is_low(s[i + 1])) {
    *len = 2;
    return 0x10000 + ((u - 0xd800) << 10) + (uint32_t(s[i + 1]) - 0xdc00);
  }
  *len = 1;
  return u;
}

// Python len() of the units [a, b): units minus the low halves of surrogate pairs (pystr.ts cpLen).
inline int64_t cp_len(const uint16_t* s, int64_t a, int64_t b) {
  int64_t k = b - a;
  for (int64_t i = a + 1; i < b; i++) k -= (is_low(s[i]) & is_high(s[i - 1]));
  return k;
}

// Hash of a unit string, 4 units per step.
inline uint64_t hash_units(const uint16_t* p, int64_t len) {
  uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t(len) * 0xff51afd7ed558ccdull);
  int64_t i = 0;
  if (len >= 32) {  // a long string (a line): four independent chains, 16 units a step, then folded
    uint64_t c[4] = {h, h ^ 0x2545f4914f6cdd1dull, h ^ 0x6a09e667f3bcc909ull, h ^ 0xbb67ae8584caa73bull};
    for (; i + 16 <= len; i += 16) {
      for (int k = 0; k < 4; k++) {
        uint64_t w;
        std::memcpy(&w, p + i + 4 * k, 8);
        c[k] = ((c[k] << 23 | c[k] >> 41) ^ w) * 0x9e3779b97f4a7c15ull;
      }
    }
    h = ((c[0] ^ (c[1] << 17 | c[1] >> 47)) * 0xff51afd7ed558ccdull) ^ ((c[2] ^ (c[3] << 29 | c[3] >> 35)) * 0xc4ceb9fe1a85ec53ull);
  }
  for (; i + 4 <= len; i += 4) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = ((h << 23 | h >> 41) ^ w) * 0x9e3779b97f4a7c15ull;
  }
  if (i < len) {
    uint64_t w = p[i];
    if (i + 1 < len) w |= uint64_t(p[i + 1]) << 16;
    if (i + 2 < len) w |= uint64_t(p[i + 2]) << 32;
    h = ((h << 23 | h >> 41) ^ w) * 0x9e3779b97f4a7c15ull;
  }
  h ^= h >> 32;
  h *= 0xd6e8feb86659fd93ull;
  return h ^ (h >> 29);
}

// Per-BMP-unit classes, so the scanning loops are table lookups instead of comparison chains.
enum : uint16_t {
  kSpace = 1,      // str.isspace()
  kPunct = 2,      // . , ? ! ; : ) ( @   (the email pattern's [.\s@,?!;:)(] minus \s)
  kAt = 4,         // @
  kAsciiDigit = 8,      // 0-9
  kSurr = 16,      // a surrogate half
  kNotC = 32,      // \s @ , ? ! ; : ) (  (excluded by the email pattern's [^\s@,?!;:)(])
  kSep = 64,       // - . space             (the phone pattern's [-. ])
  kAlphaBmp = 128, // \p{L} (BMP)
  kSym = 256,      // # or U+2026
};
struct ClassTable {
  uint16_t c[65536];
  ClassTable();
};
extern const ClassTable kClasses;
inline uint16_t cls(uint16_t u) { return kClasses.c[u]; }
inline bool sp(uint16_t u) { return cls(u) & kSpace; }

// Equality of two unit strings of length l, 4 units per step (inline: most interned words are short,
// where a memcmp call costs more than the comparison).
inline bool units_equal(const uint16_t* x, const uint16_t* y, int64_t l) {
  int64_t i = 0;
  for (; i + 4 <= l; i += 4) {
    uint64_t a, b;
    std::memcpy(&a, x + i, 8);
    std::memcpy(&b, y + i, 8);
    if (a != b) return false;
  }
  for (; i < l; i++) if (x[i] != y[i]) return false;
  return true;
}

// Interns unit strings [start, start+len) of one text to ids in order of first appearance.
// Slots are 8 bytes (32 bits of the hash + the id): a document's table is sized by its word count,
// and halving it keeps more of it in the caches (each word probes it once).
struct Interner {
  struct Slot { uint32_t tag; int32_t id; };
  const uint16_t* s = nullptr;
  std::vector<Slot> slot;
  std::vector<int64_t> start;
  std::vector<int64_t> len;
  uint64_t mask = 0;
  void reset(const uint16_t* text, int64_t expected) {
    s = text;
    uint64_t cap = 16;
    while (cap < uint64_t(2 * expected + 16)) cap <<= 1;
    slot.assign(cap, Slot{0, -1});
    mask = cap - 1;
    start.clear();
    len.clear();
  }
  int32_t intern(int64_t a, int64_t l) { return intern_h(a, l, hash_units(s + a, l)); }
  int32_t intern_h(int64_t a, int64_t l, uint64_t h) {
    uint64_t i = (h * 0x9e3779b97f4a7c15ull) >> 20 & mask;
    const uint32_t tag = uint32_t(h >> 32);
    for (;; i = (i + 1) & mask) {
      const Slot e = slot[i];
      if (e.id < 0) break;
      if (e.tag == tag && len[size_t(e.id)] == l && units_equal(s + start[size_t(e.id)], s + a, l)) return e.id;
    }
    int32_t id = int32_t(start.size());
    slot[i] = Slot{tag, id};
    start.push_back(a);
    len.push_back(l);
    return id;
  }
  int32_t size() const { return int32_t(start.size()); }
};


// Bitmaps of one text, 64 units per word (bits past n read as whitespace): Python whitespace,
// "\n", ASCII digits, and "may continue a phone number" ( "(" / ASCII digit / any non-ASCII unit),
// plus whether the text has any "@", ASCII digit, non-ASCII unit, surrogate or U+0130. Built with
// AVX2 16 units at a time where available (non-ASCII lanes are fixed up from the class table).
// alpha / sym: the BMP units of class kAlphaBmp / kSym (gopher_v1's per-word tests; surrogates are
// in neither: texts with one take gopher's per-unit path), built only when asked (word_classes).
struct TextBits {
  std::vector<uint64_t> space, newline, digit, phone_next, alpha, sym;
  bool word_classes = false;  // alpha and sym are this text's
  bool any_at = false, any_digit = false, any_non_ascii = false, any_surrogate = false, any_dotted_i = false;
  bool sp(int64_t i) const { return space[size_t(i >> 6)] >> (i & 63) & 1; }
};

void text_bits(const uint16_t* s, int64_t n, TextBits& tb, bool word_classes = false);

// Whether the AVX2 loops of this family run (compiled with AVX2 and OLMO_CPU_ISA is not "scalar";
// read once): the tests run the taggers both ways and compare.
bool text_simd();


// Word-start bits: non-space units whose predecessor is space (or the text start).
inline uint64_t word_starts(const TextBits& tb, size_t w) {
  const uint64_t sp = tb.space[w];
  const uint64_t prev = (sp << 1) | (w == 0 ? 1 : tb.space[w - 1] >> 63);
  return ~sp & prev;
}
// Number of words (len(text.split())) starting in [a, b).
inline int64_t count_words(const TextBits& tb, int64_t a, int64_t b) {
  int64_t c = 0;
  if (a >= b) return 0;
  size_t wa = size_t(a >> 6), wb = size_t((b - 1) >> 6);
  for (size_t w = wa; w <= wb; w++) {
    uint64_t m = word_starts(tb, w);
    if (w == wa) m &= ~uint64_t(0) << (a & 63);
    if (w == wb && ((b & 63) != 0)) m &= (uint64_t(1) << (b & 63)) - 1;
    c += __builtin_popcountll(m);
  }
  return c;
}
// Next set bit at or after i in `bits` (n if none).
inline int64_t next_bit(const std::vector<uint64_t>& bits, int64_t i, int64_t n) {
  if (i >= n) return n;
  size_t w = size_t(i >> 6);
  uint64_t m = bits[w] & (~uint64_t(0) << (i & 63));
  while (!m) {
    if (++w >= bits.size()) return n;
    m = bits[w];
  }
  return std::min<int64_t>(int64_t(w) * 64 + __builtin_ctzll(m), n);
}
// Next unit at or after i that is (want_space ? whitespace : not whitespace); n if none.
inline int64_t next_space_state(const TextBits& tb, int64_t i, int64_t n, bool want_space) {
  if (i >= n) return n;
  size_t w = size_t(i >> 6);
  uint64_t m = (want_space ? tb.space[w] : ~tb.space[w]) & (~uint64_t(0) << (i & 63));
  while (!m) {
    if (++w >= tb.space.size()) return n;
    m = want_space ? tb.space[w] : ~tb.space[w];
  }
  return std::min<int64_t>(int64_t(w) * 64 + __builtin_ctzll(m), n);
}

// Calls f(a, e) for each word [a, e) of text.split() in order, from the transitions of the whitespace
// bitmap (bits past n are whitespace, so the last word ends by n): a word costs two bit extractions,
// and the only data-dependent branch is the end of each 64-unit block.
template <class F>
__attribute__((always_inline)) inline void for_each_word(const TextBits& tb, int64_t n, F&& f) {
  const size_t nw = size_t(n >> 6) + 1;  // the word holding bit n (a space) included
  uint64_t carry = 1;  // the unit before the text counts as a space
  bool in = false;
  int64_t a = 0;
  for (size_t w = 0; w < nw; w++) {
    const uint64_t sp = tb.space[w];
    uint64_t t = sp ^ ((sp << 1) | carry);  // bit i: unit i differs from unit i - 1 (start or end)
    carry = sp >> 63;
    while (t) {
      const int64_t p = int64_t(w) * 64 + __builtin_ctzll(t);
      t &= t - 1;
      if (!in) a = p;
      else f(a, p);
      in = !in;
    }
  }
}

inline bool eq_ascii(const uint16_t* p, int64_t l, const char* w) {
  for (int64_t i = 0; i < l; i++) if (w[i] == 0 || p[i] != uint16_t(uint8_t(w[i]))) return false;
  return w[l] == 0;
}

}  // namespace olmo::cpu::text
