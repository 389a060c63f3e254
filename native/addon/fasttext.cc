// Bindings for native/cpu/fasttext.cc (fastText supervised inference; CPU only).
//
// fastTextLoad(bytes: Uint8Array, shared = true) → handle (an External; the model is freed with it, or by
//   fastTextFree); shared: use the tables of a live model loaded from the same bytes (FastTextModel::load)
// fastTextModelsSharing(handle) → how many live models use the handle's tables
// fastTextFree(handle)
// fastTextInfo(handle) → { dim, ws, epoch, minCount, neg, wordNgrams, loss, model, bucket, minn, maxn,
//                          lrUpdateRate, t, version, quantInput, qout, nwords, labels: string[] }
// fastTextPredict(handle, text: string | Uint8Array, k, threshold, newlineAsSpace, pythonStrip)
//   → { labels: Int32Array, probs: Float32Array } sorted by decreasing probability
// fastTextLabelProbability(handle, text, label, threshold, newlineAsSpace, pythonStrip) → number
//   (the float32 probability as a double, or -1 when predict(k=-1, threshold) would not report it)
// fastTextLabelProbabilityLower(handle, text: string, label, threshold, newlineAsSpace, pythonStrip)
//   → [probability or -1, len(text) in code points] for Python's text.lower() (py_lower_utf8), or null
//   when the text needs the caller's lower-casing (a capital sigma)
// Strings are read as UTF-8 (V8 writes a lone surrogate as U+FFFD).
#include "olmo/ops/fasttext.h"

#include <string>
#include <vector>

#include "args.h"
#include "fasttext_handle.h"
#include "registry.h"

namespace olmo::addon {
namespace {

struct Holder {
  std::unique_ptr<cpu::FastTextModel> model;
};

Holder* holder(const Napi::CallbackInfo& info) {
  OLMO_CHECK(info.Length() >= 1 && info[0].IsExternal(), "INVALID_ARGUMENT", "argument 0 must be a fastText model handle", "internal binding misuse");
  return info[0].As<Napi::External<Holder>>().Data();
}

cpu::FastTextModel& model(const Napi::CallbackInfo& info) {
  Holder* h = holder(info);
  OLMO_CHECK(h->model != nullptr, "INVALID_ARGUMENT", "the fastText model was disposed", "load it again");
  return *h->model;
}

// The text argument as UTF-8 bytes: a view of a Uint8Array, or a string copied into `buf`.
std::pair<const char*, size_t> text_arg(const Napi::CallbackInfo& info, size_t i, std::string& buf) {
  OLMO_CHECK(i < info.Length(), "INVALID_ARGUMENT", "missing text argument", "internal binding misuse");
  Napi::Value v = info[i];
  if (v.IsString()) {
    napi_env env = info.Env();
    size_t len = 0;
    napi_status st = napi_get_value_string_utf8(env, v, nullptr, 0, &len);
    OLMO_CHECK(st == napi_ok, "INVALID_ARGUMENT", "cannot read the text as UTF-8", "");
    buf.resize(len + 1);
    size_t got = 0;
    st = napi_get_value_string_utf8(env, v, buf.data(), len + 1, &got);
    OLMO_CHECK(st == napi_ok && got == len, "INVALID_ARGUMENT", "cannot read the text as UTF-8", "");
    return {buf.data(), len};
  }
  OLMO_CHECK(v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array, "INVALID_ARGUMENT",
             "text must be a string or a Uint8Array of UTF-8", "");
  Napi::Uint8Array a = v.As<Napi::Uint8Array>();
  return {reinterpret_cast<const char*>(a.Data()), a.ElementLength()};
}

cpu::FastTextTextMode mode_args(const Napi::CallbackInfo& info, size_t i) {
  cpu::FastTextTextMode m;
  m.newline_as_space = arg_bool(info, i);
  m.python_strip = arg_bool(info, i + 1);
  return m;
}

thread_local std::string g_text;

Napi::Value Load(const Napi::CallbackInfo& info) {
  OLMO_CHECK(info.Length() >= 1 && info[0].IsTypedArray() && info[0].As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array,
             "INVALID_ARGUMENT", "fastTextLoad: argument 0 must be a Uint8Array with the model file", "");
  Napi::Uint8Array b = info[0].As<Napi::Uint8Array>();
  const bool shared = info.Length() < 2 || !info[1].IsBoolean() || info[1].As<Napi::Boolean>().Value();
  auto* h = new Holder{cpu::FastTextModel::load(b.Data(), b.ElementLength(), shared)};
  return Napi::External<Holder>::New(info.Env(), h, [](Napi::Env, Holder* p) { delete p; });
}

Napi::Value Free(const Napi::CallbackInfo& info) {
  holder(info)->model.reset();
  return info.Env().Undefined();
}

Napi::Value ModelsSharing(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), double(model(info).models_sharing_tables()));
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  cpu::FastTextModel& m = model(info);
  Napi::Env env = info.Env();
  const cpu::FastTextArgs& a = m.args();
  Napi::Object o = Napi::Object::New(env);
  auto num = [&](const char* k, double v) { o.Set(k, Napi::Number::New(env, v)); };
  num("dim", a.dim); num("ws", a.ws); num("epoch", a.epoch); num("minCount", a.min_count); num("neg", a.neg);
  num("wordNgrams", a.word_ngrams); num("loss", a.loss); num("model", a.model); num("bucket", a.bucket);
  num("minn", a.minn); num("maxn", a.maxn); num("lrUpdateRate", a.lr_update_rate); num("t", a.t); num("version", a.version);
  num("nwords", m.nwords());
  o.Set("quantInput", Napi::Boolean::New(env, a.quant_input));
  o.Set("qout", Napi::Boolean::New(env, a.qout));
  Napi::Array labels = Napi::Array::New(env, size_t(m.nlabels()));
  for (int32_t i = 0; i < m.nlabels(); ++i) labels.Set(uint32_t(i), Napi::String::New(env, m.label(i)));
  o.Set("labels", labels);
  return o;
}

Napi::Value Predict(const Napi::CallbackInfo& info) {
  cpu::FastTextModel& m = model(info);
  auto [text, n] = text_arg(info, 1, g_text);
  int64_t k = arg_i64(info, 2);
  OLMO_CHECK(k == -1 || (k >= 1 && k <= INT32_MAX), "INVALID_ARGUMENT", "fastText predict: k = " << k, "k is -1 (all labels) or >= 1");
  float threshold = float(arg_f64(info, 3));
  auto preds = m.predict(text, n, int32_t(k), threshold, mode_args(info, 4));
  Napi::Env env = info.Env();
  Napi::Int32Array labels = Napi::Int32Array::New(env, preds.size());
  Napi::Float32Array probs = Napi::Float32Array::New(env, preds.size());
  for (size_t i = 0; i < preds.size(); ++i) {
    labels[i] = preds[i].second;
    probs[i] = preds[i].first;
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("labels", labels);
  o.Set("probs", probs);
  return o;
}

Napi::Value LabelProbability(const Napi::CallbackInfo& info) {
  cpu::FastTextModel& m = model(info);
  auto [text, n] = text_arg(info, 1, g_text);
  int64_t label = arg_i64(info, 2);
  float threshold = float(arg_f64(info, 3));
  float p = m.label_probability(text, n, int32_t(label), threshold, mode_args(info, 4));
  return Napi::Number::New(info.Env(), double(p));
}

Napi::Value LabelProbabilityLower(const Napi::CallbackInfo& info) {
  cpu::FastTextModel& m = model(info);
  OLMO_CHECK(info.Length() > 1 && info[1].IsString(), "INVALID_ARGUMENT", "fastTextLabelProbabilityLower: text must be a string", "internal binding misuse");
  napi_env env = info.Env();
  thread_local std::vector<char16_t> units;
  thread_local ScratchBuffer<char> utf8;
  size_t len = 0;
  OLMO_CHECK(napi_get_value_string_utf16(env, info[1], nullptr, 0, &len) == napi_ok, "INTERNAL", "cannot read string", "");
  if (units.size() < len + 1) units.resize(len + 1);
  size_t got = 0;
  OLMO_CHECK(napi_get_value_string_utf16(env, info[1], units.data(), len + 1, &got) == napi_ok && got == len, "INTERNAL", "cannot read string", "");
  int64_t code_points = 0;
  const int64_t bytes = cpu::py_lower_utf8(reinterpret_cast<const uint16_t*>(units.data()), int64_t(len), utf8, &code_points);
  if (bytes < 0) return info.Env().Null();
  int64_t label = arg_i64(info, 2);
  float threshold = float(arg_f64(info, 3));
  float p = m.label_probability(utf8.data(), size_t(bytes), int32_t(label), threshold, mode_args(info, 4));
  Napi::Float64Array out = Napi::Float64Array::New(info.Env(), 2);
  out[0] = double(p);
  out[1] = double(code_points);
  return out;
}

}  // namespace

cpu::FastTextModel* fasttext_model_of(const Napi::Value& handle) {
  OLMO_CHECK(handle.IsExternal(), "INVALID_ARGUMENT", "expected a fastText model handle", "internal binding misuse");
  Holder* h = handle.As<Napi::External<Holder>>().Data();
  OLMO_CHECK(h->model != nullptr, "INVALID_ARGUMENT", "the fastText model was disposed", "load it again");
  return h->model.get();
}

OLMO_REGISTER(fasttext) {
  def(env, exports, "fastTextLoad", Load);
  def(env, exports, "fastTextFree", Free);
  def(env, exports, "fastTextInfo", Info);
  def(env, exports, "fastTextModelsSharing", ModelsSharing);
  def(env, exports, "fastTextPredict", Predict);
  def(env, exports, "fastTextLabelProbability", LabelProbability);
  def(env, exports, "fastTextLabelProbabilityLower", LabelProbabilityLower);
}

}  // namespace olmo::addon
