// Dolma's c4_v1 rules over UTF-16 text (see native/include/olmo/ops/text_taggers.h); the reference is
// C4V1.predictReference in packages/data/src/curation/taggers/c4.ts (test: native-taggers.test.ts).
#include "olmo/ops/text_taggers.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "olmo/scratch_buffer.h"
#include "text_taggers_scan.h"
#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace olmo::cpu {
using namespace text;

namespace {
#include "text_tables.inc"  // kLowerToAscii (the other tables are unused here)
}  // namespace

struct C4Lexicon {
  std::vector<std::u16string> words;  // single bad words
  std::vector<uint64_t> word_hash;
  std::vector<int32_t> word_slot;     // open addressing over word_hash
  uint64_t word_mask = 0;
  size_t max_word = 0;
  uint64_t word_filter[1024] = {};  // bits of word_filter_key over the list (8 KB): most text words miss, unhashed
  std::vector<std::u16string> phrases;
  std::vector<std::vector<int32_t>> bucket;  // by the first two units of a phrase
  uint64_t bucket_bits[64] = {};             // which buckets are non-empty
  // Every phrase of the list has a " " (the TypeScript side splits the list at spaces): an occurrence
  // is found from the " " at its first space, by the units on either side of that space.
  bool phrases_spaced = false;
  std::vector<int32_t> space_off;                  // per phrase: index of its first " "
  std::vector<std::vector<int32_t>> space_bucket;  // by (unit before, unit after) the first " "
  uint64_t space_bits[64] = {};
};

namespace {
inline uint32_t bucket_of(uint16_t a, uint16_t b) { return (uint32_t(a) * 31u + b) & 4095u; }

inline uint32_t word_filter_key(const uint16_t* p, int64_t l) {
  // (first unit, second unit, last unit, length) → one of 65536 bits: a necessary condition for
  // membership (the second unit and the larger filter: English words pass it far less often than the
  // 4096 bits of (first, last, length) did)
  const uint32_t x = (uint32_t(p[0]) * 0x9e3779b1u) ^ (uint32_t(p[l > 1 ? 1 : 0]) * 0x85ebca77u) ^ (uint32_t(p[l - 1]) * 0xc2b2ae3du) ^ (uint32_t(l) * 0x27d4eb2fu);
  return (x ^ (x >> 15)) * 0x2c1b3c6du >> 16;
}

// The hash lookup of word_in, for the few words that pass its filter.
__attribute__((noinline)) bool word_in_table(const C4Lexicon& lex, const uint16_t* p, int64_t l) {
  uint64_t h = hash_units(p, l);
  for (uint64_t i = (h * 0x9e3779b97f4a7c15ull) >> 20 & lex.word_mask;; i = (i + 1) & lex.word_mask) {
    int32_t id = lex.word_slot[i];
    if (id < 0) return false;
    const std::u16string& w = lex.words[id];
    if (lex.word_hash[id] == h && int64_t(w.size()) == l && std::memcmp(w.data(), p, size_t(l) * 2) == 0) return true;
  }
}

// Is the word [p, p + l) on the list? The filter, inline, rejects most words of a text.
inline bool word_in(const C4Lexicon& lex, const uint16_t* p, int64_t l) {
  if (size_t(l) > lex.max_word || lex.word_slot.empty()) return false;
  const uint32_t fk = word_filter_key(p, l);
  if (!(lex.word_filter[fk >> 6] >> (fk & 63) & 1)) return false;
  return word_in_table(lex, p, l);
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
    const uint32_t fk = word_filter_key(reinterpret_cast<const uint16_t*>(w.data()), int64_t(w.size()));
    lex->word_filter[fk >> 6] |= uint64_t(1) << (fk & 63);
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
  lex->phrases_spaced = true;
  lex->space_bucket.resize(4096);
  lex->space_off.assign(phrases.size(), 0);
  for (size_t k = 0; k < phrases.size(); k++) {
    const size_t f = phrases[k].find(u' ');
    // f == 0 or the last unit cannot happen for a supported list (no leading/trailing whitespace)
    if (f == std::u16string::npos || f == 0 || f + 1 >= phrases[k].size()) { lex->phrases_spaced = false; continue; }
    lex->space_off[k] = int32_t(f);
    const uint32_t key = bucket_of(phrases[k][f - 1], phrases[k][f + 1]);
    lex->space_bucket[key].push_back(int32_t(k));
    lex->space_bits[key >> 6] |= uint64_t(1) << (key & 63);
  }
  return lex;
}

void c4_lexicon_free(C4Lexicon* lex) { delete lex; }

void c4_spans(const C4Lexicon* lex, const uint16_t* s, int64_t n, std::vector<double>& out, const TextBits* bits) {
  thread_local std::vector<double> no_punct_tl;
  auto& no_punct = no_punct_tl;  // one TLS lookup, not one per use
  thread_local std::vector<double> few_tl;
  auto& few = few_tl;  // one TLS lookup, not one per use
  no_punct.clear();
  few.clear();
  // lines of text.split("\n"): span [offset, end) in code points, end past the "\n" except last
  thread_local TextBits tb_tl;
  if (!bits) text_bits(s, n, tb_tl);
  const TextBits& tb = bits ? *bits : tb_tl;
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
  thread_local ScratchBuffer<uint16_t> low_tl;
  auto& low = low_tl;  // one TLS lookup, not one per use
  // sized for the longest expansion (3 units per unit) so the loop writes without bounds checks
  uint16_t* lw = low.reserve(size_t(3 * n + 16));
  const bool simd = text_simd();
  for (int64_t i = 0; i < n;) {
#if defined(__AVX2__)
    if (simd && i + 16 <= n) {  // 16 ASCII units at a time: A-Z → a-z
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i));
      if (_mm256_testz_si256(v, _mm256_set1_epi16(short(0xff80)))) {
        const __m256i up = _mm256_cmpeq_epi16(_mm256_subs_epu16(_mm256_sub_epi16(v, _mm256_set1_epi16('A')), _mm256_set1_epi16(25)), _mm256_setzero_si256());
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(lw), _mm256_or_si256(v, _mm256_and_si256(up, _mm256_set1_epi16(0x20))));
        lw += 16;
        i += 16;
        continue;
      }
    }
#endif
    const uint16_t u = s[i++];
    if (u < 0x80) { *lw++ = uint16_t(u - 'A') < 26u ? uint16_t(u | 0x20) : u; continue; }
    bool mapped = false;
    for (const auto& m : kLowerToAscii) {
      if (m.cp == u) {
        for (int k = 0; k < m.len; k++) *lw++ = m.to[k];
        mapped = true;
        break;
      }
    }
    if (!mapped) *lw++ = u;
  }
  const int64_t ln = int64_t(lw - low.data());
  const uint16_t* L = low.data();
  bool naughty = false, js = false;
  static const char16_t kJs[] = u"javascript";
  if (!tb.any_dotted_i) {  // no expansion: the lower-cased text has the original's whitespace bitmap
    for_each_word(tb, ln, [&](const int64_t a, const int64_t e) {
      naughty |= word_in(*lex, L + a, e - a);
      js |= e - a == 10 && std::memcmp(L + a, kJs, 20) == 0;
    });
  } else {
    for (int64_t i = 0; i < ln && !(naughty && js);) {
      if (sp(L[i])) { i++; continue; }
      int64_t a = i;
      while (i < ln && !sp(L[i])) i++;
      if (!naughty && word_in(*lex, L + a, i - a)) naughty = true;
      if (!js && i - a == 10 && std::memcmp(L + a, kJs, 20) == 0) js = true;
    }
  }
  static const char16_t kLorem[] = u"lorem ipsum";
  bool lorem = false;
  bool curly = false;
  if (lex->phrases_spaced && simd) {
    // One pass over the " " of the lower-cased text: the phrases (each has a " ") and "lorem ipsum"
    // can only occur around one, and "{" is looked for in the same blocks.
    const auto space_at = [&](int64_t q) {  // a phrase / "lorem ipsum" whose first " " is L[q]?
      if (q == 0 || q + 1 >= ln) return;
      const uint16_t before = L[q - 1], after = L[q + 1];
      if (!lorem && before == 'm' && after == 'i' && q >= 5 && q + 6 <= ln && std::memcmp(L + q - 5, kLorem, 22) == 0) lorem = true;
      if (naughty) return;
      const uint32_t key = bucket_of(before, after);
      if (!(lex->space_bits[key >> 6] >> (key & 63) & 1)) return;
      for (int32_t k : lex->space_bucket[key]) {
        const auto& p = lex->phrases[size_t(k)];
        const int64_t i = q - lex->space_off[size_t(k)];
        if (i >= 0 && i + int64_t(p.size()) <= ln && std::memcmp(L + i, p.data(), p.size() * 2) == 0) { naughty = true; break; }
      }
    };
    int64_t i = 0;
#if defined(__AVX2__)
    for (; i + 16 <= ln && !(naughty && lorem && curly); i += 16) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(L + i));
      const __m256i sp16 = _mm256_cmpeq_epi16(v, _mm256_set1_epi16(' '));
      const __m256i cb16 = _mm256_cmpeq_epi16(v, _mm256_set1_epi16('{'));
      curly |= !_mm256_testz_si256(cb16, cb16);
      for (uint32_t m = uint32_t(_mm256_movemask_epi8(sp16)) & 0x55555555u; m; m &= m - 1) space_at(i + (__builtin_ctz(m) >> 1));
    }
#endif
    for (; i < ln; i++) {
      if (L[i] == ' ') space_at(i);
      curly |= L[i] == '{';
    }
    // (L has a "{" iff the text has: lower-casing neither makes nor removes one)
  } else {
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
  for (int64_t i = 0; i + 11 <= ln; i++) if (L[i] == 'l' && L[i + 1] == 'o' && std::memcmp(L + i, kLorem, 22) == 0) { lorem = true; break; }
  curly = std::find(s, s + n, uint16_t('{')) != s + n;
  }

  out.push_back(double(n_lines));
  out.push_back(double((naughty ? 1 : 0) | (js ? 2 : 0) | (lorem ? 4 : 0) | (curly ? 8 : 0)));
  out.push_back(double(no_punct.size() / 2));
  out.push_back(double(few.size() / 2));
  out.push_back(double(offset));  // the last line's end = len(text)
  out.insert(out.end(), no_punct.begin(), no_punct.end());
  out.insert(out.end(), few.begin(), few.end());
}

}  // namespace olmo::cpu
