// text_taggers: the per-document statistics of Dolma's gopher_v1, c4_v1 and pii_regex_v2 taggers
// (packages/data/src/curation/taggers/*.ts are the readable references; this is the fast path with
// the same results, value for value). CPU only, no CUDA variant.
//
// Input is the document as UTF-16 code units (what a JavaScript string holds), so that Python's
// code-point semantics are a surrogate-pair check away: every length/offset returned is in CODE
// POINTS (Python's len() and str indices) unless said otherwise. Whitespace is Python's
// str.isspace(); letters are \p{L} (str.isalpha); digits \p{Nd} (re's \d) — tables generated from
// Node's Unicode data by native/cpu/gen_text_tables.mjs (native/cpu/text_tables.inc).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace olmo::cpu {

// The whitespace / newline / digit bitmaps of one text (native/cpu/text_taggers_scan.h). Each function
// below builds them itself, or takes `bits` already built by text_bits() over the same (s, n): the
// batch path (text_tag_batch.cc) builds them once per document for all three taggers.
namespace text { struct TextBits; }

// gopher_stats: writes kGopherOut doubles, computed with the same formulas (and the same double
// arithmetic) as gopherStats() in taggers/gopher.ts:
//   [0] character_count  [1] word_count  [2] median_word_length  [3] symbol_to_word_ratio
//   [4] fraction_of_words_with_alpha_character  [5] required_word_count
//   [6] fraction_of_lines_starting_with_bullet_point  [7] fraction_of_lines_ending_with_ellipsis
//   [8] fraction_of_duplicate_lines  [9] fraction_of_characters_in_duplicate_lines
//   [10..12] fraction_of_characters_in_most_common_{2,3,4}grams   (NaN: fewer words than n)
//   [13..18] fraction_of_characters_in_duplicate_{5..10}grams      (NaN: fewer words than n)
constexpr int kGopherOut = 19;
void gopher_stats(const uint16_t* s, int64_t n, double* out, const text::TextBits* bits = nullptr);

// The C4 bad-word list, split as taggers/c4.ts does: single words (matched against lower-cased
// words) and phrases (substrings of lower-cased lines). c4_lexicon_supported says whether the
// native lower-casing is exact for this list (every non-ASCII character of it is neither a letter
// nor a mark, so no lower-case mapping can produce it; phrases are trimmed and hold no "\n").
struct C4Lexicon;
bool c4_lexicon_supported(const std::vector<std::u16string>& words, const std::vector<std::u16string>& phrases);
C4Lexicon* c4_lexicon_new(const std::vector<std::u16string>& words, const std::vector<std::u16string>& phrases);
void c4_lexicon_free(C4Lexicon* lex);

// c4_spans appends to `out`: line_count, flags (1 naughty, 2 javascript, 4 lorem ipsum, 8 curly
// brace), n_no_punct, n_few_words, len(text) in code points, then n_no_punct (start, end) pairs of
// lines_with_no_ending_punctuation and n_few_words pairs of lines_with_too_few_words.
void c4_spans(const C4Lexicon* lex, const uint16_t* s, int64_t n, std::vector<double>& out, const text::TextBits* bits = nullptr);

// pii_matches appends: word_count (len(text.split())), n_matches, len(text) in code points, then n_matches triples
// (type 0 EMAIL / 1 PHONE / 2 IP, start, end) — every finditer match of the three regexes of
// taggers/pii.ts in that order, offsets in UTF-16 UNITS (the JS side maps them to code points).
void pii_matches(const uint16_t* s, int64_t n, std::vector<double>& out, const text::TextBits* bits = nullptr);

}  // namespace olmo::cpu
