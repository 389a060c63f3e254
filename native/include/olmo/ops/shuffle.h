// shuffle: numpy-exact global data order (OLMo's IterableDataset), CPU only — no CUDA variant.
//   Bit-exact port of  np.random.Generator(np.random.PCG64(seed)).shuffle(a)  on a 1-D array:
//   SeedSequence(seed) → generate_state(4, uint64) → PCG64 (XSL-RR 128/64, buffered 32-bit draws)
//   → Fisher–Yates from the end using numpy's masked-rejection random_interval.
//   Spec: ../shared/specs/numpy-pcg64-shuffle.md. No gradients; integer data only.
//
//   The seed is arbitrary precision: `seed_words` are its 32-bit words, least significant first
//   ([0] for seed 0), exactly numpy's _int_to_uint32_array.
//
//   shuffle_u32: shuffles `n` uint32 elements in place (n may exceed 2^32; the values are opaque).
//     With fill_arange the array is first set to 0..n-1 (requires n <= 2^32), so one pass over the
//     memory produces the OLMo order without a second buffer. Swap targets are drawn a few steps
//     ahead and prefetched; the draw sequence (hence the result) is unchanged by this.
//   pcg64_raw: the first `count` 64-bit outputs (numpy's random_raw) — for tests.
//   pcg64_seeded_state: state/inc after seeding, as 4 uint64 (state_hi, state_lo, inc_hi, inc_lo).
#pragma once
#include <cstdint>

namespace olmo::cpu {
void shuffle_u32(uint32_t* a, int64_t n, const uint32_t* seed_words, int64_t n_words, bool fill_arange);
void pcg64_raw(uint64_t* out, int64_t count, const uint32_t* seed_words, int64_t n_words);
void pcg64_seeded_state(uint64_t* out4, const uint32_t* seed_words, int64_t n_words);
}  // namespace olmo::cpu
