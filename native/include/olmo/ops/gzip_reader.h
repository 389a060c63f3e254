// gzip_reader: a .gz file inflated chunk by chunk into the caller's buffer (CPU only, no CUDA variant).
//
// Why: `olmo data tag` read documents through Node's gunzip stream, which hands out every 256 KiB of
// output in a freshly allocated buffer: on the 2-core dev VM that cost ~3-5 K page faults and 40-60 ms
// of system CPU per 12 MB, as much as a third of zcat's whole time. Inflating into one reused buffer
// touches its pages once.
//
// Semantics follow Node's zlib Gunzip, so the same files read the same and fail the same way:
// concatenated gzip members are read one after the other; after a member, trailing zero bytes (padding)
// end the stream; any other trailing byte starts a new member (so garbage fails as "incorrect header
// check"); input that ends inside a member — an empty file too — fails as "unexpected end of file".
// Data errors carry zlib's own message. Unlike Node, output decoded before an error is handed out first.
//
// Files up to 16 MiB are inflated whole by libdeflate when libdeflate.so.0 loads (about twice zlib's
// speed; OLMO_GUNZIP_LIBDEFLATE=0 turns it off); on any libdeflate failure the file is read again by
// zlib, so the semantics above hold on both paths (see cpu/gzip_reader.cc).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

namespace olmo::cpu {

// Whether this build has zlib (OLMO_WITH_ZLIB); without it open() raises NATIVE_UNAVAILABLE.
bool gzip_reader_available();

class GzipReader {
 public:
  // Opens path for reading (NOT_FOUND naming the path when it cannot be opened).
  static std::unique_ptr<GzipReader> open(const std::string& path);
  ~GzipReader();

  // Inflates up to cap bytes into out: the number of bytes written, 0 at the end of the stream, or -1
  // when the stream is corrupt, truncated or unreadable (error() says why; every later call returns -1).
  int64_t read(uint8_t* out, size_t cap);
  const std::string& error() const;
  // Which decoder serves the file: "libdeflate" or "zlib" ("undecided" before the first read() with
  // cap > 0 — the choice is made there; "none" in a build without zlib). For tests and benchmarks.
  const char* backend() const;

  struct Impl;

 private:
  explicit GzipReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace olmo::cpu
