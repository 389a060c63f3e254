// Bindings for native/cpu/text_taggers.cc (Dolma tagger statistics; CPU only).
//
// textGopher(text: string) → Float64Array(19)         see gopher_stats in olmo/ops/text_taggers.h
// textC4Lexicon(words: string[], phrases: string[]) → External | null   (null: list not supported natively)
// textC4(lexicon: External, text: string) → Float64Array   see c4_spans
// textPii(text: string) → Float64Array                  see pii_matches
// The string is read as UTF-16 code units into a per-thread buffer (no per-call allocation).
#include "olmo/ops/text_taggers.h"

#include <string>
#include <vector>

#include "registry.h"

namespace olmo::addon {

static const uint16_t* utf16_arg(const Napi::CallbackInfo& info, size_t i, int64_t* n) {
  OLMO_CHECK(i < info.Length() && info[i].IsString(), "INVALID_ARGUMENT", "argument " << i << " must be a string", "internal binding misuse");
  thread_local std::vector<char16_t> buf;
  napi_env env = info.Env();
  size_t len = 0;
  OLMO_CHECK(napi_get_value_string_utf16(env, info[i], nullptr, 0, &len) == napi_ok, "INTERNAL", "cannot read string", "");
  if (buf.size() < len + 1) buf.resize(len + 1);
  size_t got = 0;
  OLMO_CHECK(napi_get_value_string_utf16(env, info[i], buf.data(), len + 1, &got) == napi_ok && got == len, "INTERNAL", "cannot read string", "");
  *n = int64_t(len);
  return reinterpret_cast<const uint16_t*>(buf.data());
}

static Napi::Float64Array to_f64(Napi::Env env, const double* p, size_t n) {
  Napi::Float64Array a = Napi::Float64Array::New(env, n);
  std::copy(p, p + n, a.Data());
  return a;
}

static Napi::Value TextGopher(const Napi::CallbackInfo& info) {
  int64_t n;
  const uint16_t* s = utf16_arg(info, 0, &n);
  double o[cpu::kGopherOut];
  cpu::gopher_stats(s, n, o);
  return to_f64(info.Env(), o, cpu::kGopherOut);
}

static std::vector<std::u16string> string_list(const Napi::CallbackInfo& info, size_t i) {
  OLMO_CHECK(i < info.Length() && info[i].IsArray(), "INVALID_ARGUMENT", "argument " << i << " must be an array of strings", "internal binding misuse");
  Napi::Array a = info[i].As<Napi::Array>();
  std::vector<std::u16string> out;
  for (uint32_t k = 0; k < a.Length(); k++) {
    Napi::Value v = a.Get(k);
    OLMO_CHECK(v.IsString(), "INVALID_ARGUMENT", "list entry " << k << " is not a string", "internal binding misuse");
    out.push_back(v.As<Napi::String>().Utf16Value());
  }
  return out;
}

static Napi::Value TextC4Lexicon(const Napi::CallbackInfo& info) {
  std::vector<std::u16string> words = string_list(info, 0), phrases = string_list(info, 1);
  if (!cpu::c4_lexicon_supported(words, phrases)) return info.Env().Null();
  cpu::C4Lexicon* lex = cpu::c4_lexicon_new(words, phrases);
  return Napi::External<cpu::C4Lexicon>::New(info.Env(), lex, [](Napi::Env, cpu::C4Lexicon* p) { cpu::c4_lexicon_free(p); });
}

static Napi::Value TextC4(const Napi::CallbackInfo& info) {
  OLMO_CHECK(info.Length() >= 2 && info[0].IsExternal(), "INVALID_ARGUMENT", "textC4: argument 0 must be a lexicon from textC4Lexicon", "internal binding misuse");
  const cpu::C4Lexicon* lex = info[0].As<Napi::External<cpu::C4Lexicon>>().Data();
  int64_t n;
  const uint16_t* s = utf16_arg(info, 1, &n);
  thread_local std::vector<double> out;
  out.clear();
  cpu::c4_spans(lex, s, n, out);
  return to_f64(info.Env(), out.data(), out.size());
}

static Napi::Value TextPii(const Napi::CallbackInfo& info) {
  int64_t n;
  const uint16_t* s = utf16_arg(info, 0, &n);
  thread_local std::vector<double> out;
  out.clear();
  cpu::pii_matches(s, n, out);
  return to_f64(info.Env(), out.data(), out.size());
}

OLMO_REGISTER(text_taggers) {
  def(env, exports, "textGopher", TextGopher);
  def(env, exports, "textC4Lexicon", TextC4Lexicon);
  def(env, exports, "textC4", TextC4);
  def(env, exports, "textPii", TextPii);
}

}  // namespace olmo::addon
