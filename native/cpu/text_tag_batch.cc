// text_tag_batch: the taggers of a documents file in one native call per chunk — see
// olmo/ops/text_tag_batch.h. The span post-processing below is the TypeScript taggers' predict()
// (taggers/gopher.ts, c4.ts, pii.ts, language.ts) and the attribute text is attributes.ts's
// spansToAttributes + formatAttributesLine; test/curation/tag-batch.test.ts checks the bytes are equal.
#include "olmo/ops/text_tag_batch.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include "olmo/ops/fasttext.h"
#include "olmo/ops/text_taggers.h"
#include "text_tag_batch_json.h"
#include "text_taggers_scan.h"

namespace olmo::cpu {
namespace {

struct Span {
  int32_t type;
  int64_t start, end;
  double score;
};

struct Scratch {
  std::vector<uint16_t> text, id_units;
  std::vector<Span> spans;
  std::vector<double> kout;
  ScratchBuffer<char> lower;
  std::vector<int64_t> u2cp, cp2u;
  text::TextBits bits;  // the text's whitespace/newline/digit bitmaps, built once for the three rule taggers
};

inline void append_int(std::string& out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// spansToAttributes + the attribute part of formatAttributesLine for one tagger: a key per type in
// first-appearance order, its spans in order, scores rounded as Dolma does (pyRound, then pyFloat).
void write_tagger(std::string& out, bool& first_key, const std::string& experiment, const char* tagger,
                  const char* const* type_names, int32_t ntypes, const std::vector<Span>& spans) {
  int32_t order[32];
  int32_t norder = 0;
  uint32_t seen = 0;
  for (const Span& s : spans) {
    if (!(seen & (1u << s.type))) { seen |= 1u << s.type; order[norder++] = s.type; }
  }
  (void)ntypes;
  for (int32_t k = 0; k < norder; k++) {
    const int32_t t = order[k];
    if (!first_key) out.push_back(',');
    first_key = false;
    out.push_back('"');
    out += experiment;
    out += "__";
    out += tagger;
    out += "__";
    out += type_names[t];
    out += "\":[";
    bool first = true;
    for (const Span& s : spans) {
      if (s.type != t) continue;
      if (!first) out.push_back(',');
      first = false;
      out.push_back('[');
      append_int(out, s.start);
      out.push_back(',');
      append_int(out, s.end);
      out.push_back(',');
      append_py_float(out, py_round5(s.score));
      out.push_back(']');
    }
    out.push_back(']');
  }
}

const char* const kGopherTypes[] = {
    "fraction_of_characters_in_most_common_2grams", "fraction_of_characters_in_most_common_3grams",
    "fraction_of_characters_in_most_common_4grams", "fraction_of_characters_in_duplicate_5grams",
    "fraction_of_characters_in_duplicate_6grams", "fraction_of_characters_in_duplicate_7grams",
    "fraction_of_characters_in_duplicate_8grams", "fraction_of_characters_in_duplicate_9grams",
    "fraction_of_characters_in_duplicate_10grams", "character_count", "word_count", "median_word_length",
    "symbol_to_word_ratio", "fraction_of_words_with_alpha_character", "required_word_count",
    "fraction_of_lines_starting_with_bullet_point", "fraction_of_lines_ending_with_ellipsis",
    "fraction_of_duplicate_lines", "fraction_of_characters_in_duplicate_lines"};

// GopherV1.predict (gopher.ts) over gopher_stats: the n-gram fractions that exist, then the rest.
void gopher_spans(const uint16_t* s, int64_t n, const text::TextBits* bits, std::vector<Span>& spans) {
  double o[kGopherOut];
  gopher_stats(s, n, o, bits);
  const int64_t end = int64_t(o[0]);
  for (int32_t k = 0; k < 9; k++) if (!std::isnan(o[10 + k])) spans.push_back({k, 0, end, o[10 + k]});
  for (int32_t k = 0; k < 10; k++) spans.push_back({9 + k, 0, end, o[k]});
}

const char* const kC4Types[] = {"lines_with_no_ending_punctuation", "lines_with_too_few_words", "has_naughty_word",
                                "has_javascript", "has_lorem_ipsum", "has_curly_brace", "line_count"};

// C4V1.predict (c4.ts) over c4_spans.
void c4_spans_of(const C4Lexicon* lex, const uint16_t* s, int64_t n, Scratch& w, std::vector<Span>& spans) {
  std::vector<double>& o = w.kout;
  o.clear();
  c4_spans(lex, s, n, o, &w.bits);
  const double lines = o[0];
  const int64_t flags = int64_t(o[1]), np = int64_t(o[2]), fw = int64_t(o[3]), len = int64_t(o[4]);
  size_t k = 5;
  for (int64_t i = 0; i < np; i++, k += 2) spans.push_back({0, int64_t(o[k]), int64_t(o[k + 1]), 1.0});
  for (int64_t i = 0; i < fw; i++, k += 2) spans.push_back({1, int64_t(o[k]), int64_t(o[k + 1]), 1.0});
  for (int32_t b = 0; b < 4; b++) if (flags & (int64_t(1) << b)) spans.push_back({2 + b, 0, len, 1.0});
  spans.push_back({6, 0, len, lines});
}

const char* const kPiiTypes[] = {"EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS", "doc"};

inline bool contains(const uint16_t* s, int64_t a, int64_t b, const char* needle) {
  const int64_t m = int64_t(std::strlen(needle));
  for (int64_t i = a; i + m <= b; i++) {
    int64_t j = 0;
    while (j < m && s[i + j] == uint16_t(needle[j])) j++;
    if (j == m) return true;
  }
  return false;
}

// PiiRegexV2.predict (pii.ts) over pii_matches. False: needs Dolma's URL regex (a backspace in the
// text and a phone match that survives the context test), which only the TypeScript path has.
bool pii_spans(const uint16_t* s, int64_t n_units, Scratch& w, std::vector<Span>& spans) {
  std::vector<double>& o = w.kout;
  o.clear();
  pii_matches(s, n_units, o, &w.bits);
  const int64_t words = int64_t(o[0]), m = int64_t(o[1]), n = int64_t(o[2]);
  if (m == 0) {
    spans.push_back({3, 0, n, words == 0 ? -1.0 : 0.0});
    return true;
  }
  // utf16ToCodePoint / codePointToUtf16 of pystr.ts (identity without a high surrogate)
  bool astral = false;
  for (int64_t i = 0; i < n_units && !astral; i++) astral = (s[i] & 0xfc00) == 0xd800;
  if (astral) {
    w.u2cp.assign(size_t(n_units + 1), 0);
    w.cp2u.clear();
    int64_t cp = 0;
    for (int64_t i = 0; i < n_units; cp++) {
      w.u2cp[size_t(i)] = cp;
      w.cp2u.push_back(i);
      if (text::is_high(s[i]) && i + 1 < n_units && text::is_low(s[i + 1])) { w.u2cp[size_t(i + 1)] = cp; i += 2; }
      else i++;
    }
    w.u2cp[size_t(n_units)] = cp;
    w.cp2u.push_back(n_units);
  }
  auto to_cp = [&](int64_t u) { return astral ? w.u2cp[size_t(u)] : u; };
  auto to_u16 = [&](int64_t cp) { return !astral ? cp : cp >= int64_t(w.cp2u.size()) ? n_units : w.cp2u[size_t(cp)]; };
  bool has_backspace = false, checked_backspace = false;
  int64_t kept = 0;
  for (int64_t i = 0, k = 3; i < m; i++, k += 3) {
    const int32_t type = int32_t(o[size_t(k)]);
    const int64_t a = to_cp(int64_t(o[size_t(k + 1)])), b = to_cp(int64_t(o[size_t(k + 2)]));
    if (type == 0) {  // email: slice(a, b).split('@'): strip(parts[0]) != "(" and "." in parts[1]
      const int64_t ua = to_u16(std::max<int64_t>(0, a)), ub = std::max(ua, to_u16(std::min(n, b)));
      int64_t at1 = ua;
      while (at1 < ub && s[at1] != '@') at1++;
      int64_t p0 = ua, p1 = at1;
      while (p0 < p1 && text::is_space(s[p0])) p0++;
      while (p1 > p0 && text::is_space(s[p1 - 1])) p1--;
      if (p1 - p0 == 1 && s[p0] == '(') continue;
      if (at1 >= ub) continue;  // no '@': parts[1] is undefined
      int64_t at2 = at1 + 1;
      while (at2 < ub && s[at2] != '@') at2++;
      if (!contains(s, at1 + 1, at2, ".")) continue;
    } else {  // phone / ip: the ±100-code-point context has none of "isbn", "doi", "#"
      const int64_t ua = to_u16(std::max<int64_t>(0, a - 100)), ub = std::max(ua, to_u16(std::min(n, b + 100)));
      if (contains(s, ua, ub, "isbn") || contains(s, ua, ub, "doi") || contains(s, ua, ub, "#")) continue;
      if (type == 1) {
        if (!checked_backspace) {
          for (int64_t j = 0; j < n_units && !has_backspace; j++) has_backspace = s[j] == 8;
          checked_backspace = true;
        }
        if (has_backspace) return false;
      }
    }
    spans.push_back({type, a, b, 1.0});
    kept++;
  }
  spans.push_back({3, 0, n, words == 0 ? -1.0 : double(kept) / double(words)});
  return true;
}

const char* const kFtTypes[] = {"en", "not_en"};

// FtLangIdEnDocV2.predict (language.ts) with the native scorer. False: a capital sigma (the
// TypeScript path lower-cases such texts).
bool ft_spans(FastTextModel* ft, int32_t label, const uint16_t* s, int64_t n, Scratch& w, std::vector<Span>& spans) {
  int64_t cps = 0;
  const int64_t bytes = py_lower_utf8(s, n, w.lower, &cps);
  if (bytes < 0) return false;
  FastTextTextMode mode;
  mode.newline_as_space = true;
  mode.python_strip = true;
  const float p = ft->label_probability(w.lower.data(), size_t(bytes), label, 0.0f, mode);
  const double en = p < 0 ? 0.0 : double(p);
  spans.push_back({0, 0, cps, en});
  spans.push_back({1, 0, cps, p < 0 ? 1.0 : 1 - en});
  return true;
}

// One documents line -> one attributes line appended to out. False: leave it to TypeScript (out may
// then hold a partial line: the caller truncates).
bool tag_line(const TagBatchPlan& plan, const uint8_t* p, size_t n, Scratch& w, std::string& out) {
  tagjson::DocFields f;
  if (!tagjson::scan_document(p, n, f)) return false;
  if (f.text.kind != tagjson::Kind::kString || f.id.kind != tagjson::Kind::kString) return false;
  if (f.source.kind == tagjson::Kind::kOther) return false;
  w.text.clear();
  tagjson::decode_string(f.text.str, w.text);
  const uint16_t* s = w.text.data();
  const int64_t len = int64_t(w.text.size());
  bool have_rule_tagger = false, have_gopher = false;
  for (BatchTagger t : plan.taggers) {
    have_rule_tagger |= t != BatchTagger::kFtLangIdEnDoc;
    have_gopher |= t == BatchTagger::kGopher;
  }
  if (have_rule_tagger) text::text_bits(s, len, w.bits, have_gopher);  // once, for gopher, c4 and pii
  out += "{\"id\":";
  tagjson::append_json_string(out, f.id.str, w.id_units);
  out += ",\"attributes\":{";
  bool first_key = true;
  for (BatchTagger t : plan.taggers) {
    w.spans.clear();
    switch (t) {
      case BatchTagger::kGopher:
        gopher_spans(s, len, &w.bits, w.spans);
        write_tagger(out, first_key, plan.experiment, "gopher_v1", kGopherTypes, 19, w.spans);
        break;
      case BatchTagger::kC4:
        c4_spans_of(plan.c4, s, len, w, w.spans);
        write_tagger(out, first_key, plan.experiment, "c4_v1", kC4Types, 7, w.spans);
        break;
      case BatchTagger::kPii:
        if (!pii_spans(s, len, w, w.spans)) return false;
        write_tagger(out, first_key, plan.experiment, "pii_regex_v2", kPiiTypes, 4, w.spans);
        break;
      case BatchTagger::kFtLangIdEnDoc:
        if (!ft_spans(plan.ft, plan.ft_en_label, s, len, w, w.spans)) return false;
        write_tagger(out, first_key, plan.experiment, "ft_lang_id_en_doc_v2", kFtTypes, 2, w.spans);
        break;
    }
  }
  out.push_back('}');
  if (f.source.kind == tagjson::Kind::kString) {
    out += ",\"source\":";
    tagjson::append_json_string(out, f.source.str, w.id_units);
  }
  out += "}\n";
  return true;
}

}  // namespace

TagBatchResult tag_batch(const TagBatchPlan& plan, const uint8_t* buf, size_t n, bool final, std::string& out) {
  thread_local Scratch w;
  TagBatchResult r;
  size_t off = 0;
  while (off < n) {
    const void* nl = std::memchr(buf + off, '\n', n - off);
    if (nl == nullptr && !final) break;
    const size_t end = nl ? size_t(static_cast<const uint8_t*>(nl) - buf) : n;
    const size_t mark = out.size();
    if (!tag_line(plan, buf + off, end - off, w, out)) {
      out.resize(mark);
      r.stopped = true;
      break;
    }
    r.lines++;
    r.bytes += int64_t(end - off) + 1;
    off = nl ? end + 1 : n;
  }
  r.consumed = off;
  return r;
}

}  // namespace olmo::cpu
