// gzip of whole byte strings over zlib's deflate/inflate streams (leancnn/io/gzip.h).
#include "leancnn/io/gzip.h"

#include <zlib.h>

#include <climits>

#include "leancnn/core/error.h"

namespace leancnn::io {
namespace {
constexpr int kGzipWindow = 15 + 16;  // zlib: 2^15 window, gzip header and trailer
constexpr size_t kChunk = 1 << 16;
}  // namespace

bool is_gzip(const std::string& bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f && static_cast<unsigned char>(bytes[1]) == 0x8b;
}

std::string gzip(const std::string& bytes) {
  if (bytes.size() > UINT_MAX) fail(ErrorKind::bad_input, "gzip: ", bytes.size(), " bytes are over zlib's 4 GiB");
  z_stream s{};
  if (deflateInit2(&s, Z_BEST_COMPRESSION, Z_DEFLATED, kGzipWindow, 9, Z_DEFAULT_STRATEGY) != Z_OK)
    fail(ErrorKind::runtime, "gzip: zlib's deflateInit2 failed");
  std::string out(deflateBound(&s, static_cast<uLong>(bytes.size())), '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  s.avail_in = static_cast<uInt>(bytes.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&s, Z_FINISH);  // deflateBound guarantees one call suffices
  const size_t produced = out.size() - s.avail_out;
  deflateEnd(&s);
  if (rc != Z_STREAM_END) fail(ErrorKind::runtime, "gzip: zlib's deflate did not finish (", rc, ")");
  out.resize(produced);
  return out;
}

std::string gunzip(const std::string& gz, uint64_t max_bytes) {
  if (gz.size() > UINT_MAX) fail(ErrorKind::bad_input, "gzip: a ", gz.size(), "-byte stream is over zlib's 4 GiB");
  z_stream s{};
  if (inflateInit2(&s, kGzipWindow) != Z_OK) fail(ErrorKind::runtime, "gunzip: zlib's inflateInit2 failed");
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  s.avail_in = static_cast<uInt>(gz.size());
  std::string out;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    const size_t at = out.size();
    out.resize(at + kChunk);
    s.next_out = reinterpret_cast<Bytef*>(out.data() + at);
    s.avail_out = static_cast<uInt>(kChunk);
    rc = inflate(&s, Z_NO_FLUSH);
    out.resize(at + kChunk - s.avail_out);
    if (rc == Z_STREAM_END) break;
    if (rc != Z_OK || (s.avail_in == 0 && s.avail_out != 0)) {
      inflateEnd(&s);
      fail(ErrorKind::bad_input, "gzip data is truncated or corrupt (zlib: ", s.msg ? s.msg : zError(rc), ")");
    }
    if (out.size() > max_bytes) {
      inflateEnd(&s);
      fail(ErrorKind::bad_input, "gzip data inflates past ", max_bytes, " bytes");
    }
  }
  inflateEnd(&s);
  return out;
}

}  // namespace leancnn::io
