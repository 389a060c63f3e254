// Multi-tensor work splitting for the fused optimizer kernels (adamw, gradclip): every tensor is
// cut into fixed-size chunks, and the flat list of chunks is what OpenMP schedules, so one big
// embedding and many small norm weights balance across threads.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

namespace olmo::cpu::multi_tensor {

constexpr int64_t kChunk = 1 << 16;

struct Chunk {
  int64_t t, begin, len;  // tensor index, first element, element count
};

inline std::vector<Chunk> chunks(int64_t n, const int64_t* sizes) {
  std::vector<Chunk> cs;
  for (int64_t t = 0; t < n; ++t)
    for (int64_t b = 0; b < sizes[t]; b += kChunk) cs.push_back({t, b, std::min(kChunk, sizes[t] - b)});
  return cs;
}

// Waking an OpenMP team costs more than updating a few hundred thousand floats (and much more on a
// loaded machine), so small steps run on the calling thread.
inline bool worth_threads(const std::vector<Chunk>& cs) {
  int64_t total = 0;
  for (const Chunk& c : cs) total += c.len;
  return cs.size() > 1 && total > (int64_t(1) << 18);
}

}  // namespace olmo::cpu::multi_tensor
