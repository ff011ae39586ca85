// Atomic whole-file writes (temporary file, fsync, rename) and whole-file reads.
#include "leancnn/io/file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "leancnn/core/error.h"

namespace leancnn::io {

namespace {
std::string errno_text() { return errno ? std::strerror(errno) : "unknown error"; }

// Writes all of bytes to fd; false (errno set) on failure.
bool write_all(int fd, const std::string& bytes) {
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) {
      errno = EIO;
      return false;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

void write_file_atomic(const std::string& path, const std::string& bytes) {
  static std::atomic<uint64_t> counter{0};
  const std::string tmp = str_cat(path, ".tmp-", ::getpid(), "-", counter++);
  errno = 0;
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) fail(ErrorKind::runtime, "cannot write '", path, "': cannot create '", tmp, "': ", errno_text());
  int err = 0;
  if (!write_all(fd, bytes) || ::fsync(fd) != 0) err = errno ? errno : EIO;
  if (::close(fd) != 0 && err == 0) err = errno ? errno : EIO;
  if (err != 0) {
    ::unlink(tmp.c_str());
    fail(ErrorKind::runtime, "cannot write '", path, "': writing '", tmp, "' failed: ", std::strerror(err),
         "; the existing file, if any, is untouched");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    err = errno;
    ::unlink(tmp.c_str());
    fail(ErrorKind::runtime, "cannot write '", path, "': renaming '", tmp, "' over it failed: ", std::strerror(err));
  }
  // Make the rename itself durable; a failure here leaves a complete file either way.
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const std::filesystem::path dir = parent.empty() ? std::filesystem::path(".") : parent;
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::bad_input, "cannot read '", path, "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) fail(ErrorKind::bad_input, "reading '", path, "' failed");
  return ss.str();
}

}  // namespace leancnn::io
