// The parsed fastText model (FastTextModel::Impl, shared by the models loaded from the same bytes)
// and one model's per-thread State; internal to native/cpu/fasttext.cc (inference, the load registry)
// and fasttext_load.cc (the file parser). Semantics: native/include/olmo/ops/fasttext.h.
#pragma once

// Contraction into fused multiply-adds would change the rounding of `x += a * b` (fastText, and its
// WebAssembly build, round the product first): off for every function of the files including this.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <vector>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "olmo/ops/fasttext.h"
#include "olmo/check.h"
#include "fasttext_shared.h"
#include "fasttext_util.h"

namespace olmo::cpu {
using namespace ft;
namespace ft {

inline constexpr int32_t kMagic = 793712314;
inline constexpr int32_t kMaxVersion = 12;
inline constexpr int32_t kLossHs = 1;
inline constexpr int32_t kModelSup = 3;
inline constexpr int32_t kKsub = 256;  // centroids per sub-quantizer
inline constexpr char kEos[] = "</s>";
inline constexpr char kLabelPrefix[] = "__label__";  // fastText's default -label (not stored in the file)

}  // namespace ft

// Whether compute_hidden's AVX2 tokenizer runs (OLMO_CPU_ISA=scalar: the byte loop; tests compare).
inline bool ft_simd() {
  static const bool on = [] {
    const char* isa = std::getenv("OLMO_CPU_ISA");
    return !(isa && std::strcmp(isa, "scalar") == 0);
  }();
  return on;
}

constexpr size_t kMaxCacheSlots = size_t(1) << 19;
typedef float V16 __attribute__((vector_size(64)));
struct Tok { const char* s; size_t n; uint32_t hash; };

// What one model (one thread) owns: its token feature cache and per-call scratch. The parsed tables
// (Impl) are shared by every model loaded from the same bytes in this process.
struct FastTextModel::State {
  // Token cache: slot = (token hash << 32) | (record offset + 1); a record in `cache` is
  // [token bytes length, feature count, kind, features..., token bytes (padded to int32)], so a hit
  // touches one slot and one contiguous record.
  std::vector<uint64_t> cache_slots;
  std::vector<int32_t> cache;
  size_t cache_records = 0;
  bool share = false;  // other models use these tables: consult / fill Impl::shared on a miss
  std::string ngram_word;
  std::vector<int32_t> word_hashes;
  // compute_hidden's tokens: a plain buffer written through a local index (a vector's end pointer
  // lives in this object, and its load/store per token lengthened the tokenizer's loop)
  std::unique_ptr<Tok[]> toks;
  size_t toks_cap = 0;
  std::vector<uint64_t> sep_bits;  // compute_hidden's separator bitmap (AVX2 path)
  std::vector<float> hidden;
  std::vector<std::pair<float, int32_t>> heap;
  V16 acc16;
  explicit State(int32_t dim) {
    hidden.assign(size_t(dim), 0.0f);
    // 16 MB of address space, touched only as records are added: no regrowth copy for a corpus like
    // bench/data's (74 K distinct tokens in 12 MB of English, ~1 M int32 of records: the size of the
    // 4 MB reserved before)
    cache.reserve(size_t(1) << 22);
    cache_slots.assign(size_t(1) << 14, uint64_t(0));  // grows to kMaxCacheSlots: 256K distinct tokens before the cache restarts
  }
};

struct FastTextModel::Impl {
  FastTextArgs args;
  int32_t nwords = 0, nlabels = 0, dim = 0;
  int64_t pruneidx_size = -1;
  std::vector<std::string> words;  // words then labels (fastText's words_)
  std::vector<uint32_t> word_slots;  // open addressing: id + 1, 0 = empty
  std::vector<int32_t> sub_off, sub_ids;  // CSR: features of vocabulary word i
  // open addressing over bucket ids: (key, value) pairs side by side, so that a probe (a cache miss
  // while a new token's n-grams are looked up) touches one line; key -1 = empty
  std::vector<std::pair<int32_t, int32_t>> prune_slots;
  // One bit per bucket id: is it a key of prune_slots? Most of a new token's character n-grams fall in
  // pruned-away buckets (lid.176 keeps ~65K of 2M), and this 256 KB bitmap answers those from the
  // L2 cache where the 1 MB table's probe missed it.
  std::vector<uint64_t> prune_bits;
  FastMod bucket_mod;  // h % args.bucket
  int64_t rows_n = 0;
  std::vector<float> rows;  // dense input matrix, rows_n x dim
  // A quantized input matrix is decoded row by row the first time a token's features use the row
  // (an unpruned model's rows are tens of MB that a corpus mostly never reads): row_base points at
  // rows_n x dim floats, valid where row_ready has the row's bit. Models of several threads share
  // these tables, so a row is decoded once under decode_mu and published by the bit (release); a
  // reader that sees the bit (acquire), or a token record that a thread published after decoding its
  // rows (fasttext_shared.h), sees the row.
  float* row_base = nullptr;
  std::unique_ptr<float[]> lazy_rows;  // uninitialized: pages are only touched by decoded rows
  bool rows_lazy = false, q_qnorm = false;
  int32_t q_nsubq = 0, q_dsub = 0, q_lastdsub = 0;
  std::vector<uint8_t> q_codes, q_norm_codes;
  std::vector<float> q_cent, q_norms;
  mutable std::unique_ptr<std::atomic<uint64_t>[]> row_ready;
  mutable std::mutex decode_mu;
  // Decode: row = norm * centroid, the float32 product fastText's addcode adds.
  void decode_row(int64_t i) const {
    const float norm = q_qnorm ? q_norms[q_norm_codes[size_t(i)]] : 1.0f;
    const uint8_t* code = q_codes.data() + i * q_nsubq;
    float* out = row_base + i * dim;
    for (int32_t q = 0; q < q_nsubq; ++q) {
      const bool last = q == q_nsubq - 1;
      const float* c = last ? q_cent.data() + int64_t(q) * kKsub * q_dsub + int64_t(code[q]) * q_lastdsub
                            : q_cent.data() + (int64_t(q) * kKsub + code[q]) * q_dsub;
      const int32_t d = last ? q_lastdsub : q_dsub;
      for (int32_t k = 0; k < d; ++k) out[q * q_dsub + k] = norm * c[k];
    }
  }
  inline void ensure_row(int32_t r) const {
    if (!rows_lazy) return;
    std::atomic<uint64_t>& w = row_ready[size_t(r) >> 6];
    const uint64_t bit = uint64_t(1) << (r & 63);
    if (w.load(std::memory_order_acquire) & bit) return;
    std::lock_guard<std::mutex> lock(decode_mu);
    if (w.load(std::memory_order_relaxed) & bit) return;
    decode_row(r);
    w.fetch_or(bit, std::memory_order_release);
  }
  // output matrix: dense, or product-quantized (codes + centroids + optional norms)
  std::vector<float> wo;
  bool wo_quant = false, wo_qnorm = false;
  int32_t wo_nsubq = 0, wo_dsub = 0, wo_lastdsub = 0;
  std::vector<uint8_t> wo_codes, wo_norm_codes;
  std::vector<float> wo_centroids, wo_norm_centroids;
  // hierarchical softmax tree (fastText's buildTree)
  struct Node { int32_t parent = -1, left = -1, right = -1; int64_t count = 0; bool binary = false; };
  std::vector<Node> tree;
  std::vector<std::vector<std::pair<int32_t, bool>>> label_path;  // root-down (internal node, went right)

  // the second-level token cache of the models sharing these tables (fasttext_shared.h)
  SharedTokens shared;
  std::vector<uint8_t> file;  // the model file (the registry of load() compares it), when shared

  int32_t find_word(const char* s, size_t n, uint32_t h) const {
    const uint32_t mask = uint32_t(word_slots.size() - 1);
    for (uint32_t i = h & mask;; i = (i + 1) & mask) {
      uint32_t v = word_slots[i];
      if (v == 0) return -1;
      const std::string& w = words[v - 1];
      if (w.size() == n && std::memcmp(w.data(), s, n) == 0) return int32_t(v - 1);
    }
  }
  void insert_word(int32_t id) {
    const std::string& w = words[id];
    const uint32_t mask = uint32_t(word_slots.size() - 1);
    for (uint32_t i = tok_hash(w.data(), w.size()) & mask;; i = (i + 1) & mask) {
      uint32_t v = word_slots[i];
      if (v == 0 || words[v - 1] == w) {  // a repeated word: the later id wins, as in fastText's load
        word_slots[i] = uint32_t(id) + 1;
        return;
      }
    }
  }
  int32_t prune_find(int32_t key) const {
    if (!(prune_bits[uint32_t(key) >> 6] >> (key & 63) & 1)) return -1;
    const uint32_t mask = uint32_t(prune_slots.size() - 1);
    for (uint32_t i = (uint32_t(key) * 2654435761u) & mask;; i = (i + 1) & mask) {
      const std::pair<int32_t, int32_t> slot = prune_slots[i];
      if (slot.first == key) return slot.second;
      if (slot.first == -1) return -1;
    }
  }
  // Dictionary::pushHash: bucket id -> input row, or nothing.
  template <class F>
  void push_hash(int32_t id, F&& emit) const {
    if (pruneidx_size == 0 || id < 0) return;
    if (pruneidx_size > 0) {
      id = prune_find(id);
      if (id < 0) return;
    }
    emit(nwords + id);
  }
  // Dictionary::computeSubwords over "<token>" (UTF-8 characters; no single-char n-gram of a marker).
  template <class F>
  void subwords(std::string& w, const char* tok, size_t n, F&& emit) const {
    if (args.maxn <= 0) return;
    w.assign(1, '<');
    w.append(tok, n);
    w.push_back('>');
    const size_t L = w.size();
    for (size_t i = 0; i < L; ++i) {
      if ((w[i] & 0xC0) == 0x80) continue;
      uint32_t h = 2166136261u;
      for (size_t j = i, len = 1; j < L && int64_t(len) <= args.maxn; ++len) {
        h = fnv_step(h, w[j++]);
        while (j < L && (w[j] & 0xC0) == 0x80) h = fnv_step(h, w[j++]);
        if (int64_t(len) >= args.minn && !(len == 1 && (i == 0 || j == L))) push_hash(int32_t(bucket_mod(h)), emit);
      }
    }
  }
  enum Kind : int32_t { kWord = 0, kLabel = 1 };  // kLabel: no features and no word hash
  // The cached record of a token (features as Dictionary::getLine adds them, and its kind).
  // The hit path, inline in compute_hidden's loop; a miss (the token's first sighting) goes out of line.
  inline const int32_t* token_record(State& st, const char* tok, size_t n, uint32_t h) {
    const uint64_t* const slots = st.cache_slots.data();
    const uint64_t mask = st.cache_slots.size() - 1;
    for (uint64_t i = h & mask;; i = (i + 1) & mask) {
      const uint64_t v = slots[i];
      if (v == 0) break;
      if (uint32_t(v >> 32) != h) continue;
      const int32_t* rec = st.cache.data() + (uint32_t(v) - 1);
      if (size_t(rec[0]) == n && tok_eq(reinterpret_cast<const char*>(rec + 3 + rec[1]), tok, n)) return rec;
    }
    return token_record_miss(st, tok, n, h);
  }
  __attribute__((noinline)) const int32_t* token_record_miss(State& st, const char* tok, size_t n, uint32_t h) {
    std::vector<uint64_t>& cache_slots = st.cache_slots;
    std::vector<int32_t>& cache = st.cache;
    const uint64_t mask = cache_slots.size() - 1;
    uint64_t i = h & mask;
    for (;; i = (i + 1) & mask) {  // the first empty slot of the probe (the token is not there)
      if (cache_slots[i] == 0) break;
    }
    if (st.cache_records >= cache_slots.size() / 2 && cache_slots.size() < kMaxCacheSlots) {
      // grow (load factor <= 1/2, as before): a corpus's distinct tokens usually fit a table far
      // smaller than the maximum, which then stays in the caches (and costs no page faults at load)
      std::vector<uint64_t> bigger(cache_slots.size() * 2, uint64_t(0));
      const uint64_t bmask = bigger.size() - 1;
      for (uint64_t v : cache_slots) {
        if (v == 0) continue;
        uint64_t j = (v >> 32) & bmask;
        while (bigger[j] != 0) j = (j + 1) & bmask;
        bigger[j] = v;
      }
      cache_slots.swap(bigger);
      return token_record(st, tok, n, h);  // a miss: inserts into the bigger table
    }
    if (st.cache_records >= cache_slots.size() / 2 || cache.size() > (64u << 20)) {  // full: start over
      std::fill(cache_slots.begin(), cache_slots.end(), uint64_t(0));
      cache.clear();
      st.cache_records = 0;
      for (i = h & mask; cache_slots[i] != 0; i = (i + 1) & mask) {
      }
    }
    const size_t off = cache.size();
    const int32_t* known = st.share ? shared.find(tok, n, h) : nullptr;
    if (known) {  // another model (thread) worked this token out: copy its record
      const size_t words = size_t(3 + known[1]) + (n + 3) / 4;
      cache.insert(cache.end(), known, known + words);
    } else {
      cache.push_back(int32_t(n));
      cache.push_back(0);
      cache.push_back(kWord);
      const int32_t wid = find_word(tok, n, h);
      if (wid >= 0) {
        if (wid < nwords) {
          cache.insert(cache.end(), sub_ids.begin() + sub_off[wid], sub_ids.begin() + sub_off[wid + 1]);
          for (int32_t k = sub_off[wid]; k < sub_off[wid + 1]; ++k) ensure_row(sub_ids[size_t(k)]);
        } else {
          cache[off + 2] = kLabel;
        }
      } else if (n >= sizeof(kLabelPrefix) - 1 && std::memcmp(tok, kLabelPrefix, sizeof(kLabelPrefix) - 1) == 0) {
        cache[off + 2] = kLabel;
      } else if (!(n == 4 && std::memcmp(tok, kEos, 4) == 0)) {
        subwords(st.ngram_word, tok, n, [&](int32_t r) { ensure_row(r); cache.push_back(r); });
      }
      cache[off + 1] = int32_t(cache.size() - off - 3);
      const size_t words32 = (n + 3) / 4;
      cache.resize(cache.size() + words32, 0);
      std::memcpy(cache.data() + cache.size() - words32, tok, n);
      if (st.share) shared.insert(cache.data() + off, cache.size() - off, h);
    }
    cache_slots[i] = (uint64_t(h) << 32) | uint64_t(off + 1);
    ++st.cache_records;
    return cache.data() + off;
  }

  // hidden += row, lane by lane (no reassociation: the same float sums as fastText's loop). For
  // dim 16 (lid.176) the sum lives in one 16-lane vector register for the whole line.
  inline void add_row(State& st, int32_t r) const {
    const float* row = row_base + int64_t(r) * dim;
    if (dim == 16) {
      V16 v;
      std::memcpy(&v, row, sizeof v);
      st.acc16 += v;
      return;
    }
    float* x = st.hidden.data();
    for (int32_t j = 0; j < dim; ++j) x[j] += row[j];
  }

  // Dictionary::getLine + Model::computeHidden. Returns the number of features (0: no prediction).
  size_t compute_hidden(State& st, const char* text, size_t n, FastTextTextMode mode) {
    const unsigned char* s = reinterpret_cast<const unsigned char*>(text);
    size_t b = 0, e = n;
    if (mode.python_strip) {
      uint32_t cp;
      while (b < e) {
        size_t len = utf8_at(s, b, e, &cp);
        if (len == 0 || !py_space(cp)) break;
        b += len;
      }
      while (e > b) {
        size_t q = e - 1;
        while (q > b && (s[q] & 0xc0) == 0x80 && e - q < 4) --q;
        size_t len = utf8_at(s, q, e, &cp);
        if (len != e - q || !py_space(cp)) break;
        e = q;
      }
    }
    std::vector<float>& hidden = st.hidden;
    std::vector<int32_t>& word_hashes = st.word_hashes;
    const std::vector<uint64_t>& cache_slots = st.cache_slots;
    const std::vector<int32_t>& cache = st.cache;
    std::fill(hidden.begin(), hidden.end(), 0.0f);
    st.acc16 = V16{};
    word_hashes.clear();
    size_t count = 0;
    const bool ngrams = args.word_ngrams > 1;
    // One token; true when it is "</s>" (which ends the line).
    // Pass 1: the line's tokens and their hashes, up to and including the first "</s>" (fastText's
    // getLine stops there; the line's newline is that token).
    {
      const size_t need = size_t(e - b) / 2 + 2;  // tokens are separated: at most one per 2 bytes, and "</s>"
      if (st.toks_cap < need) {
        st.toks_cap = std::max(need, 2 * st.toks_cap);
        st.toks.reset(new Tok[st.toks_cap]);
      }
    }
    Tok* const toks = st.toks.get();
    size_t T = 0;
    const char* p = text + b;
    const char* end = text + e;
#if defined(__AVX2__)
    if (mode.newline_as_space && ft_simd()) {
      // The separators as a bitmap (32 bytes a step), the tokens from its runs: no loop over each
      // byte of each token. Bits past the text are separators, so a token's end is always found.
      const unsigned char* q = reinterpret_cast<const unsigned char*>(p);
      const size_t L = size_t(end - p);
      const size_t nw = L / 64 + 1;
      std::vector<uint64_t>& sb = st.sep_bits;
      sb.resize(nw);
      const __m256i k20 = _mm256_set1_epi8(' '), k09 = _mm256_set1_epi8(9), k04 = _mm256_set1_epi8(4), zero = _mm256_setzero_si256();
      const auto sep32 = [&](const unsigned char* x) -> uint32_t {  // ' ', '\0', or 0x09..0x0d
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x));
        const __m256i ctl = _mm256_cmpeq_epi8(_mm256_subs_epu8(_mm256_sub_epi8(v, k09), k04), zero);
        return uint32_t(_mm256_movemask_epi8(_mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(v, k20), _mm256_cmpeq_epi8(v, zero)), ctl)));
      };
      size_t w = 0;
      for (; w * 64 + 64 <= L; w++) sb[w] = uint64_t(sep32(q + w * 64)) | uint64_t(sep32(q + w * 64 + 32)) << 32;
      {
        uint64_t m = ~uint64_t(0);  // the partial last word: scalar, bits past L set
        for (size_t i = w * 64; i < L; i++) if (!is_sep(q[i])) m &= ~(uint64_t(1) << (i & 63));
        sb[w] = m;
      }
      size_t pos = 0;
      for (;;) {
        size_t wi = pos >> 6;
        uint64_t m = ~sb[wi] & (~uint64_t(0) << (pos & 63));
        while (!m && ++wi < nw) m = ~sb[wi];
        if (!m) break;
        const size_t t = wi * 64 + size_t(__builtin_ctzll(m));
        m = sb[wi] & (~uint64_t(0) << (t & 63));
        while (!m) m = sb[++wi];
        const size_t te = wi * 64 + size_t(__builtin_ctzll(m));
        const size_t len = te - t;
        toks[T++] = Tok{p + t, len, tok_hash(p + t, len)};
        if (len == 4 && std::memcmp(p + t, kEos, 4) == 0) break;  // fastText's line ends at "</s>"
        pos = te;
      }
      if (T == 0 || !(toks[T - 1].n == 4 && std::memcmp(toks[T - 1].s, kEos, 4) == 0)) toks[T++] = Tok{kEos, 4, tok_hash(kEos, 4)};
    } else
#endif
    for (;;) {
      bool eol = false;
      while (p < end && is_sep(static_cast<unsigned char>(*p))) {
        if (*p == '\n' && !mode.newline_as_space) { eol = true; break; }
        ++p;
      }
      if (eol || p == end) {
        toks[T++] = Tok{kEos, 4, tok_hash(kEos, 4)};
        break;
      }
      const char* t = p;
      while (p < end && !is_sep(static_cast<unsigned char>(*p))) ++p;
      const size_t len = size_t(p - t);
      toks[T++] = Tok{t, len, tok_hash(t, len)};
      if (len == 4 && std::memcmp(t, kEos, 4) == 0) break;
    }
    // Pass 2: features in order. The cache slot of a token a few ahead, and then its record, are
    // prefetched: the loop is bound by those memory latencies, not by arithmetic.
    // The sum lives in a local vector (a register), not in the object: a member would be stored and
    // reloaded around every add, lengthening the chain of dependent adds by a store-forwarding delay.
    V16 acc = V16{};
    for (size_t i = 0; i < T; ++i) {
      const uint64_t mask = cache_slots.size() - 1;  // the table may grow in token_record
      if (i + 8 < T) __builtin_prefetch(&cache_slots[toks[i + 8].hash & mask]);
      if (i + 4 < T) {
        uint64_t v = cache_slots[toks[i + 4].hash & mask];
        if (v != 0 && uint32_t(v >> 32) == toks[i + 4].hash && uint32_t(v) - 1 < cache.size()) __builtin_prefetch(cache.data() + (uint32_t(v) - 1));
      }
      const Tok& tk = toks[i];
      const int32_t* rec = token_record(st, tk.s, tk.n, tk.hash);
      const int32_t nf = rec[1];
      if (dim == 16) {
        for (int32_t k = 0; k < nf; ++k) {
          V16 v;
          std::memcpy(&v, row_base + int64_t(rec[3 + k]) * 16, sizeof v);
          acc += v;
        }
      } else {
        for (int32_t k = 0; k < nf; ++k) add_row(st, rec[3 + k]);
      }
      count += size_t(nf);
      if (ngrams && rec[2] == kWord) word_hashes.push_back(int32_t(fnv(tk.s, tk.n)));  // fastText's word hash
    }
    st.acc16 = acc;  // word n-grams (below) continue the same sum through add_row
    if (ngrams) {  // Dictionary::addWordNgrams (hashes stored as int32, widened with sign extension)
      const int32_t nh = int32_t(word_hashes.size());
      for (int32_t i = 0; i < nh; ++i) {
        uint64_t h = uint64_t(int64_t(word_hashes[i]));
        for (int32_t j = i + 1; j < nh && j < i + args.word_ngrams; ++j) {
          h = h * 116049371u + uint64_t(int64_t(word_hashes[j]));
          push_hash(int32_t(h % uint64_t(args.bucket)), [&](int32_t r) { ensure_row(r); add_row(st, r); ++count; });
        }
      }
    }
    if (dim == 16) std::memcpy(hidden.data(), &st.acc16, sizeof st.acc16);
    if (count == 0) return 0;
    const float scale = float(1.0 / double(count));
    for (int32_t j = 0; j < dim; ++j) hidden[j] *= scale;
    return count;
  }

  float dot_row(const State& st, int32_t i) const {
    const float* x = st.hidden.data();
    if (!wo_quant) {
      const float* w = wo.data() + int64_t(i) * dim;
      float d = 0.0f;
      for (int32_t j = 0; j < dim; ++j) d += w[j] * x[j];
      return d;
    }
    float norm = wo_qnorm ? wo_norm_centroids[wo_norm_codes[i]] : 1.0f;
    const uint8_t* code = wo_codes.data() + int64_t(wo_nsubq) * i;
    float res = 0.0f;
    int32_t d = wo_dsub;
    for (int32_t m = 0; m < wo_nsubq; ++m) {
      const float* c;
      if (m == wo_nsubq - 1) {
        d = wo_lastdsub;
        c = wo_centroids.data() + int64_t(m) * kKsub * wo_dsub + int64_t(code[m]) * wo_lastdsub;
      } else {
        c = wo_centroids.data() + (int64_t(m) * kKsub + code[m]) * wo_dsub;
      }
      for (int32_t k = 0; k < d; ++k) res += x[m * wo_dsub + k] * c[k];
    }
    return res * norm;
  }
  // HierarchicalSoftmaxLoss: sigmoid of an internal node's score, with fastText's mixed precision.
  float node_prob(const State& st, int32_t node) const {
    float f = dot_row(st, node - nlabels);
    return float(1.0 / double(1.0f + std::exp(-f)));
  }

  static bool heap_cmp(const std::pair<float, int32_t>& l, const std::pair<float, int32_t>& r) { return l.first > r.first; }

  void dfs(State& st, int32_t k, float threshold, int32_t node, float score) const {
    std::vector<std::pair<float, int32_t>>& heap = st.heap;
    if (score < std_log(threshold)) return;
    if (int64_t(heap.size()) == k && score < heap.front().first) return;
    const Node& nd = tree[node];
    if (nd.left == -1 && nd.right == -1) {
      heap.emplace_back(score, node);
      std::push_heap(heap.begin(), heap.end(), heap_cmp);
      if (int64_t(heap.size()) > k) {
        std::pop_heap(heap.begin(), heap.end(), heap_cmp);
        heap.pop_back();
      }
      return;
    }
    float f = node_prob(st, node);
    dfs(st, k, threshold, nd.left, score + std_log(float(1.0 - double(f))));
    dfs(st, k, threshold, nd.right, score + std_log(f));
  }
};

// Parses a model file (fasttext_load.cc): CHECKPOINT_CORRUPT / MODEL_UNSUPPORTED as FastTextModel::load.
std::shared_ptr<FastTextModel::Impl> parse_fasttext_model(const uint8_t* data, size_t n);

}  // namespace olmo::cpu
