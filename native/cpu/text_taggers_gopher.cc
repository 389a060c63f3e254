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

}  // namespace olmo::cpu
