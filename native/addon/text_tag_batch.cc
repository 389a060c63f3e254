// Bindings for native/cpu/text_tag_batch.cc (olmo/ops/text_tag_batch.h; CPU only).
//
// textTagBatchPlan(experiment: string, taggers: string[], ftEnLabel: number) → External plan
//   taggers: names among gopher_v1, c4_v1, pii_regex_v2, ft_lang_id_en_doc_v2 (the key order)
// textTagBatch(plan, c4Lexicon: External | null, ftModel: External | null, buf: Uint8Array, final: boolean)
//   → [consumed, lines, bytes, stopped (0/1), attributes: Buffer (UTF-8 lines)]
// The lexicon (textC4Lexicon) and the model (fastTextLoad) are passed on every call, so the plan
// never outlives what it points at.
#include "olmo/ops/text_tag_batch.h"

#include <string>

#include "fasttext_handle.h"
#include "olmo/ops/text_taggers.h"
#include "registry.h"

namespace olmo::addon {

static Napi::Value TextTagBatchPlan(const Napi::CallbackInfo& info) {
  OLMO_CHECK(info.Length() >= 3 && info[0].IsString() && info[1].IsArray() && info[2].IsNumber(), "INVALID_ARGUMENT",
             "textTagBatchPlan(experiment, taggers, ftEnLabel)", "internal binding misuse");
  auto* plan = new cpu::TagBatchPlan();
  plan->experiment = info[0].As<Napi::String>().Utf8Value();
  Napi::Array a = info[1].As<Napi::Array>();
  for (uint32_t k = 0; k < a.Length(); k++) {
    Napi::Value v = a.Get(k);
    const std::string name = v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
    if (name == "gopher_v1") plan->taggers.push_back(cpu::BatchTagger::kGopher);
    else if (name == "c4_v1") plan->taggers.push_back(cpu::BatchTagger::kC4);
    else if (name == "pii_regex_v2") plan->taggers.push_back(cpu::BatchTagger::kPii);
    else if (name == "ft_lang_id_en_doc_v2") plan->taggers.push_back(cpu::BatchTagger::kFtLangIdEnDoc);
    else {
      delete plan;
      OLMO_CHECK(false, "INVALID_ARGUMENT", "textTagBatchPlan: tagger '" << name << "' has no native batch path", "internal binding misuse");
    }
  }
  plan->ft_en_label = int32_t(info[2].As<Napi::Number>().Int32Value());
  return Napi::External<cpu::TagBatchPlan>::New(info.Env(), plan, [](Napi::Env, cpu::TagBatchPlan* p) { delete p; });
}

static Napi::Value TextTagBatch(const Napi::CallbackInfo& info) {
  OLMO_CHECK(info.Length() >= 5 && info[0].IsExternal() && info[3].IsTypedArray() && info[4].IsBoolean(), "INVALID_ARGUMENT",
             "textTagBatch(plan, c4Lexicon, ftModel, buf, final)", "internal binding misuse");
  cpu::TagBatchPlan plan = *info[0].As<Napi::External<cpu::TagBatchPlan>>().Data();
  for (cpu::BatchTagger t : plan.taggers) {
    if (t == cpu::BatchTagger::kC4) {
      OLMO_CHECK(info[1].IsExternal(), "INVALID_ARGUMENT", "textTagBatch: c4_v1 needs the lexicon of textC4Lexicon", "internal binding misuse");
      plan.c4 = info[1].As<Napi::External<cpu::C4Lexicon>>().Data();
    }
    if (t == cpu::BatchTagger::kFtLangIdEnDoc) {
      plan.ft = fasttext_model_of(info[2]);
      OLMO_CHECK(plan.ft_en_label >= 0 && plan.ft_en_label < plan.ft->nlabels(), "INVALID_ARGUMENT",
                 "textTagBatch: label index " << plan.ft_en_label << " out of range", "internal binding misuse");
    }
  }
  Napi::TypedArray ta = info[3].As<Napi::TypedArray>();
  OLMO_CHECK(ta.TypedArrayType() == napi_uint8_array, "INVALID_ARGUMENT", "textTagBatch: buf must be a Uint8Array", "internal binding misuse");
  Napi::Uint8Array buf = ta.As<Napi::Uint8Array>();
  thread_local std::string out;
  out.clear();
  const cpu::TagBatchResult r = cpu::tag_batch(plan, buf.Data(), buf.ElementLength(), info[4].As<Napi::Boolean>().Value(), out);
  Napi::Env env = info.Env();
  Napi::Array res = Napi::Array::New(env, 5);
  res.Set(uint32_t(0), Napi::Number::New(env, double(r.consumed)));
  res.Set(uint32_t(1), Napi::Number::New(env, double(r.lines)));
  res.Set(uint32_t(2), Napi::Number::New(env, double(r.bytes)));
  res.Set(uint32_t(3), Napi::Number::New(env, r.stopped ? 1 : 0));
  res.Set(uint32_t(4), Napi::Buffer<char>::Copy(env, out.data(), out.size()));
  return res;
}

OLMO_REGISTER(text_tag_batch) {
  def(env, exports, "textTagBatchPlan", TextTagBatchPlan);
  def(env, exports, "textTagBatch", TextTagBatch);
}

}  // namespace olmo::addon
