// Dolma's gopher_v1 statistics over UTF-16 text (see native/include/olmo/ops/text_taggers.h). Mirrors
// gopherStats() in packages/data/src/curation/taggers/gopher.ts step by step, including the double
// arithmetic, so the results are identical (test: packages/data/test/curation/native-taggers.test.ts).
#include "olmo/ops/text_taggers.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "text_taggers_scan.h"

namespace olmo::cpu {
using namespace text;

namespace {
// Dolma's REQUIRED_ENGLISH_WORDS {the, be, to, of, and, that, have, with}: a word of 2-4 units is
// packed into one integer (16 bits a unit) and compared with the packed list.
constexpr uint64_t pack(const char* w) {
  uint64_t v = 0;
  for (int i = 0; w[i]; i++) v |= uint64_t(uint8_t(w[i])) << (16 * i);
  return v;
}
inline bool is_required_word(const uint16_t* p, int64_t l) {
  uint64_t v = 0;
  for (int64_t i = 0; i < l; i++) v |= uint64_t(p[i]) << (16 * i);
  switch (l) {
    case 2: return v == pack("be") || v == pack("to") || v == pack("of");
    case 3: return v == pack("the") || v == pack("and");
    case 4: return v == pack("that") || v == pack("have") || v == pack("with");
    default: return false;
  }
}
}  // namespace

void gopher_stats(const uint16_t* s, int64_t n, double* o, const TextBits* bits) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (int k = 0; k < kGopherOut; k++) o[k] = k >= 10 ? nan : 0.0;
  if (n == 0) return;  // len(text) == 0 ⇔ no units

  thread_local TextBits tb_tl;
  if (!bits) text_bits(s, n, tb_tl);
  const TextBits& tb = bits ? *bits : tb_tl;
  const int64_t cc = tb.any_surrogate ? cp_len(s, 0, n) : n;
  o[0] = double(cc);

  // One pass over the words of text.split(): their code-point lengths, the per-word statistics,
  // and their ids in order of first appearance (interned on the spot), which the n-gram levels use.
  thread_local Interner words_tl;
  auto& words = words_tl;  // one TLS lookup, not one per use
  thread_local std::vector<int32_t> lens_tl;
  auto& lens = lens_tl;  // one TLS lookup, not one per use
  thread_local std::vector<int32_t> wid_tl;
  auto& wid = wid_tl;  // one TLS lookup, not one per use
  thread_local std::vector<int32_t> prev_counts_tl;
  auto& prev_counts = prev_counts_tl;  // one TLS lookup, not one per use
  thread_local std::vector<int32_t> len_hist_tl;
  auto& len_hist = len_hist_tl;  // one TLS lookup, not one per use
  const int64_t wc = count_words(tb, 0, n);
  words.reset(s, wc);
  lens.resize(size_t(wc));
  wid.resize(size_t(wc));
  prev_counts.assign(size_t(wc), 0);
  len_hist.assign(64, 0);
  int64_t sym = 0, alpha = 0, req = 0, char_count = 0, n_lines = 1, k = 0;
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
    const int32_t id = words.intern_h(a, wl, hash_units(s + a, wl));
    wid[size_t(k)] = id;
    prev_counts[size_t(id)]++;
    lens[size_t(k)] = int32_t(cps);
    k++;
    if (size_t(cps) >= len_hist.size()) len_hist.resize(size_t(cps) + 1, 0);
    len_hist[size_t(cps)]++;
    char_count += cps;
    sym += (acc & kSym) != 0;
    alpha += (acc & kAlphaBmp) != 0 || astral_alpha;
    if (wl >= 2 && wl <= 4 && is_required_word(s + a, wl)) req++;
  }
  o[1] = double(wc);
  if (wc > 0) {
    // median of the word lengths from their histogram: the m-th smallest, and for an even count
    // the average with the (m-1)-th (the values nth_element/max_element would pick)
    const int64_t m = wc >> 1;
    auto kth = [&](int64_t r) {
      int64_t seen = 0;
      for (size_t l = 0;; l++) if ((seen += len_hist[l]) > r) return double(l);
    };
    const double hi = kth(m);
    if (wc % 2) o[2] = hi;
    else o[2] = (kth(m - 1) + hi) / 2;
  }
  const double wden = double(std::max<int64_t>(wc, 1));
  o[3] = double(sym) / wden;
  o[4] = double(alpha) / wden;
  o[5] = double(req);

  // n-gram counts: the algorithm of gopherStats() — every distinct n-gram gets an id in order of
  // first appearance, made from (id of its (n-1)-gram prefix, id of its last word) — restricted to
  // the positions that can still repeat. An n-gram whose prefix occurs once occurs once itself, so
  // each level only visits the positions whose (n-1)-gram repeats (the "active" ones, usually a
  // shrinking minority); the unique n-grams enter the statistics in aggregate:
  //  - most common (n <= 4): Counter.most_common(1) is the first n-gram with the largest count; when
  //    that count is 1 it is the n-gram at position 0, else a repeated one, and among the repeated
  //    ones ids follow first appearance (the active positions are visited in order);
  //  - duplicates (n >= 5): sum of count * characters over all n-grams = sum over positions of the
  //    window's characters (from prefix sums), and the duplicated part sums only active positions.
  // All sums are the same integers as gopherStats()'s, so the doubles are identical.
  thread_local std::vector<int64_t> psum_tl;
  auto& psum = psum_tl;  // one TLS lookup, not one per use
  thread_local std::vector<int64_t> psum2_tl;
  auto& psum2 = psum2_tl;  // one TLS lookup, not one per use
  psum.resize(size_t(wc) + 1);
  psum2.resize(size_t(wc) + 2);
  psum[0] = 0;
  for (int64_t i = 0; i < wc; i++) psum[size_t(i + 1)] = psum[size_t(i)] + lens[size_t(i)];  // characters of words [0, i]
  psum2[0] = 0;
  for (int64_t i = 0; i <= wc; i++) psum2[size_t(i + 1)] = psum2[size_t(i)] + psum[size_t(i)];
  const auto window_chars = [&](int64_t i, int nn) { return psum[size_t(i + nn)] - psum[size_t(i)]; };

  thread_local std::vector<int32_t> act_pos_tl;
  auto& act_pos = act_pos_tl;  // one TLS lookup, not one per use
  thread_local std::vector<int32_t> act_id_tl;
  auto& act_id = act_id_tl;  // one TLS lookup, not one per use
  thread_local std::vector<int32_t> counts_tl;
  auto& counts = counts_tl;  // one TLS lookup, not one per use
  thread_local std::vector<int64_t> chars_tl;
  auto& chars = chars_tl;  // one TLS lookup, not one per use
  act_pos.clear();
  act_id.clear();
  for (int64_t i = 0; i + 1 < wc; i++) {
    if (prev_counts[size_t(wid[size_t(i)])] > 1) {
      act_pos.push_back(int32_t(i));
      act_id.push_back(wid[size_t(i)]);
    }
  }
  // slot valid iff its stamp is the current one: no clearing between n or documents
  struct NgSlot { int32_t a, b, v; uint32_t stamp; };
  thread_local std::vector<NgSlot> tab_tl;
  auto& tab = tab_tl;  // one TLS lookup, not one per use
  thread_local uint32_t stamp_tl = 0;
  auto& stamp = stamp_tl;  // one TLS lookup, not one per use
  const double cden = double(std::max<int64_t>(char_count, 1));
  for (int nn = 2; nn <= 10; nn++) {
    const int64_t m = wc - nn + 1;
    if (m <= 0) break;
    size_t na = act_pos.size();
    while (na > 0 && act_pos[na - 1] >= m) na--;  // the window must fit
    act_pos.resize(na);
    act_id.resize(na);
    uint64_t lcap = 16;
    int bits_n = 4;
    while (lcap < uint64_t(2 * na)) { lcap <<= 1; bits_n++; }
    const uint64_t mask = lcap - 1;
    if (tab.size() < lcap) tab.assign(lcap, NgSlot{0, 0, -1, 0});
    if (++stamp == 0) {
      for (auto& e : tab) e.stamp = 0;
      stamp = 1;
    }
    counts.assign(na, 0);
    chars.resize(na);
    int32_t nids = 0;
    for (size_t k = 0; k < na; k++) {
      const int32_t i = act_pos[k];
      const int32_t a = act_id[k];
      const int32_t b = wid[size_t(i + nn - 1)];
      uint64_t h = (uint32_t(uint32_t(a) * 0x9e3779b1u ^ uint32_t(b)) * 0x85ebca77u) >> (32 - bits_n);
      int32_t id = -1;
      while (tab[h].stamp == stamp) {
        if (tab[h].a == a && tab[h].b == b) { id = tab[h].v; break; }
        h = (h + 1) & mask;
      }
      if (id == -1) {
        id = nids++;
        tab[h] = NgSlot{a, b, id, stamp};
        chars[size_t(id)] = window_chars(i, nn);
      }
      counts[size_t(id)]++;
      act_id[k] = id;
    }
    if (nn <= 4) {
      int32_t best = 0;
      for (int32_t id = 1; id < nids; id++) if (counts[size_t(id)] > counts[size_t(best)]) best = id;
      if (nids == 0 || counts[size_t(best)] == 1) o[10 + nn - 2] = double(1) * double(window_chars(0, nn)) / cden;
      else o[10 + nn - 2] = double(counts[size_t(best)]) * double(chars[size_t(best)]) / cden;
    } else {
      // sum over positions 0..m-1 of psum[i + nn] - psum[i]
      const int64_t all = (psum2[size_t(m + nn)] - psum2[size_t(nn)]) - psum2[size_t(m)];
      int64_t dup = 0;
      for (size_t k = 0; k < na; k++) if (counts[size_t(act_id[k])] > 1) dup += window_chars(act_pos[k], nn);
      o[13 + nn - 5] = double(dup) / double(std::max<int64_t>(all, 1));
    }
    // the next level's active positions: those whose n-gram repeats
    size_t w = 0;
    for (size_t k = 0; k < na; k++) {
      if (counts[size_t(act_id[k])] > 1) {
        act_pos[w] = act_pos[k];
        act_id[w] = act_id[k];
        w++;
      }
    }
    act_pos.resize(w);
    act_id.resize(w);
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
    b = next_bit(tb.newline, a, n);
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

}  // namespace olmo::cpu
