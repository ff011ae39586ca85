// IDX reader over zlib's gz* API (which reads raw files transparently).
#include "leancnn/io/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "leancnn/core/error.h"

namespace leancnn::io {

namespace {
struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

// Reads up to n bytes; returns how many were read. Throws on a decompression error.
size_t read_some(gzFile f, const std::string& path, void* dst, size_t n) {
  size_t total = 0;
  auto* p = static_cast<uint8_t*>(dst);
  while (total < n) {
    const unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - total, 1u << 30));
    const int got = gzread(f, p + total, chunk);
    if (got < 0) {
      int err = 0;
      const char* msg = gzerror(f, &err);
      fail(ErrorKind::bad_input, "file '", path, "': corrupt or unreadable (", msg, ")");
    }
    if (got == 0) break;
    total += static_cast<size_t>(got);
  }
  return total;
}
}  // namespace

IdxArray read_idx(const std::string& path) {
  errno = 0;
  GzFile f(gzopen(path.c_str(), "rb"));
  if (!f)
    fail(ErrorKind::bad_input, "cannot open '", path, "': ", errno ? std::strerror(errno) : "unknown error");
  uint8_t magic[4];
  if (read_some(f.get(), path, magic, 4) != 4) fail(ErrorKind::bad_input, "file '", path, "' is too short for an IDX header");
  if (magic[0] != 0 || magic[1] != 0)
    fail(ErrorKind::bad_input, "file '", path, "' is not an IDX file (magic bytes ", int(magic[0]), " ", int(magic[1]),
         ", expected 0 0)");
  if (magic[2] != 0x08)
    fail(ErrorKind::bad_input, "file '", path, "': IDX element type 0x", std::hex, int(magic[2]),
         " is not supported (only unsigned bytes, 0x08)");
  const int ndims = magic[3];
  if (ndims < 1 || ndims > 4) fail(ErrorKind::bad_input, "file '", path, "': IDX rank ", ndims, " is not in 1..4");
  IdxArray a;
  int64_t count = 1;
  for (int i = 0; i < ndims; ++i) {
    uint8_t b[4];
    if (read_some(f.get(), path, b, 4) != 4) fail(ErrorKind::bad_input, "file '", path, "': truncated IDX header");
    const int64_t d = (int64_t{b[0]} << 24) | (int64_t{b[1]} << 16) | (int64_t{b[2]} << 8) | b[3];
    if (d <= 0 || d > (int64_t{1} << 31)) fail(ErrorKind::bad_input, "file '", path, "': dimension ", i, " is ", d);
    a.dims.push_back(d);
    if (__builtin_mul_overflow(count, d, &count) || count > (int64_t{1} << 34)) fail(ErrorKind::bad_input, "file '", path, "': declares too many elements");
  }
  // The header's count is only a claim: the buffer grows with the data actually read (64 MiB
  // at a time), so a short or corrupt file declaring 2^34 values does not allocate them.
  constexpr size_t kChunk = size_t{1} << 26;
  const size_t want = static_cast<size_t>(count);
  size_t got = 0;
  while (got < want) {
    const size_t step = std::min(want - got, kChunk);
    a.data.resize(got + step);
    const size_t n = read_some(f.get(), path, a.data.data() + got, step);
    got += n;
    if (n < step) break;
  }
  a.data.resize(got);
  if (got != want)
    fail(ErrorKind::bad_input, "file '", path, "' is truncated: its header declares ", count, " values, it holds ", got);
  uint8_t extra;
  if (read_some(f.get(), path, &extra, 1) != 0)
    fail(ErrorKind::bad_input, "file '", path, "' has bytes after the ", count, " values its header declares");
  return a;
}

}  // namespace leancnn::io
