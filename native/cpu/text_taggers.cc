// Dolma's gopher_v1 / c4_v1 / pii_regex_v2 statistics over UTF-16 text (see
// native/include/olmo/ops/text_taggers.h). Each function mirrors its JavaScript reference in
// packages/data/src/curation/taggers/ step by step, including the double arithmetic, so the
// results are identical (test: packages/data/test/curation/native-taggers.test.ts).
#include "olmo/ops/text_taggers.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace olmo::cpu {
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

// Python's str.isspace() (all such code points are in the BMP, so a code unit decides).
inline bool is_space(uint32_t c) {
  if (c <= 0x20) return c == 0x20 || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
  if (c < 0x85) return false;
  return c == 0x85 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
         c == 0x202f || c == 0x205f || c == 0x3000;
}
inline bool is_alpha(uint32_t c) {
  if (c < 0x80) return uint32_t((c | 0x20) - 'a') < 26u;
  return in_ranges(kAlpha, c);
}
inline bool is_digit(uint32_t c) {
  if (c < 0x80) return uint32_t(c - '0') < 10u;
  return in_ranges(kDigit, c);
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
  ClassTable() {
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
};
const ClassTable kClasses;
inline uint16_t cls(uint16_t u) { return kClasses.c[u]; }
inline bool sp(uint16_t u) { return cls(u) & kSpace; }

// Interns unit strings [start, start+len) of one text to ids in order of first appearance.
struct Interner {
  struct Slot { uint64_t hash; int64_t id; };
  const uint16_t* s = nullptr;
  std::vector<Slot> slot;
  std::vector<int64_t> start;
  std::vector<int64_t> len;
  std::vector<uint64_t> hash;
  uint64_t mask = 0;
  void reset(const uint16_t* text, int64_t expected) {
    s = text;
    uint64_t cap = 16;
    while (cap < uint64_t(2 * expected + 16)) cap <<= 1;
    slot.assign(cap, Slot{0, -1});
    mask = cap - 1;
    start.clear();
    len.clear();
    hash.clear();
  }
  int32_t intern(int64_t a, int64_t l) { return intern_h(a, l, hash_units(s + a, l)); }
  int32_t intern_h(int64_t a, int64_t l, uint64_t h) {
    uint64_t i = (h * 0x9e3779b97f4a7c15ull) >> 20 & mask;
    for (;; i = (i + 1) & mask) {
      const Slot& e = slot[i];
      if (e.id < 0) break;
      if (e.hash == h && len[e.id] == l && std::memcmp(s + start[e.id], s + a, size_t(l) * 2) == 0) return int32_t(e.id);
    }
    int32_t id = int32_t(start.size());
    slot[i] = Slot{h, id};
    start.push_back(a);
    len.push_back(l);
    hash.push_back(h);
    return id;
  }
  int32_t size() const { return int32_t(start.size()); }
};


// Bitmaps of one text, 64 units per word (bits past n read as whitespace): Python whitespace,
// "\n", ASCII digits, and "may continue a phone number" ( "(" / ASCII digit / any non-ASCII unit),
// plus whether the text has any "@", ASCII digit, non-ASCII unit, surrogate or U+0130. Built with
// AVX2 16 units at a time where available (non-ASCII lanes are fixed up from the class table).
struct TextBits {
  std::vector<uint64_t> space, newline, digit, phone_next;
  bool any_at = false, any_digit = false, any_non_ascii = false, any_surrogate = false, any_dotted_i = false;
  bool sp(int64_t i) const { return space[size_t(i >> 6)] >> (i & 63) & 1; }
};

void text_bits(const uint16_t* s, int64_t n, TextBits& tb) {
  const size_t nw = size_t((n + 64) / 64);
  tb.space.assign(nw, 0);
  tb.newline.assign(nw, 0);
  tb.digit.assign(nw, 0);
  tb.phone_next.assign(nw, 0);
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
  for (; i + 64 <= n; i += 64) {
    uint64_t spm = 0, nlm = 0, dgm = 0, pnm = 0;
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
      if (hi_m) {
        tb.any_non_ascii = true;
        for (uint32_t m = hi_m; m; m &= m - 1) {
          const uint16_t u = s[i + 16 * k + __builtin_ctz(m)];
          const uint16_t c = cls(u);
          if (c & kSpace) w |= 1u << __builtin_ctz(m);
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
    }
    tb.space[size_t(i >> 6)] = spm;
    tb.newline[size_t(i >> 6)] = nlm;
    tb.digit[size_t(i >> 6)] = dgm;
    tb.phone_next[size_t(i >> 6)] = pnm;
  }
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
    if (u == '@') tb.any_at = true;
    if (u >= 0x80) tb.any_non_ascii = true;
    if (c & kSurr) tb.any_surrogate = true;
    if (u == 0x130) tb.any_dotted_i = true;
  }
  for (int64_t j = n; j < int64_t(nw) * 64; j++) tb.space[size_t(j >> 6)] |= uint64_t(1) << (j & 63);
}

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

inline bool eq_ascii(const uint16_t* p, int64_t l, const char* w) {
  for (int64_t i = 0; i < l; i++) if (w[i] == 0 || p[i] != uint16_t(uint8_t(w[i]))) return false;
  return w[l] == 0;
}

const char* const kRequiredWords[] = {"the", "be", "to", "of", "and", "that", "have", "with"};

}  // namespace

void gopher_stats(const uint16_t* s, int64_t n, double* o) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (int k = 0; k < kGopherOut; k++) o[k] = k >= 10 ? nan : 0.0;
  const int64_t cc = cp_len(s, 0, n);
  o[0] = double(cc);
  if (cc == 0) return;

  thread_local std::vector<int64_t> wstart_tl;
  auto& wstart = wstart_tl;  // one TLS lookup, not one per use
  thread_local std::vector<int32_t> lens_tl;
  auto& lens = lens_tl;  // one TLS lookup, not one per use
  thread_local std::vector<uint64_t> whash_tl;
  auto& whash = whash_tl;  // one TLS lookup, not one per use
  thread_local std::vector<int64_t> wunits_tl;
  auto& wunits = wunits_tl;  // one TLS lookup, not one per use
  wstart.clear();
  lens.clear();
  whash.clear();
  wunits.clear();
  thread_local TextBits tb_tl;
  auto& tb = tb_tl;  // one TLS lookup, not one per use
  text_bits(s, n, tb);
  int64_t sym = 0, alpha = 0, req = 0, char_count = 0, n_lines = 1;
  for (uint64_t w : tb.newline) n_lines += __builtin_popcountll(w);
  for (int64_t i = 0; i < n;) {
    i = next_space_state(tb, i, n, false);
    if (i >= n) break;
    const int64_t a = i;
    const int64_t e = next_space_state(tb, a, n, true);
    uint16_t acc = 0;
    int64_t pairs = 0;
    bool astral_alpha = false;
    for (int64_t j = a; j < e; j++) acc |= cls(s[j]);
    if (acc & kSurr) {
      for (int64_t j = a; j + 1 < e; j++) {
        if (is_high(s[j]) && is_low(s[j + 1])) {
          int l;
          if (is_alpha(cp_at(s, n, j, &l))) astral_alpha = true;
          pairs++;
          j++;
        }
      }
    }
    i = e;
    const int64_t wl = i - a;
    const int64_t cps = wl - pairs;
    wstart.push_back(a);
    wunits.push_back(wl);
    whash.push_back(hash_units(s + a, wl));
    lens.push_back(int32_t(cps));
    char_count += cps;
    sym += (acc & kSym) != 0;
    alpha += (acc & kAlphaBmp) != 0 || astral_alpha;
    if (wl >= 2 && wl <= 4)
      for (const char* w : kRequiredWords) if (eq_ascii(s + a, wl, w)) { req++; break; }
  }
  const int64_t wc = int64_t(wstart.size());
  o[1] = double(wc);
  if (wc > 0) {
    thread_local std::vector<int32_t> tmp_tl;
    auto& tmp = tmp_tl;  // one TLS lookup, not one per use
    tmp.assign(lens.begin(), lens.end());
    const int64_t m = wc >> 1;
    std::nth_element(tmp.begin(), tmp.begin() + m, tmp.end());
    const double hi = tmp[m];
    if (wc % 2) o[2] = hi;
    else o[2] = (double(*std::max_element(tmp.begin(), tmp.begin() + m)) + hi) / 2;
  }
  const double wden = double(std::max<int64_t>(wc, 1));
  o[3] = double(sym) / wden;
  o[4] = double(alpha) / wden;
  o[5] = double(req);

  // n-gram counts: the algorithm of gopherStats() (ids in order of first appearance, so the
  // smallest id among equal counts is Counter.most_common(1)'s pick).
  thread_local Interner words_tl;
  auto& words = words_tl;  // one TLS lookup, not one per use
  words.reset(s, wc);
  thread_local std::vector<int32_t> wid_tl;
  auto& wid = wid_tl;  // one TLS lookup, not one per use
  thread_local std::vector<int32_t> prev_tl;
  auto& prev = prev_tl;  // one TLS lookup, not one per use
  thread_local std::vector<int32_t> prev_counts_tl;
  auto& prev_counts = prev_counts_tl;  // one TLS lookup, not one per use
  thread_local std::vector<int32_t> cur_tl;
  auto& cur = cur_tl;  // one TLS lookup, not one per use
  thread_local std::vector<int32_t> counts_tl;
  auto& counts = counts_tl;  // one TLS lookup, not one per use
  thread_local std::vector<int64_t> chars_tl;
  auto& chars = chars_tl;  // one TLS lookup, not one per use
  wid.resize(wc);
  prev_counts.assign(wc, 0);
  for (int64_t i = 0; i < wc; i++) {
    int32_t id = words.intern_h(wstart[i], wunits[i], whash[i]);
    wid[i] = id;
    prev_counts[id]++;
  }
  prev.assign(wid.begin(), wid.end());
  uint64_t cap = 16;
  while (cap < uint64_t(2 * wc)) cap <<= 1;
  // slot valid iff its stamp is the current one: no clearing between n or documents
  struct NgSlot { int32_t a, b, v; uint32_t stamp; };
  thread_local std::vector<NgSlot> tab_tl;
  auto& tab = tab_tl;  // one TLS lookup, not one per use
  thread_local uint32_t stamp_tl = 0;
  auto& stamp = stamp_tl;  // one TLS lookup, not one per use
  if (tab.size() < cap) tab.assign(cap, NgSlot{0, 0, -1, 0});
  bool all_unique = false;  // every (n-1)-gram occurs once → so does every longer n-gram
  const double cden = double(std::max<int64_t>(char_count, 1));
  for (int nn = 2; nn <= 10; nn++) {
    const int64_t m = wc - nn + 1;
    if (m <= 0) break;
    if (all_unique) {
      // as the loop below would compute: every id has count 1, the first n-gram (id 0) is the
      // most common, and nothing is duplicated
      if (nn <= 4) {
        int64_t c0 = 0;
        for (int k = 0; k < nn; k++) c0 += lens[k];
        o[10 + nn - 2] = double(1) * double(c0) / cden;
      } else {
        o[13 + nn - 5] = 0.0;
      }
      continue;
    }
    // table sized for this level's lookups only (n-grams whose prefix repeats): smaller → fewer cache misses
    int64_t lookups = 0;
    for (int64_t i = 0; i < m; i++) lookups += prev_counts[prev[i]] != 1;
    uint64_t lcap = 16;
    int bits_n = 4;
    while (lcap < uint64_t(2 * lookups)) { lcap <<= 1; bits_n++; }
    const uint64_t mask = lcap - 1;
    if (++stamp == 0) {
      for (auto& e : tab) e.stamp = 0;
      stamp = 1;
    }
    cur.resize(m);
    counts.assign(m, 0);
    chars.resize(m);
    int32_t nids = 0;
    int64_t c = 0;
    for (int k = 0; k < nn; k++) c += lens[k];
    for (int64_t i = 0; i < m; i++) {
      if (i > 0) c += lens[i + nn - 1] - lens[i - 1];
      const int32_t a = prev[i];
      if (prev_counts[a] == 1) {
        const int32_t id = nids++;
        chars[id] = c;
        counts[id] = 1;
        cur[i] = id;
        continue;
      }
      const int32_t b = wid[i + nn - 1];
      uint64_t h = (uint32_t(uint32_t(a) * 0x9e3779b1u ^ uint32_t(b)) * 0x85ebca77u) >> (32 - bits_n);
      int32_t id = -1;
      while (tab[h].stamp == stamp) {
        if (tab[h].a == a && tab[h].b == b) { id = tab[h].v; break; }
        h = (h + 1) & mask;
      }
      if (id == -1) {
        id = nids++;
        tab[h] = NgSlot{a, b, id, stamp};
        chars[id] = c;
      }
      counts[id]++;
      cur[i] = id;
    }
    if (nn <= 4) {
      int32_t best = 0;
      for (int32_t id = 1; id < nids; id++) if (counts[id] > counts[best]) best = id;
      o[10 + nn - 2] = double(counts[best]) * double(chars[best]) / cden;
    } else {
      int64_t all = 0, dup = 0;
      for (int32_t id = 0; id < nids; id++) {
        const int64_t x = int64_t(counts[id]) * chars[id];
        all += x;
        if (counts[id] > 1) dup += x;
      }
      o[13 + nn - 5] = double(dup) / double(std::max<int64_t>(all, 1));
    }
    all_unique = nids == m;
    std::swap(prev, cur);
    std::swap(prev_counts, counts);
  }

  // lines = text.split("\n")
  thread_local Interner lines_tl;
  auto& lines = lines_tl;  // one TLS lookup, not one per use
  lines.reset(s, n_lines);
  thread_local std::vector<int32_t> line_counts_tl;
  auto& line_counts = line_counts_tl;  // one TLS lookup, not one per use
  line_counts.clear();
  int64_t bullet = 0, ellipsis = 0;
  for (int64_t a = 0;;) {
    int64_t b = a;
    while (b < n && s[b] != '\n') b++;
    if (b > a && (s[a] == '*' || s[a] == '-')) bullet++;
    if (b > a && s[b - 1] == 0x2026) ellipsis++;
    int32_t id = lines.intern(a, b - a);
    if (id == int32_t(line_counts.size())) line_counts.push_back(0);
    line_counts[id]++;
    if (b >= n) break;
    a = b + 1;
  }
  const double lden = double(std::max<int64_t>(n_lines, 1));
  o[6] = double(bullet) / lden;
  o[7] = double(ellipsis) / lden;
  int64_t dup_lines = 0, dup_chars = 0;
  for (int32_t id = 0; id < lines.size(); id++) {
    const int64_t c = line_counts[id];
    if (c > 1) {
      dup_lines += c;
      dup_chars += cp_len(s, lines.start[id], lines.start[id] + lines.len[id]) * c;
    }
  }
  o[8] = double(dup_lines) / lden;
  o[9] = double(dup_chars) / cden;
}

// ---------------------------------------------------------------------------------------- c4_v1

struct C4Lexicon {
  std::vector<std::u16string> words;  // single bad words
  std::vector<uint64_t> word_hash;
  std::vector<int32_t> word_slot;     // open addressing over word_hash
  uint64_t word_mask = 0;
  size_t max_word = 0;
  std::vector<std::u16string> phrases;
  std::vector<std::vector<int32_t>> bucket;  // by the first two units of a phrase
  uint64_t bucket_bits[64] = {};             // which buckets are non-empty
};

namespace {
inline uint32_t bucket_of(uint16_t a, uint16_t b) { return (uint32_t(a) * 31u + b) & 4095u; }

bool word_in(const C4Lexicon& lex, const uint16_t* p, int64_t l) {
  if (size_t(l) > lex.max_word || lex.word_slot.empty()) return false;
  uint64_t h = hash_units(p, l);
  for (uint64_t i = (h * 0x9e3779b97f4a7c15ull) >> 20 & lex.word_mask;; i = (i + 1) & lex.word_mask) {
    int32_t id = lex.word_slot[i];
    if (id < 0) return false;
    const std::u16string& w = lex.words[id];
    if (lex.word_hash[id] == h && int64_t(w.size()) == l && std::memcmp(w.data(), p, size_t(l) * 2) == 0) return true;
  }
}

inline bool list_chars_ok(const std::u16string& w) {
  // Non-ASCII characters of the list must be caseless non-letters (no lower-case mapping yields
  // them), so keeping non-ASCII text as is in the native lower-casing cannot change a match.
  for (size_t i = 0; i < w.size();) {
    int l;
    uint32_t c = cp_at(reinterpret_cast<const uint16_t*>(w.data()), int64_t(w.size()), int64_t(i), &l);
    i += size_t(l);
    if (c < 0x80) { if (c >= 'A' && c <= 'Z') return false; continue; }
    if (is_alpha(c) || (c >= 0x300 && c <= 0x36f) || is_high(c) || is_low(c)) return false;
  }
  return true;
}
}  // namespace

bool c4_lexicon_supported(const std::vector<std::u16string>& words, const std::vector<std::u16string>& phrases) {
  for (const auto& w : words) if (w.empty() || !list_chars_ok(w)) return false;
  for (const auto& p : phrases) {
    if (p.size() < 2 || !list_chars_ok(p) || is_space(p.front()) || is_space(p.back())) return false;
    if (p.find(u'\n') != std::u16string::npos) return false;
  }
  return true;
}

C4Lexicon* c4_lexicon_new(const std::vector<std::u16string>& words, const std::vector<std::u16string>& phrases) {
  auto* lex = new C4Lexicon();
  lex->words = words;
  uint64_t cap = 16;
  while (cap < 2 * words.size() + 16) cap <<= 1;
  lex->word_slot.assign(cap, -1);
  lex->word_mask = cap - 1;
  for (size_t k = 0; k < words.size(); k++) {
    const auto& w = words[k];
    uint64_t h = hash_units(reinterpret_cast<const uint16_t*>(w.data()), int64_t(w.size()));
    lex->word_hash.push_back(h);
    lex->max_word = std::max(lex->max_word, w.size());
    uint64_t i = (h * 0x9e3779b97f4a7c15ull) >> 20 & lex->word_mask;
    while (lex->word_slot[i] >= 0) i = (i + 1) & lex->word_mask;
    lex->word_slot[i] = int32_t(k);
  }
  lex->phrases = phrases;
  lex->bucket.resize(4096);
  for (size_t k = 0; k < phrases.size(); k++) {
    const uint32_t key = bucket_of(phrases[k][0], phrases[k][1]);
    lex->bucket[key].push_back(int32_t(k));
    lex->bucket_bits[key >> 6] |= uint64_t(1) << (key & 63);
  }
  return lex;
}

void c4_lexicon_free(C4Lexicon* lex) { delete lex; }

void c4_spans(const C4Lexicon* lex, const uint16_t* s, int64_t n, std::vector<double>& out) {
  thread_local std::vector<double> no_punct_tl;
  auto& no_punct = no_punct_tl;  // one TLS lookup, not one per use
  thread_local std::vector<double> few_tl;
  auto& few = few_tl;  // one TLS lookup, not one per use
  no_punct.clear();
  few.clear();
  // lines of text.split("\n"): span [offset, end) in code points, end past the "\n" except last
  thread_local TextBits tb_tl;
  auto& tb = tb_tl;  // one TLS lookup, not one per use
  text_bits(s, n, tb);
  int64_t n_lines = 0, offset = 0;
  for (int64_t a = 0;;) {
    const int64_t b = next_bit(tb.newline, a, n);
    const int64_t words = count_words(tb, a, b);
    int64_t pairs = 0;
    if (tb.any_surrogate)
      for (int64_t j = a + 1; j < b; j++) pairs += is_low(s[j]) && is_high(s[j - 1]);
    int64_t last = b - 1;
    while (last >= a && tb.sp(last)) last--;
    n_lines++;
    const int64_t end = offset + (b - a - pairs) + (b < n ? 1 : 0);
    // line.lower().strip() ends with . ? ! or " ⇔ the last non-space character does (lower-casing
    // maps letters only, and never to or from whitespace)
    const uint16_t lc = last >= a ? s[last] : 0;
    if (!(lc == '.' || lc == '?' || lc == '!' || lc == '"')) { no_punct.push_back(double(offset)); no_punct.push_back(double(end)); }
    if (words < 3) { few.push_back(double(offset)); few.push_back(double(end)); }
    offset = end;
    if (b >= n) break;
    a = b + 1;
  }

  // text.lower(), exactly where it matters: ASCII letters, and the few non-ASCII characters whose
  // lower case contains ASCII (generated kLowerToAscii); other non-ASCII units are kept, which
  // cannot create or destroy a match with the (ASCII or caseless) list, "javascript" or "lorem ipsum".
  thread_local std::vector<uint16_t> low_tl;
  auto& low = low_tl;  // one TLS lookup, not one per use
  low.clear();
  low.reserve(size_t(n) + 16);
  for (int64_t i = 0; i < n; i++) {
    const uint16_t u = s[i];
    if (u < 0x80) { low.push_back(uint16_t(u - 'A') < 26u ? uint16_t(u | 0x20) : u); continue; }
    bool mapped = false;
    for (const auto& m : kLowerToAscii) {
      if (m.cp == u) {
        for (int k = 0; k < m.len; k++) low.push_back(m.to[k]);
        mapped = true;
        break;
      }
    }
    if (!mapped) low.push_back(u);
  }
  const uint16_t* L = low.data();
  const int64_t ln = int64_t(low.size());
  bool naughty = false, js = false;
  static const char16_t kJs[] = u"javascript";
  if (!tb.any_dotted_i) {  // no expansion: the lower-cased text has the original's whitespace bitmap
    for (int64_t i = 0; i < ln && !(naughty && js);) {
      const int64_t a = next_space_state(tb, i, ln, false);
      if (a >= ln) break;
      i = next_space_state(tb, a, ln, true);
      if (!naughty && word_in(*lex, L + a, i - a)) naughty = true;
      if (!js && i - a == 10 && std::memcmp(L + a, kJs, 20) == 0) js = true;
    }
  } else {
    for (int64_t i = 0; i < ln && !(naughty && js);) {
      if (sp(L[i])) { i++; continue; }
      int64_t a = i;
      while (i < ln && !sp(L[i])) i++;
      if (!naughty && word_in(*lex, L + a, i - a)) naughty = true;
      if (!js && i - a == 10 && std::memcmp(L + a, kJs, 20) == 0) js = true;
    }
  }
  if (!naughty) {
    for (int64_t i = 0; i + 1 < ln && !naughty; i++) {
      const uint32_t key = bucket_of(L[i], L[i + 1]);
      if (!(lex->bucket_bits[key >> 6] >> (key & 63) & 1)) continue;
      const auto& b = lex->bucket[key];
      for (int32_t k : b) {
        const auto& p = lex->phrases[size_t(k)];
        if (i + int64_t(p.size()) <= ln && std::memcmp(L + i, p.data(), p.size() * 2) == 0) { naughty = true; break; }
      }
    }
  }
  static const char16_t kLorem[] = u"lorem ipsum";
  bool lorem = false;
  for (int64_t i = 0; i + 11 <= ln; i++) if (L[i] == 'l' && std::memcmp(L + i, kLorem, 22) == 0) { lorem = true; break; }
  bool curly = std::find(s, s + n, uint16_t('{')) != s + n;

  out.push_back(double(n_lines));
  out.push_back(double((naughty ? 1 : 0) | (js ? 2 : 0) | (lorem ? 4 : 0) | (curly ? 8 : 0)));
  out.push_back(double(no_punct.size() / 2));
  out.push_back(double(few.size() / 2));
  out.push_back(double(offset));  // the last line's end = len(text)
  out.insert(out.end(), no_punct.begin(), no_punct.end());
  out.insert(out.end(), few.begin(), few.end());
}

// ---------------------------------------------------------------------------------- pii_regex_v2

namespace {
// EMAIL: [.\s@,?!;:)(]*([^\s@]+@[^\s@,?!;:)(]+?)[.\s@,?!;:)(]?[\s\n\r]
inline bool is_p(uint16_t u) { return cls(u) & (kPunct | kSpace); }  // [.\s@,?!;:)(]
inline bool is_c(uint16_t u) { return !(cls(u) & kNotC); }           // [^\s@,?!;:)(]
inline bool is_sa(uint16_t u) { return cls(u) & (kAt | kSpace); }

// The part after "@" (at unit a): lazy C+, then [P]? greedy, then \s. Returns the match end or -1.
int64_t email_rest(const uint16_t* s, int64_t n, int64_t a) {
  for (int64_t q = a + 2;; q++) {
    if (q - 1 >= n || !is_c(s[q - 1])) return -1;
    if (q < n && is_p(s[q]) && q + 1 < n && is_space(s[q + 1])) return q + 2;
    if (q < n && is_space(s[q])) return q + 1;
    if (q >= n) return -1;
  }
}

// Backtracking of the email pattern from start p reduces to: the greedy P-run from p ends at r;
// B+ may start at r or (backing off) inside the run; B+ always runs to the next whitespace or "@",
// which must be "@" (at a), then the rest must match from a. Candidates in backtracking order: a
// after r first, then each "@" inside [p, r) preceded by a non-space non-"@" unit, from the right.
void email_matches(const uint16_t* s, int64_t n, std::vector<double>& out) {
  thread_local std::vector<int64_t> pend_tl;
  auto& pend = pend_tl;  // one TLS lookup, not one per use
  thread_local std::vector<int64_t> nsa_tl;
  auto& nsa = nsa_tl;  // one TLS lookup, not one per use
  thread_local std::vector<int64_t> good_at_tl;
  auto& good_at = good_at_tl;  // one TLS lookup, not one per use
  thread_local std::vector<int64_t> memo_tl;
  auto& memo = memo_tl;  // one TLS lookup, not one per use
  pend.resize(size_t(n) + 1);
  nsa.resize(size_t(n) + 1);
  good_at.resize(size_t(n) + 1);
  memo.assign(size_t(n) + 1, -2);
  pend[n] = n;
  nsa[n] = n;
  for (int64_t i = n - 1; i >= 0; i--) {
    pend[i] = is_p(s[i]) ? pend[i + 1] : i;
    nsa[i] = is_sa(s[i]) ? i : nsa[i + 1];
  }
  int64_t last = -1;  // good_at[i]: largest z < i with s[z] == '@' and s[z-1] not space/@
  for (int64_t i = 0; i <= n; i++) {
    good_at[i] = last;
    if (i < n && s[i] == '@' && i >= 1 && !is_sa(s[i - 1])) last = i;
  }
  auto rest = [&](int64_t a) {
    if (memo[a] == -2) memo[a] = email_rest(s, n, a);
    return memo[a];
  };
  for (int64_t p = 0; p < n;) {
    const int64_t r = pend[p];
    int64_t end = -1;
    if (r < n) {
      const int64_t a = nsa[r];
      if (a < n && s[a] == '@') end = rest(a);
    }
    for (int64_t z = good_at[r]; end < 0 && z - 1 >= p; z = good_at[z]) end = rest(z);
    if (end >= 0) {
      out.push_back(0);
      out.push_back(double(p));
      out.push_back(double(end));
      p = end;
    } else {
      p++;
    }
  }
}

// PHONE: [\s]+\(?(\d{3})\)?[-\. ]*(\d{3})[-. ]?(\d{4}) with \d = \p{Nd}. Every quantifier is
// deterministic here (backing off any of them leaves a character the next item cannot match), so
// the match from the first whitespace of a run is the greedy walk, and no later start in the run
// can succeed if it fails.
inline bool digits(const uint16_t* s, int64_t n, int64_t* i, int k) {
  for (int j = 0; j < k; j++) {
    if (*i >= n) return false;
    int l;
    uint32_t c = cp_at(s, n, *i, &l);
    if (!is_digit(c)) return false;
    *i += l;
  }
  return true;
}
inline bool is_sep(uint16_t u) { return cls(u) & kSep; }

void phone_matches(const uint16_t* s, int64_t n, const TextBits& tb, std::vector<double>& out) {
  // candidates: the last whitespace unit of a run whose next unit may start "(" / a digit
  int64_t pos = 0;
  for (size_t w = 0; w < tb.space.size(); w++) {
    const uint64_t sp = tb.space[w];
    const uint64_t next_sp = (sp >> 1) | (w + 1 < tb.space.size() ? tb.space[w + 1] << 63 : uint64_t(1) << 63);
    const uint64_t next_pn = (tb.phone_next[w] >> 1) | (w + 1 < tb.space.size() ? tb.phone_next[w + 1] << 63 : 0);
    for (uint64_t m = sp & ~next_sp & next_pn; m; m &= m - 1) {
      const int64_t last = int64_t(w) * 64 + __builtin_ctzll(m);
      if (last >= n || last < pos) continue;
      int64_t p = last;
      while (p > pos && tb.sp(p - 1)) p--;
      int64_t i = last + 1;
      if (i < n && s[i] == '(') i++;
      bool ok = digits(s, n, &i, 3);
      if (ok) {
        if (i < n && s[i] == ')') i++;
        while (i < n && is_sep(s[i])) i++;
        ok = digits(s, n, &i, 3);
      }
      if (ok) {
        if (i < n && is_sep(s[i])) i++;
        ok = digits(s, n, &i, 4);
      }
      if (ok) {
        out.push_back(1);
        out.push_back(double(p));
        out.push_back(double(i));
        pos = i;
      }
    }
  }
}

// IP: (?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)
inline bool d09(const uint16_t* s, int64_t n, int64_t i) { return i < n && (cls(s[i]) & kAsciiDigit); }
// The ends of the octet alternatives at i, in backtracking order.
int octet_ends(const uint16_t* s, int64_t n, int64_t i, int64_t* e) {
  int k = 0;
  if (i + 2 < n && s[i] == '2' && s[i + 1] == '5' && s[i + 2] >= '0' && s[i + 2] <= '5') e[k++] = i + 3;
  if (i + 2 < n && s[i] == '2' && s[i + 1] >= '0' && s[i + 1] <= '4' && d09(s, n, i + 2)) e[k++] = i + 3;
  if (i < n && (s[i] == '0' || s[i] == '1') && d09(s, n, i + 1)) {
    if (d09(s, n, i + 2)) e[k++] = i + 3;
    e[k++] = i + 2;
  }
  if (d09(s, n, i)) {
    if (d09(s, n, i + 1)) e[k++] = i + 2;
    e[k++] = i + 1;
  }
  return k;
}
int64_t ip_from(const uint16_t* s, int64_t n, int64_t i, int k) {
  int64_t e[6];
  int m = octet_ends(s, n, i, e);
  if (k == 3) return m > 0 ? e[0] : -1;
  for (int j = 0; j < m; j++) {
    if (e[j] < n && s[e[j]] == '.') {
      int64_t r = ip_from(s, n, e[j] + 1, k + 1);
      if (r >= 0) return r;
    }
  }
  return -1;
}
void ip_matches(const uint16_t* s, int64_t n, const TextBits& tb, std::vector<double>& out) {
  for (int64_t p = 0; p < n;) {
    p = next_bit(tb.digit, p, n);
    if (p >= n) break;
    int64_t end = ip_from(s, n, p, 0);
    if (end >= 0) {
      out.push_back(2);
      out.push_back(double(p));
      out.push_back(double(end));
      p = end;
    } else {
      p++;
    }
  }
}
}  // namespace

void pii_matches(const uint16_t* s, int64_t n, std::vector<double>& out) {
  thread_local TextBits tb_tl;
  auto& tb = tb_tl;  // one TLS lookup, not one per use
  text_bits(s, n, tb);
  const size_t head = out.size();
  out.push_back(double(count_words(tb, 0, n)));
  out.push_back(0);
  int64_t pairs = 0;
  if (tb.any_surrogate)
    for (int64_t i = 1; i < n; i++) pairs += is_low(s[i]) && is_high(s[i - 1]);
  out.push_back(double(n - pairs));  // len(text)
  // exact pre-checks: every email match contains "@"; a phone match is a whitespace run followed
  // by "(" or a \p{Nd} digit (ASCII, or some non-ASCII unit); an IP match starts with an ASCII digit
  if (tb.any_at) email_matches(s, n, out);
  if (tb.any_digit || tb.any_non_ascii) phone_matches(s, n, tb, out);
  if (tb.any_digit) ip_matches(s, n, tb, out);
  out[head + 1] = double((out.size() - head - 3) / 3);
}

}  // namespace olmo::cpu
