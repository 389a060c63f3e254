// ScratchBuffer<T>: a per-thread work buffer whose contents do not outlive one call. Growing it neither
// copies the old contents nor zero-fills the new memory (std::vector::resize does both), so its pages
// are first touched only where a call writes: the text taggers size such buffers for the worst case
// (e.g. 3 output units per input unit) and write far less. In bench/data's cold tag row, vector
// growth of two of them (c4_v1's lower-cased text, fastText's lower-cased UTF-8) cost ~1.3 K of its
// ~7 K page faults.
#pragma once
#include <cstddef>
#include <memory>

namespace olmo {

template <class T>
class ScratchBuffer {
 public:
  // At least n elements (uninitialized; earlier contents are not kept when it grows).
  T* reserve(size_t n) {
    if (n > cap_) {
      cap_ = n > 2 * cap_ ? n : 2 * cap_;
      data_.reset(new T[cap_]);  // default-initialized: no writes for trivial T
    }
    return data_.get();
  }
  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  size_t capacity() const { return cap_; }

 private:
  std::unique_ptr<T[]> data_;
  size_t cap_ = 0;
};

}  // namespace olmo
