// Dolma's gopher_v1 statistics over UTF-16 text (see native/include/olmo/ops/text_taggers.h). Mirrors
// gopherStats() in packages/data/src/curation/taggers/gopher.ts step by step, including the double
// arithmetic, so the results are identical (test: packages/data/test/curation/native-taggers.test.ts).
#include "olmo/ops/text_taggers.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>

#include "env_switch.h"
#include "text_taggers_scan.h"

// The 32-byte word keys (Key16) are passed by value between inline helpers of this file only; without
// AVX (OLMO_PORTABLE builds) GCC warns that such a return's ABI differs — nothing crosses a library
// boundary, so the note is noise.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

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

// Any bit of `bits` in units [a, e)?
inline bool any_bit(const std::vector<uint64_t>& bits, int64_t a, int64_t e) {
  size_t wa = size_t(a >> 6);
  const size_t we = size_t((e - 1) >> 6);
  uint64_t m = bits[wa] & (~uint64_t(0) << (a & 63));
  while (wa < we) {
    if (m) return true;
    m = bits[++wa];
  }
  const int sh = int(63 - ((e - 1) & 63));
  return (m << sh >> sh) != 0;
}

// The words of one text (text.split()) interned to ids in order of first appearance, for texts
// without surrogates. A word's first 16 units, zero-padded, are its key (one 32-byte vector): hashing
// and comparing a key takes no loop over the units and no branch on the word length; the rare longer
// word also hashes and compares the rest of its units. Ids only name words, so the hash (unlike
// the order of ids) does not show in the statistics.
typedef uint16_t Key16 __attribute__((vector_size(32)));
typedef uint64_t Key64 __attribute__((vector_size(32)));
struct WordTable {
  struct Slot { uint32_t tag; int32_t id; };
  std::vector<Slot> slot;
  // per id, room for every word of the text; uninitialized (new T[]): only the pages of the distinct
  // words are ever touched
  std::unique_ptr<Key16[]> key;
  std::unique_ptr<int32_t[]> start, len;
  size_t cap = 0;
  uint64_t mask = 0;
  void reset(int64_t expected) {
    uint64_t sc = 16;
    while (sc < uint64_t(2 * expected + 16)) sc <<= 1;
    slot.assign(sc, Slot{0, -1});
    mask = sc - 1;
    if (cap < size_t(expected) + 1) {
      cap = std::max(size_t(expected) + 1, 2 * cap);
      key.reset(new Key16[cap]);
      start.reset(new int32_t[cap]);
      len.reset(new int32_t[cap]);
    }
  }
};
inline Key16 lane_mask(int64_t l) {  // lanes < l all ones
  Key16 idx = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  return (Key16)(idx < uint16_t(l));
}
inline Key16 load_key(const uint16_t* s, int64_t n, int64_t a, int64_t wl) {
  Key16 k;
  if (a + 16 <= n) {
    std::memcpy(&k, s + a, sizeof k);
    return k & lane_mask(wl);
  }
  uint16_t tmp[16] = {0};
  std::memcpy(tmp, s + a, size_t(std::min<int64_t>(wl, 16)) * 2);
  std::memcpy(&k, tmp, sizeof k);
  return k;
}
inline uint64_t key_hash(Key16 k, int64_t wl) {
  const Key64 x = (Key64)k;
  uint64_t h = x[0] * 0x9e3779b97f4a7c15ull + (x[1] ^ uint64_t(wl)) * 0xc2b2ae3d27d4eb4full +
               x[2] * 0x165667b19e3779f9ull + x[3] * 0xd6e8feb86659fd93ull;
  h ^= h >> 31;
  h *= 0xff51afd7ed558ccdull;
  return h ^ (h >> 29);
}
// Any bit of `bits` in units [a, a + l), 1 <= l <= 64, without a loop: the two words the range can
// touch as one 128-bit value (the bitmap has a word of padding past the text).
inline bool any_bit64(const uint64_t* bits, int64_t a, int64_t l) {
  const size_t w = size_t(a >> 6);
  const unsigned __int128 x = (uint64_t(bits[w]) | (unsigned __int128)bits[w + 1] << 64) >> (a & 63);
  const uint64_t m = l >= 64 ? ~uint64_t(0) : (uint64_t(1) << l) - 1;
  return (uint64_t(x) & m) != 0;
}
// is_required_word for a word of wl units whose first four units (zero-padded) are k0: no branch.
inline bool required_k0(uint64_t k0, int64_t wl) {
  const bool two = (k0 == pack("be")) | (k0 == pack("to")) | (k0 == pack("of"));
  const bool three = (k0 == pack("the")) | (k0 == pack("and"));
  const bool four = (k0 == pack("that")) | (k0 == pack("have")) | (k0 == pack("with"));
  return ((wl == 2) & two) | ((wl == 3) & three) | ((wl == 4) & four);
}
inline bool key_eq(Key16 a, Key16 b) {
  const Key64 d = (Key64)(a ^ b);
  return (d[0] | d[1] | d[2] | d[3]) == 0;
}

// OLMO_GOPHER_WORD_PREFETCH=0: gopher_stats interns each word as the scan finds it (A/B and tests).
bool gopher_word_prefetch() {
  static const bool on = env_switch_on("OLMO_GOPHER_WORD_PREFETCH");
  return on;
}

}  // namespace

void gopher_stats(const uint16_t* s, int64_t n, double* o, const TextBits* bits) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (int k = 0; k < kGopherOut; k++) o[k] = k >= 10 ? nan : 0.0;
  if (n == 0) return;  // len(text) == 0 ⇔ no units

  thread_local TextBits tb_tl;
  if (!bits) text_bits(s, n, tb_tl, true);
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
  lens.resize(size_t(wc));
  wid.resize(size_t(wc));
  prev_counts.assign(size_t(wc), 0);
  len_hist.assign(64, 0);
  int64_t sym = 0, alpha = 0, req = 0, char_count = 0, n_lines = 1, k = 0;
  for (uint64_t w : tb.newline) n_lines += __builtin_popcountll(w);
  if (!tb.any_surrogate && tb.word_classes && text_simd()) {
    // every unit is a code point: cps == units; alpha / sym from the bitmaps
    thread_local WordTable wt_tl;
    auto& wt = wt_tl;  // one TLS lookup, not one per use
    wt.reset(wc);
    // plain locals: the loop must not go back to the thread-local object (in a shared library each
    // access to it can be a __tls_get_addr call, which the compiler re-issues rather than keep a register)
    WordTable::Slot* const slots = wt.slot.data();
    Key16* const keys = wt.key.get();
    int32_t* const wstart = wt.start.get();
    int32_t* const wlen = wt.len.get();
    const uint64_t wmask = wt.mask;
    int32_t nwords = 0;
    int32_t* const widp = wid.data();
    int32_t* const pcount = prev_counts.data();
    int32_t* const lensp = lens.data();
    int32_t* hist = len_hist.data();
    int64_t hist_n = int64_t(len_hist.size());
    // A word is hashed when the scan finds it but interned kWordsAhead words later, its table slot
    // prefetched in between: on long texts the probes (random over a table of 2 x words slots) were
    // cache misses taken one at a time. Words are interned in text order either way, so the ids, and
    // every statistic, are the same; OLMO_GOPHER_WORD_PREFETCH=0 interns each word at once.
    const auto intern = [&](const int64_t a, const int64_t wl, const Key16 key, const uint64_t h) {
      uint64_t j = (h >> 20) & wmask;
      const uint32_t tag = uint32_t(h >> 32);
      int32_t id;
      for (;; j = (j + 1) & wmask) {
        const WordTable::Slot e2 = slots[j];
        if (e2.id < 0) {
          id = nwords++;
          slots[j] = WordTable::Slot{tag, id};
          keys[size_t(id)] = key;
          wstart[size_t(id)] = int32_t(a);
          wlen[size_t(id)] = int32_t(wl);
          break;
        }
        if (e2.tag == tag && key_eq(keys[size_t(e2.id)], key) && wlen[size_t(e2.id)] == wl &&
            (wl <= 16 || units_equal(s + wstart[size_t(e2.id)] + 16, s + a + 16, wl - 16))) {
          id = e2.id;
          break;
        }
      }
      widp[k] = id;
      pcount[id]++;
      lensp[k] = int32_t(wl);
      k++;
      if (__builtin_expect(wl >= hist_n, 0)) {
        len_hist.resize(size_t(wl) + 1, 0);
        hist = len_hist.data();
        hist_n = int64_t(len_hist.size());
      }
      hist[wl]++;
      char_count += wl;
      if (__builtin_expect(wl <= 64, 1)) {
        sym += any_bit64(tb.sym.data(), a, wl);
        alpha += any_bit64(tb.alpha.data(), a, wl);
      } else {
        sym += any_bit(tb.sym, a, a + wl);
        alpha += any_bit(tb.alpha, a, a + wl);
      }
      req += required_k0(((Key64)key)[0], wl);
    };
    struct PendingWord { Key16 key; uint64_t h; int64_t a, wl; };
    constexpr size_t kWordsAhead = 8;
    PendingWord pending[kWordsAhead];
    size_t head = 0, queued = 0;
    const bool ahead = gopher_word_prefetch();
    for_each_word(tb, n, [&](const int64_t a, const int64_t e) {
      const int64_t wl = e - a;
      const Key16 key = load_key(s, n, a, wl);
      uint64_t h = key_hash(key, wl);
      if (wl > 16) h ^= hash_units(s + a + 16, wl - 16);
      if (!ahead) {
        intern(a, wl, key, h);
        return;
      }
      __builtin_prefetch(slots + ((h >> 20) & wmask));
      if (queued == kWordsAhead) {  // the oldest word's slot has had kWordsAhead words' time to arrive
        const PendingWord w = pending[head];
        pending[head] = PendingWord{key, h, a, wl};
        head = (head + 1) % kWordsAhead;
        intern(w.a, w.wl, w.key, w.h);
      } else {
        pending[(head + queued++) % kWordsAhead] = PendingWord{key, h, a, wl};
      }
    });
    for (size_t q = 0; q < queued; q++) {
      const PendingWord& w = pending[(head + q) % kWordsAhead];
      intern(w.a, w.wl, w.key, w.h);
    }
  } else {
  words.reset(s, wc);
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
  act_pos.resize(size_t(std::max<int64_t>(wc, 1)));
  act_id.resize(size_t(std::max<int64_t>(wc, 1)));
  size_t nact = 0;
  for (int64_t i = 0; i + 1 < wc; i++) {  // branch-free: written always, kept when the word repeats
    const int32_t id = wid[size_t(i)];
    act_pos[nact] = int32_t(i);
    act_id[nact] = id;
    nact += prev_counts[size_t(id)] > 1;
  }
  // An n-gram's id is its slot in this level's table, and the slot holds its count: a probe touches
  // one 16-byte slot, and the common cases (a first sighting in an empty slot, another sighting in its
  // own slot) take no data-dependent branch. A slot is valid iff its stamp is the current one: no
  // clearing between levels or documents. Ids are not in order of first appearance, so most_common
  // is found by position: the first active position whose n-gram has the largest count.
  struct NgSlot { int32_t a, b; uint32_t stamp; int32_t count; };
  thread_local std::vector<NgSlot> tab_tl;
  auto& tab = tab_tl;  // one TLS lookup, not one per use
  thread_local uint32_t stamp_tl = 0;
  auto& stamp = stamp_tl;  // one TLS lookup, not one per use
  const double cden = double(std::max<int64_t>(char_count, 1));
  for (int nn = 2; nn <= 10; nn++) {
    const int64_t m = wc - nn + 1;
    if (m <= 0) break;
    size_t na = nact;
    while (na > 0 && act_pos[na - 1] >= m) na--;  // the window must fit
    uint64_t lcap = 16;
    int bits_n = 4;
    while (lcap < uint64_t(4 * na)) { lcap <<= 1; bits_n++; }  // load <= 1/4: few probes go past the first slot
    const uint64_t mask = lcap - 1;
    if (tab.size() < lcap) tab.assign(lcap, NgSlot{0, 0, 0, 0});
    if (++stamp == 0) {
      for (auto& e : tab) e.stamp = 0;
      stamp = 1;
    }
    const uint32_t st = stamp;
    NgSlot* const T = tab.data();
    const int32_t* const W = wid.data() + (nn - 1);
    const auto slot_of = [&](size_t k) {
      return (uint32_t(uint32_t(act_id[k]) * 0x9e3779b1u ^ uint32_t(W[act_pos[k]])) * 0x85ebca77u) >> (32 - bits_n);
    };
    constexpr size_t kAhead = 12;  // the slot probed kAhead positions later is fetched now
    for (size_t k = 0; k < std::min(na, kAhead); k++) __builtin_prefetch(T + slot_of(k), 1);
    int32_t top = 1;  // the largest count (counts only grow: the largest value written)
    for (size_t k = 0; k < na; k++) {
      if (k + kAhead < na) __builtin_prefetch(T + slot_of(k + kAhead), 1);
      const int32_t a = act_id[k];
      const int32_t b = W[act_pos[k]];
      uint64_t h = slot_of(k);
      NgSlot e = T[h];
      const bool empty = e.stamp != st;
      const bool hit = !empty & (e.a == a) & (e.b == b);
      if (__builtin_expect(!(empty | hit), 0)) {  // another n-gram's slot: probe on
        for (;;) {
          h = (h + 1) & mask;
          e = T[h];
          if (e.stamp != st) { e.count = 0; break; }
          if (e.a == a && e.b == b) break;
        }
      } else if (empty) {
        e.count = 0;
      }
      T[h] = NgSlot{a, b, st, e.count + 1};
      top = std::max(top, e.count + 1);
      act_id[k] = int32_t(h);
    }
    // One pass over the final counts: the next level's active positions (those whose n-gram repeats;
    // branch-free compaction, in place) and this level's statistic.
    size_t w = 0;
    if (nn <= 4) {
      int64_t at = 0;  // position 0 when every n-gram is unique
      bool found = top == 1;
      for (size_t k = 0; k < na; k++) {
        const int32_t c = T[act_id[k]].count;
        const int32_t p = act_pos[k];
        if (!found && c == top) { at = p; found = true; }
        act_pos[w] = p;
        act_id[w] = act_id[k];
        w += c > 1;
      }
      o[10 + nn - 2] = double(top) * double(window_chars(at, nn)) / cden;
    } else {
      // sum over positions 0..m-1 of psum[i + nn] - psum[i]
      const int64_t all = (psum2[size_t(m + nn)] - psum2[size_t(nn)]) - psum2[size_t(m)];
      int64_t dup = 0;
      for (size_t k = 0; k < na; k++) {
        const bool rep = T[act_id[k]].count > 1;
        const int32_t p = act_pos[k];
        dup += rep ? window_chars(p, nn) : 0;
        act_pos[w] = p;
        act_id[w] = act_id[k];
        w += rep;
      }
      o[13 + nn - 5] = double(dup) / double(std::max<int64_t>(all, 1));
    }
    nact = w;
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
