// argmax: per-row index of the largest value (greedy decoding: the next token is picked where the
// logits are, so a decode step never copies its [V] logits to JS). CPU only, like decodelayer:
// CUDA logits take generate()'s JS path.
//   argmax_rows_f32: out[r] = the FIRST i < n whose x[r * ld + i] is the row's largest value,
//     compared exactly as @olmo/model's JS greedy loop (`if (v > best)` from best = -inf, index 0)
//     does: NaN never wins, -0 and +0 tie (the first wins), and a row with no value > -inf
//     (all -inf / NaN, or n == 0) gives 0.
#pragma once
#include <cstdint>

namespace olmo::cpu {
void argmax_rows_f32(int64_t* out, const float* x, int64_t rows, int64_t n, int64_t ld);
}  // namespace olmo::cpu
