// fastText's model file format → the tables of FastTextModel::Impl (see fasttext_model.h and
// native/include/olmo/ops/fasttext.h): Args, Dictionary (words, labels, pruneidx), the input matrix
// (dense or product-quantized, decoded lazily), the output matrix, the Huffman tree of the labels.
// Every count and size is checked against the file before use (CHECKPOINT_CORRUPT).
#include "fasttext_model.h"

namespace olmo::cpu {

std::shared_ptr<FastTextModel::Impl> parse_fasttext_model(const uint8_t* data, size_t n) {
  using Impl = FastTextModel::Impl;
  auto m = std::make_shared<Impl>();
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
    m->row_ready.reset(new std::atomic<uint64_t>[size_t(rows + 63) / 64]());
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
  std::string scratch;
  for (int32_t i = 0; i < m->nwords; ++i) {  // Dictionary::initNgrams
    m->sub_ids.push_back(i);
    const std::string& w = m->words[size_t(i)];
    if (w != kEos) m->subwords(scratch, w.data(), w.size(), [&](int32_t id) { m->sub_ids.push_back(id); });
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
  return m;
}

}  // namespace olmo::cpu
