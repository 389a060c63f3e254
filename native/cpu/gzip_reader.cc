// gzip_reader — see olmo/ops/gzip_reader.h. zlib's inflate with gzip framing (windowBits 15 + 16),
// input read in 1 MiB blocks, output written straight into the caller's buffer. When the addon runs
// inside Node, the dynamic linker binds inflate* to the zlib Node exports (the one its own zlib module
// uses); elsewhere to the system libz.
#include "olmo/ops/gzip_reader.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "olmo/check.h"

#if defined(OLMO_WITH_ZLIB)
#include <zlib.h>
#endif

namespace olmo::cpu {

#if defined(OLMO_WITH_ZLIB)
bool gzip_reader_available() { return true; }

struct GzipReader::Impl {
  FILE* f = nullptr;
  z_stream zs{};
  bool zs_ready = false;
  // 64 KiB of compressed input per fread, not zero-filled: under glibc's mmap threshold, so a file
  // after the first reuses freed heap memory instead of first-touching fresh pages (a zero-filled
  // 1 MiB vector cost 256 page faults per file opened: ~530 of the ~9 K in bench/data's cold row)
  static constexpr size_t kInBytes = size_t(64) << 10;
  std::unique_ptr<uint8_t[]> in{new uint8_t[kInBytes]};
  bool input_done = false;  // the file is read to its end
  bool in_member = true;    // inside a gzip member (its end not reached yet)
  bool finished = false;    // the stream ended (no more output)
  std::string err;

  ~Impl() {
    if (zs_ready) inflateEnd(&zs);
    if (f) std::fclose(f);
  }
  // Makes input available; false at the end of the file (or on a read error, recorded in err).
  bool fill() {
    if (zs.avail_in > 0) return true;
    if (input_done) return false;
    const size_t n = std::fread(in.get(), 1, kInBytes, f);
    if (n == 0) {
      if (std::ferror(f)) err = std::string("read error: ") + std::strerror(errno);
      input_done = true;
      return false;
    }
    zs.next_in = in.get();
    zs.avail_in = uInt(n);
    return true;
  }
};

GzipReader::GzipReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GzipReader::~GzipReader() = default;
const std::string& GzipReader::error() const { return impl_->err; }

std::unique_ptr<GzipReader> GzipReader::open(const std::string& path) {
  auto m = std::make_unique<Impl>();
  m->f = std::fopen(path.c_str(), "rb");
  OLMO_CHECK(m->f != nullptr, "NOT_FOUND", "cannot open " << path << ": " << std::strerror(errno), "check the path and its permissions");
  OLMO_CHECK(inflateInit2(&m->zs, 15 + 16) == Z_OK, "OUT_OF_MEMORY", "zlib inflateInit2 failed", "");
  m->zs_ready = true;
  return std::unique_ptr<GzipReader>(new GzipReader(std::move(m)));
}

int64_t GzipReader::read(uint8_t* out, size_t cap) {
  Impl& m = *impl_;
  if (!m.err.empty()) return -1;
  if (m.finished || cap == 0) return 0;
  z_stream& zs = m.zs;
  zs.next_out = out;
  zs.avail_out = uInt(cap > (size_t(1) << 30) ? (size_t(1) << 30) : cap);
  const uInt want = zs.avail_out;
  while (zs.avail_out > 0) {
    if (!m.fill()) {
      if (!m.err.empty()) break;
      if (m.in_member) m.err = "unexpected end of file";  // Node's message for input that stops inside a member
      else m.finished = true;
      break;
    }
    if (!m.in_member) {
      // after a member: zero padding ends the stream; anything else is the next member (as Node does)
      if (zs.next_in[0] == 0) {
        m.finished = true;
        break;
      }
      inflateReset(&zs);
      m.in_member = true;
    }
    const int r = inflate(&zs, Z_NO_FLUSH);
    if (r == Z_STREAM_END) {
      m.in_member = false;
    } else if (r == Z_BUF_ERROR) {
      // no progress: it needs input (the loop refills) or the output is full (the loop ends)
    } else if (r != Z_OK) {
      m.err = zs.msg ? zs.msg : (r == Z_MEM_ERROR ? "out of memory" : "zlib error");
      break;
    }
  }
  const int64_t produced = int64_t(want - zs.avail_out);
  if (produced > 0) return produced;  // an error found after some output is reported by the next call
  return m.err.empty() ? 0 : -1;
}

#else
bool gzip_reader_available() { return false; }
struct GzipReader::Impl {
  std::string err;
};
GzipReader::GzipReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GzipReader::~GzipReader() = default;
const std::string& GzipReader::error() const { return impl_->err; }
std::unique_ptr<GzipReader> GzipReader::open(const std::string&) {
  OLMO_CHECK(false, "NATIVE_UNAVAILABLE", "this build of the addon has no zlib", "install zlib1g-dev and rebuild the addon");
  return nullptr;
}
int64_t GzipReader::read(uint8_t*, size_t) { return -1; }
#endif

}  // namespace olmo::cpu
