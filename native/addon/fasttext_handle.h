// The fastText model behind a handle of fastTextLoad (native/addon/fasttext.cc), for other bindings
// that run the model inside a larger native call (text_tag_batch.cc). Raises INVALID_ARGUMENT when
// the value is not such a handle or the model was disposed.
#pragma once
#include <napi.h>

#include "olmo/ops/fasttext.h"

namespace olmo::addon {

cpu::FastTextModel* fasttext_model_of(const Napi::Value& handle);

}  // namespace olmo::addon
