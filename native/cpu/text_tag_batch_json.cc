// JSON scanning and number/string formatting of text_tag_batch — see text_tag_batch_json.h and
// olmo/ops/text_tag_batch.h. Every rule here mirrors a JavaScript built-in the TypeScript path uses
// (TextDecoder fatal UTF-8, JSON.parse, JSON.stringify, Number.prototype.toString / toFixed), so that
// the fast path writes the same bytes; anything outside the common case is refused, not guessed.
#include "text_tag_batch_json.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "olmo/ops/text_tag_batch.h"
#include "text_taggers_scan.h"

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace olmo::cpu {
namespace tagjson {
namespace {

inline bool is_ws(uint8_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// One UTF-8 sequence starting at p (p < e, *p >= 0x80) as the WHATWG decoder accepts it (no
// overlongs, no surrogates, <= U+10FFFF). Returns its length, 0 when malformed; *cp = the code point.
inline int utf8_seq(const uint8_t* p, const uint8_t* e, uint32_t* cp) {
  const uint8_t c = p[0];
  int len;
  uint32_t v;
  uint8_t lo = 0x80, hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) { len = 2; v = c & 0x1f; }
  else if (c >= 0xe0 && c <= 0xef) { len = 3; v = c & 0x0f; if (c == 0xe0) lo = 0xa0; if (c == 0xed) hi = 0x9f; }
  else if (c >= 0xf0 && c <= 0xf4) { len = 4; v = c & 0x07; if (c == 0xf0) lo = 0x90; if (c == 0xf4) hi = 0x8f; }
  else return 0;
  if (e - p < len) return 0;
  if (p[1] < lo || p[1] > hi) return 0;
  v = (v << 6) | (p[1] & 0x3f);
  for (int k = 2; k < len; k++) {
    if ((p[k] & 0xc0) != 0x80) return 0;
    v = (v << 6) | (p[k] & 0x3f);
  }
  *cp = v;
  return len;
}

inline int hex(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') return (c | 0x20) - 'a' + 10;
  return -1;
}

struct Scanner {
  const uint8_t* p;
  const uint8_t* e;
  bool simd = text::text_simd();
  void ws() { while (p < e && is_ws(*p)) ++p; }
  // At the opening quote; on success p is past the closing quote and s holds the contents.
  bool string(Str& s) {
    ++p;
    s.b = p;
    s.escaped = false;
    for (;;) {
      // the common run: printable ASCII other than '"' and '\' (32 bytes a step with AVX2)
#if defined(__AVX2__)
      if (simd) {
        const __m256i quote = _mm256_set1_epi8('"'), bslash = _mm256_set1_epi8('\\'), space = _mm256_set1_epi8(0x20);
        while (e - p >= 32) {
          const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
          // signed v < 0x20: the controls and every byte >= 0x80
          const __m256i stop = _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(v, quote), _mm256_cmpeq_epi8(v, bslash)), _mm256_cmpgt_epi8(space, v));
          const uint32_t m = uint32_t(_mm256_movemask_epi8(stop));
          if (m) { p += __builtin_ctz(m); break; }
          p += 32;
        }
      }
#endif
      while (p < e && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') ++p;
      if (p >= e) return false;
      const uint8_t c = *p;
      if (c == '"') { s.e = p++; return true; }
      if (c == '\\') {
        s.escaped = true;
        if (e - p < 2) return false;
        const uint8_t x = p[1];
        if (x == 'u') {
          if (e - p < 6) return false;
          for (int k = 2; k < 6; k++) if (hex(p[k]) < 0) return false;
          p += 6;
        } else if (x == '"' || x == '\\' || x == '/' || x == 'b' || x == 'f' || x == 'n' || x == 'r' || x == 't') {
          p += 2;
        } else {
          return false;
        }
        continue;
      }
      if (c < 0x20) return false;  // a raw control character: JSON.parse rejects it
      uint32_t cp;
      const int len = utf8_seq(p, e, &cp);
      if (len == 0) return false;
      p += len;
    }
  }
  bool digits() {
    if (p >= e || uint8_t(*p - '0') > 9) return false;
    while (p < e && uint8_t(*p - '0') <= 9) ++p;
    return true;
  }
  bool number() {
    if (*p == '-') ++p;
    if (p >= e) return false;
    if (*p == '0') ++p;
    else if (!digits()) return false;
    if (p < e && *p == '.') { ++p; if (!digits()) return false; }
    if (p < e && (*p == 'e' || *p == 'E')) {
      ++p;
      if (p < e && (*p == '+' || *p == '-')) ++p;
      if (!digits()) return false;
    }
    return true;
  }
  bool literal(const char* w, size_t len) {
    if (size_t(e - p) < len || std::memcmp(p, w, len) != 0) return false;
    p += len;
    return true;
  }
  // Any JSON value (p at its first byte, whitespace skipped). Containers recurse, at most 256 deep.
  bool value(Str* out_str, Kind* kind, int depth) {
    if (p >= e) return false;
    const uint8_t c = *p;
    if (c == '"') {
      Str s;
      if (!string(s)) return false;
      if (out_str) *out_str = s;
      if (kind) *kind = Kind::kString;
      return true;
    }
    if (kind) *kind = Kind::kOther;
    if (c == '{') return object(depth + 1);
    if (c == '[') return array(depth + 1);
    if (c == 't') return literal("true", 4);
    if (c == 'f') return literal("false", 5);
    if (c == 'n') return literal("null", 4);
    if (c == '-' || uint8_t(c - '0') <= 9) return number();
    return false;
  }
  bool object(int depth) {
    if (depth > 256) return false;
    ++p;
    ws();
    if (p < e && *p == '}') { ++p; return true; }
    for (;;) {
      if (!member_key() || !value(nullptr, nullptr, depth)) return false;
      ws();
      if (p >= e) return false;
      if (*p == ',') { ++p; ws(); continue; }
      if (*p == '}') { ++p; return true; }
      return false;
    }
  }
  bool array(int depth) {
    if (depth > 256) return false;
    ++p;
    ws();
    if (p < e && *p == ']') { ++p; return true; }
    for (;;) {
      if (!value(nullptr, nullptr, depth)) return false;
      ws();
      if (p >= e) return false;
      if (*p == ',') { ++p; ws(); continue; }
      if (*p == ']') { ++p; return true; }
      return false;
    }
  }
  // "key" ws ':' ws  (p at the key's quote)
  bool member_key() {
    if (p >= e || *p != '"') return false;
    Str k;
    if (!string(k)) return false;
    ws();
    if (p >= e || *p != ':') return false;
    ++p;
    ws();
    return true;
  }
};

}  // namespace

bool scan_document(const uint8_t* p, size_t n, DocFields& f) {
  f = DocFields{};
  Scanner s{p, p + n};
  s.ws();
  if (s.p >= s.e || *s.p != '{') return false;  // also a leading BOM (TextDecoder drops it): JS decides
  ++s.p;
  s.ws();
  if (s.p < s.e && *s.p == '}') {
    ++s.p;
  } else {
    for (;;) {
      if (s.p >= s.e || *s.p != '"') return false;
      Str key;
      if (!s.string(key) || key.escaped) return false;
      s.ws();
      if (s.p >= s.e || *s.p != ':') return false;
      ++s.p;
      s.ws();
      const size_t kl = size_t(key.e - key.b);
      Field* target = nullptr;
      if (kl == 2 && std::memcmp(key.b, "id", 2) == 0) target = &f.id;
      else if (kl == 4 && std::memcmp(key.b, "text", 4) == 0) target = &f.text;
      else if (kl == 6 && std::memcmp(key.b, "source", 6) == 0) target = &f.source;
      Str v;
      Kind kind;
      if (!s.value(&v, &kind, 1)) return false;
      if (target) { target->kind = kind; target->str = v; }
      s.ws();
      if (s.p >= s.e) return false;
      if (*s.p == ',') { ++s.p; s.ws(); continue; }
      if (*s.p == '}') { ++s.p; break; }
      return false;
    }
  }
  s.ws();
  return s.p == s.e;
}

void decode_string(const Str& s, std::vector<uint16_t>& out) {
  static const bool simd = text::text_simd();
  const uint8_t* p = s.b;
  const uint8_t* e = s.e;
  const size_t base = out.size();
  out.resize(base + size_t(e - p));  // never more units than bytes
  uint16_t* o = out.data() + base;
  while (p < e) {
#if defined(__AVX2__)
    // widen 16 ASCII bytes a step (stores 16 units even when fewer are plain: the output has room,
    // as it never holds more units than the bytes read so far)
    if (simd) {
      const __m128i bslash = _mm_set1_epi8('\\');
      while (e - p >= 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(o), _mm256_cvtepu8_epi16(v));
        const uint32_t m = uint32_t(_mm_movemask_epi8(_mm_or_si128(v, _mm_cmpeq_epi8(v, bslash))));  // >= 0x80 or '\\'
        if (m) { const int k = __builtin_ctz(m); p += k; o += k; break; }
        p += 16;
        o += 16;
      }
      if (p >= e) break;
    }
#endif
    const uint8_t c = *p;
    if (c < 0x80 && c != '\\') { *o++ = c; ++p; continue; }
    if (c == '\\') {
      const uint8_t x = p[1];
      switch (x) {
        case 'b': *o++ = 8; break;
        case 'f': *o++ = 12; break;
        case 'n': *o++ = 10; break;
        case 'r': *o++ = 13; break;
        case 't': *o++ = 9; break;
        case 'u': *o++ = uint16_t((hex(p[2]) << 12) | (hex(p[3]) << 8) | (hex(p[4]) << 4) | hex(p[5])); p += 4; break;
        default: *o++ = x;  // " \ /
      }
      p += 2;
      continue;
    }
    uint32_t cp = 0;
    const int len = utf8_seq(p, e, &cp);  // validated by the scan
    p += len;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      *o++ = uint16_t(0xd800 + (cp >> 10));
      *o++ = uint16_t(0xdc00 + (cp & 0x3ff));
    } else {
      *o++ = uint16_t(cp);
    }
  }
  out.resize(size_t(o - out.data()));
}

void append_json_string(std::string& out, const Str& s, std::vector<uint16_t>& scratch) {
  out.push_back('"');
  if (!s.escaped) {  // valid UTF-8 without escapes or controls: JSON.stringify writes it back as is
    out.append(reinterpret_cast<const char*>(s.b), size_t(s.e - s.b));
    out.push_back('"');
    return;
  }
  scratch.clear();
  decode_string(s, scratch);
  const uint16_t* u = scratch.data();
  const size_t n = scratch.size();
  static const char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    uint32_t c = u[i];
    switch (c) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case 8: out += "\\b"; continue;
      case 12: out += "\\f"; continue;
      case 10: out += "\\n"; continue;
      case 13: out += "\\r"; continue;
      case 9: out += "\\t"; continue;
      default: break;
    }
    const bool high = (c & 0xfc00) == 0xd800, low = (c & 0xfc00) == 0xdc00;
    if (c < 0x20 || low || (high && !(i + 1 < n && (u[i + 1] & 0xfc00) == 0xdc00))) {
      out += "\\u";
      for (int sh = 12; sh >= 0; sh -= 4) out.push_back(kHex[(c >> sh) & 15]);
      continue;
    }
    if (high) c = 0x10000 + ((c - 0xd800) << 10) + (uint32_t(u[++i]) - 0xdc00);
    if (c < 0x80) out.push_back(char(c));
    else if (c < 0x800) { out.push_back(char(0xc0 | (c >> 6))); out.push_back(char(0x80 | (c & 0x3f))); }
    else if (c < 0x10000) { out.push_back(char(0xe0 | (c >> 12))); out.push_back(char(0x80 | ((c >> 6) & 0x3f))); out.push_back(char(0x80 | (c & 0x3f))); }
    else {
      out.push_back(char(0xf0 | (c >> 18))); out.push_back(char(0x80 | ((c >> 12) & 0x3f)));
      out.push_back(char(0x80 | ((c >> 6) & 0x3f))); out.push_back(char(0x80 | (c & 0x3f)));
    }
  }
  out.push_back('"');
}

}  // namespace tagjson

double py_round5(double x) {
  if (!std::isfinite(x) || x == std::trunc(x)) return x;
  if (std::fabs(x) >= 1e15) return x;
  // glibc's printf rounds the exact binary value half-to-even (pyRound: toFixed, then the exact tie
  // fix-up to even), and strtod reads the decimal back correctly rounded (Number(string)).
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.5f", x);
  return std::strtod(buf, nullptr);
}

void append_py_float(std::string& out, double x) {
  char buf[40];
  if (std::isfinite(x) && x == std::trunc(x) && std::fabs(x) < 1e16) {
    // `${x}.0`: JavaScript writes integers below 1e21 in full; -0 is "0"
    const int64_t v = int64_t(x);
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
    out += ".0";
    return;
  }
  if (std::isnan(x)) { out += "NaN"; return; }
  if (std::isinf(x)) { out += x > 0 ? "Infinity" : "-Infinity"; return; }
  // Number.prototype.toString: the shortest round-trip digits d1..dk with value 0.d1..dk x 10^n
  if (x < 0) { out.push_back('-'); x = -x; }
  auto r = std::to_chars(buf, buf + sizeof buf - 1, x, std::chars_format::scientific);
  *r.ptr = '\0';  // for atoi below
  const char* p = buf;
  char digits[24];
  int k = 0;
  for (; p < r.ptr && *p != 'e'; ++p) if (*p != '.') digits[k++] = *p;
  const int n = std::atoi(p + 1) + 1;  // "e-05" -> -5; value = d1.d2.. x 10^(n-1)
  if (k <= n && n <= 21) {
    out.append(digits, size_t(k));
    out.append(size_t(n - k), '0');
  } else if (0 < n && n <= 21) {
    out.append(digits, size_t(n));
    out.push_back('.');
    out.append(digits + n, size_t(k - n));
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(size_t(-n), '0');
    out.append(digits, size_t(k));
  } else {
    out.push_back(digits[0]);
    if (k > 1) { out.push_back('.'); out.append(digits + 1, size_t(k - 1)); }
    out.push_back('e');
    out.push_back(n - 1 >= 0 ? '+' : '-');
    out += std::to_string(std::abs(n - 1));
  }
}

}  // namespace olmo::cpu
