// JSON pieces of text_tag_batch (internal to native/cpu): a strict scan of one documents line that
// accepts exactly what `new TextDecoder('utf-8', {fatal: true})` + JSON.parse accept (or gives up:
// the caller then lets JavaScript raise its error), the decoding of a JSON string to UTF-16 units, and
// JSON.stringify of a string.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace olmo::cpu::tagjson {

// A string value's bytes between its quotes; `escaped`: it holds a backslash escape.
struct Str {
  const uint8_t* b = nullptr;
  const uint8_t* e = nullptr;
  bool escaped = false;
};
enum class Kind : uint8_t { kAbsent, kString, kOther };
struct Field {
  Kind kind = Kind::kAbsent;
  Str str;
};
struct DocFields {
  Field id, text, source;
};

// Scans line p[0, n) (no '\n'). True when it is valid UTF-8 and one JSON object (whitespace around),
// with the LAST occurrence of each of the top-level keys "id", "text", "source" (JSON.parse keeps the
// last) in `f`. False when the line is malformed or unusual (a key with an escape, a leading BOM,
// nesting deeper than 256): the caller falls back to JavaScript.
bool scan_document(const uint8_t* p, size_t n, DocFields& f);

// Appends the UTF-16 units of a scanned string (escapes decoded; \uD800 alone stays a lone unit).
void decode_string(const Str& s, std::vector<uint16_t>& out);

// Appends JSON.stringify(the string) as UTF-8: \" \\ \b \f \n \r \t, other controls and lone
// surrogates as lower-case \uXXXX, everything else as itself.
void append_json_string(std::string& out, const Str& s, std::vector<uint16_t>& scratch);

}  // namespace olmo::cpu::tagjson
