// gzip_libdeflate — whole-buffer gzip decoding through libdeflate, loaded with dlopen at run time.
//
// Why: on the small .jsonl.gz files `olmo data tag` reads, libdeflate's whole-buffer inflate runs about
// twice as fast as zlib's streaming inflate (no sliding-window copies, wider bit buffer, faster
// Huffman tables), and gunzip was ~half of the tagger's CPU left outside the taggers themselves.
// dlopen (not linking) keeps libdeflate optional: without libdeflate.so.0 on the machine, or with
// OLMO_GUNZIP_LIBDEFLATE=0, the reader uses zlib exactly as before. No libdeflate headers are needed:
// the three entry points used are declared here (their ABI is stable across libdeflate 1.x).
#pragma once
#include <cstddef>

namespace olmo::cpu {

struct LibdeflateApi {
  // libdeflate's enum libdeflate_result: 0 = success, 1 = bad data, 2 = short output, 3 = insufficient space
  enum Result { kSuccess = 0, kBadData = 1, kShortOutput = 2, kInsufficientSpace = 3 };
  void* (*alloc_decompressor)() = nullptr;
  void (*free_decompressor)(void* d) = nullptr;
  int (*gzip_decompress_ex)(void* d, const void* in, size_t in_nbytes, void* out, size_t out_nbytes_avail,
                            size_t* actual_in_nbytes_ret, size_t* actual_out_nbytes_ret) = nullptr;
};

// The library's entry points, or nullptr when libdeflate.so.0 cannot be loaded (tried once per process).
const LibdeflateApi* libdeflate_api();

// Whether the libdeflate path may be used now: the library loaded and OLMO_GUNZIP_LIBDEFLATE is not "0".
// The variable is read on every call (one getenv per file opened), so a test can flip it between files.
bool libdeflate_enabled();

}  // namespace olmo::cpu
