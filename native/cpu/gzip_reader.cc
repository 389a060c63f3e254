// gzip_reader — see olmo/ops/gzip_reader.h. Two decoders behind one reader:
//  - libdeflate (gzip_libdeflate.h), for regular files of at most kWholeMaxIn compressed bytes: the whole
//    file is read and inflated member by member into one buffer on the first read(), then handed out in
//    the caller's chunks. About twice zlib's speed. Any failure (bad data, truncation, output over
//    kWholeMaxOut, a header CRC zlib would check) throws that work away and rewinds to the zlib path, so
//    errors, their messages and the bytes handed out before them are exactly zlib's.
//  - zlib's inflate with gzip framing (windowBits 15 + 16), input read in 64 KiB blocks, output written
//    straight into the caller's buffer. When the addon runs inside Node, the dynamic linker binds
//    inflate* to the zlib Node exports (the one its own zlib module uses); elsewhere to the system libz.
#include "olmo/ops/gzip_reader.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

#include "gzip_libdeflate.h"
#include "olmo/check.h"

#if defined(OLMO_WITH_ZLIB)
#include <zlib.h>
#endif

namespace olmo::cpu {

#if defined(OLMO_WITH_ZLIB)
bool gzip_reader_available() { return true; }

namespace {
// The libdeflate path's whole-file buffers (compressed input, inflated output) of finished files,
// reused by the next file: a fresh MiB-sized allocation per file first-touched all its pages again
// (~1.2 K more page faults than zlib's streaming over bench/data's 8 files, which ate the gain of the
// cold run). Bounded: at most kMaxSpares buffers of at most kMaxKeptBytes each are kept per pool.
struct WholeBuffer {
  std::unique_ptr<uint8_t[]> p;
  size_t cap = 0;
};
class SpareWholeBuffers {
 public:
  static constexpr size_t kMaxSpares = 4;
  static constexpr size_t kMaxKeptBytes = size_t(16) << 20;
  // A buffer of at least `need` bytes: the smallest spare that fits, else a new one (uninitialized);
  // an empty one (p null) when memory is short.
  WholeBuffer take(size_t need) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      size_t best = spare_.size();
      for (size_t i = 0; i < spare_.size(); i++) {
        if (spare_[i].cap >= need && (best == spare_.size() || spare_[i].cap < spare_[best].cap)) best = i;
      }
      if (best < spare_.size()) {
        WholeBuffer b = std::move(spare_[best]);
        spare_.erase(spare_.begin() + std::ptrdiff_t(best));
        return b;
      }
    }
    // rounded up to a power of two: the next, slightly bigger file still fits (the pages past what a
    // file writes are never touched, so the headroom costs address space, not memory)
    size_t cap = 4096;
    while (cap < need) cap <<= 1;
    // nothrow: out of memory is no error here, the caller falls back to zlib's streaming (64 KiB)
    uint8_t* p = new (std::nothrow) uint8_t[cap];
    return p ? WholeBuffer{std::unique_ptr<uint8_t[]>(p), cap} : WholeBuffer{};
  }
  void give(WholeBuffer b) {
    if (!b.p || b.cap > kMaxKeptBytes) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (spare_.size() < kMaxSpares) {
      spare_.push_back(std::move(b));
      return;
    }
    size_t smallest = 0;  // full: keep the bigger buffers (they fit more files)
    for (size_t i = 1; i < spare_.size(); i++) if (spare_[i].cap < spare_[smallest].cap) smallest = i;
    if (spare_[smallest].cap < b.cap) spare_[smallest] = std::move(b);
  }

 private:
  std::mutex mu_;
  std::vector<WholeBuffer> spare_;
};
// Two pools, inputs and outputs, so that a file's input never takes the (bigger) buffer the next
// output needs. Never destroyed: readers closed by finalizers during exit must not find them gone.
SpareWholeBuffers& spare_whole_inputs() {
  static SpareWholeBuffers* s = new SpareWholeBuffers;
  return *s;
}
SpareWholeBuffers& spare_whole_outputs() {
  static SpareWholeBuffers* s = new SpareWholeBuffers;
  return *s;
}
}  // namespace

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

  // The libdeflate path: decided on the first read (decided); when it succeeded (whole_ok) the file's
  // whole output is whole[0, whole_len) and whole_pos is how much of it was handed out.
  // Bounds: files up to 16 MiB compressed and 128 MiB inflated, so the buffer held while the file is
  // read stays bounded; bigger files stream through zlib (as before) in 64 KiB + the caller's buffer.
  static constexpr size_t kWholeMaxIn = size_t(16) << 20;
  static constexpr size_t kWholeMaxOut = size_t(128) << 20;
  bool decided = false;
  bool whole_ok = false;
  WholeBuffer whole;
  size_t whole_len = 0, whole_pos = 0;

  ~Impl() {
    spare_whole_outputs().give(std::move(whole));
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

namespace {
uint32_t le32(const uint8_t* p) { return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24; }

// The whole file inflated with libdeflate into m.whole; false (with the file rewound and nothing else
// changed) when the path does not apply or fails, so the zlib path starts from the beginning.
bool inflate_whole(GzipReader::Impl& m) {
  const LibdeflateApi* api = libdeflate_enabled() ? libdeflate_api() : nullptr;
  if (!api) return false;
  struct stat st;
  if (fstat(fileno(m.f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 || size_t(st.st_size) > GzipReader::Impl::kWholeMaxIn) return false;
  const size_t n = size_t(st.st_size);
  SpareWholeBuffers& spares = spare_whole_outputs();
  WholeBuffer in = spare_whole_inputs().take(n);
  if (!in.p) return false;
  bool ok = std::fread(in.p.get(), 1, n, m.f) == n && std::fgetc(m.f) == EOF;  // a file that grew: zlib streams it
  // Output capacity: a single member's trailer (ISIZE, the last 4 bytes) is its exact size; a
  // multi-member file's first guess can be short and grows by doubling (each retry re-inflates a member).
  const size_t guess = std::max<size_t>(n >= 18 ? le32(in.p.get() + n - 4) : 0, n);
  WholeBuffer out;
  size_t len = 0;
  void* d = ok ? api->alloc_decompressor() : nullptr;
  ok = ok && d != nullptr && guess <= GzipReader::Impl::kWholeMaxOut;
  if (ok) out = spares.take(guess);
  ok = ok && out.p != nullptr;
  for (size_t pos = 0; ok && pos < n;) {
    // after a member, zero padding ends the stream (the zlib path's rule; a leading 0 is a bad header there)
    if (pos > 0 && in.p[pos] == 0) break;
    // FHCRC: zlib checks the header's CRC16, libdeflate skips it; let zlib judge such (rare) files
    if (n - pos >= 4 && (in.p[pos + 3] & 0x02) != 0) { ok = false; break; }
    size_t used_in = 0, used_out = 0;
    const int r = api->gzip_decompress_ex(d, in.p.get() + pos, n - pos, out.p.get() + len, out.cap - len, &used_in, &used_out);
    if (r == LibdeflateApi::kInsufficientSpace) {
      if (out.cap >= GzipReader::Impl::kWholeMaxOut) { ok = false; break; }
      WholeBuffer grown = spares.take(std::min(out.cap * 2, GzipReader::Impl::kWholeMaxOut));
      if (!grown.p) { ok = false; break; }
      std::memcpy(grown.p.get(), out.p.get(), len);
      spares.give(std::move(out));
      out = std::move(grown);
      continue;
    }
    if (r != LibdeflateApi::kSuccess || used_in == 0) { ok = false; break; }
    pos += used_in;
    len += used_out;
  }
  if (d) api->free_decompressor(d);
  spare_whole_inputs().give(std::move(in));
  if (!ok) {
    spares.give(std::move(out));
    std::clearerr(m.f);
    std::rewind(m.f);
    return false;
  }
  m.whole = std::move(out);
  m.whole_len = len;
  return true;
}
}  // namespace

GzipReader::GzipReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GzipReader::~GzipReader() = default;
const std::string& GzipReader::error() const { return impl_->err; }
const char* GzipReader::backend() const { return !impl_->decided ? "undecided" : impl_->whole_ok ? "libdeflate" : "zlib"; }

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
  if (!m.decided) {
    m.decided = true;
    m.whole_ok = inflate_whole(m);
  }
  if (m.whole_ok) {
    const size_t k = std::min(cap, m.whole_len - m.whole_pos);
    if (k == 0) return 0;
    std::memcpy(out, m.whole.p.get() + m.whole_pos, k);
    m.whole_pos += k;
    if (m.whole_pos == m.whole_len) spare_whole_outputs().give(std::move(m.whole));  // handed out: to the next file
    return int64_t(k);
  }
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
const char* GzipReader::backend() const { return "none"; }
std::unique_ptr<GzipReader> GzipReader::open(const std::string&) {
  OLMO_CHECK(false, "NATIVE_UNAVAILABLE", "this build of the addon has no zlib", "install zlib1g-dev and rebuild the addon");
  return nullptr;
}
int64_t GzipReader::read(uint8_t*, size_t) { return -1; }
#endif

}  // namespace olmo::cpu
