#include "olmo/ops/memory.h"

#include <cstdlib>
#include <cstring>

namespace olmo::cpu {

void* alloc(size_t nbytes, bool zero) {
  size_t rounded = (nbytes + 63) & ~size_t(63);
  if (rounded == 0) rounded = 64;
  void* p = nullptr;
  if (posix_memalign(&p, 64, rounded) != 0) return nullptr;
  if (zero) std::memset(p, 0, rounded);
  return p;
}

void release(void* p) { std::free(p); }

}  // namespace olmo::cpu
