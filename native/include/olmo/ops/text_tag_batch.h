// text_tag_batch: `olmo data tag` over whole chunks of a documents file in one native call — the
// fast path of packages/data/src/curation/tag-file.ts when every requested tagger is one of
// gopher_v1, c4_v1, pii_regex_v2, ft_lang_id_en_doc_v2 (each at most once). CPU only.
//
// Per line: JSON.parse of the fields it needs (id, text, source; the rest is validated and skipped),
// the taggers of olmo/ops/text_taggers.h and olmo/ops/fasttext.h over one UTF-16 copy of the text,
// the TypeScript span post-processing (taggers/*.ts predict) and the attribute line exactly as
// attributes.ts formatAttributesLine writes it (Python round(x, 5), JavaScript number text).
// A line it cannot reproduce byte for byte — malformed UTF-8 or JSON, a missing field, a number id, a
// non-string source, an escaped key, a capital sigma (fastText lower-casing), a backspace in a text with
// a phone match (Dolma's URL regex) — stops the batch BEFORE that line, so the caller runs it through
// the TypeScript path, which raises the same typed errors (or formats it) as without this fast path.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace olmo::cpu {

struct C4Lexicon;
class FastTextModel;

enum class BatchTagger : int32_t { kGopher = 0, kC4 = 1, kPii = 2, kFtLangIdEnDoc = 3 };

struct TagBatchPlan {
  std::string experiment;               // attribute key prefix (a variable-like name)
  std::vector<BatchTagger> taggers;     // in the requested order (the attribute key order)
  const C4Lexicon* c4 = nullptr;        // needed for kC4
  FastTextModel* ft = nullptr;          // needed for kFtLangIdEnDoc (mutable: its token cache)
  int32_t ft_en_label = -1;             // index of __label__en
};

struct TagBatchResult {
  size_t consumed = 0;   // bytes of buf tagged (whole lines, with their '\n')
  int64_t lines = 0;     // lines (documents) tagged
  int64_t bytes = 0;     // their bytes + 1 each (tag-file.ts counts line.bytes + 1)
  bool stopped = false;  // true: the line at buf + consumed needs the TypeScript path
};

// Tags the lines of buf[0, n): every line ending in '\n', and, when `final`, a non-empty rest without
// one. Appends one attributes line (with '\n') per document to `out`.
TagBatchResult tag_batch(const TagBatchPlan& plan, const uint8_t* buf, size_t n, bool final, std::string& out);

// --- helpers shared with the tests' expectations (text_tag_batch_json.cc) ---
// Python's round(x, 5) as pystr.ts pyRound computes it (exact decimal rounding, ties to even).
double py_round5(double x);
// pystr.ts pyFloat: `${x}.0` for integral |x| < 1e16, else JavaScript's String(x).
void append_py_float(std::string& out, double x);

}  // namespace olmo::cpu
