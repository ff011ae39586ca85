// Logging switched by the environment variable LEANCNN_VERBOSE: a comma-separated list of
// channels ("dispatch", "exec", "train", ...) or "all". Messages go to stderr.
//   LEANCNN_LOG("dispatch") << "conv1: dnnl refused: " << why;
#pragma once
#include <sstream>
#include <string_view>

namespace leancnn::log {

// True when the channel is switched on (cached after the first read of the environment).
bool enabled(std::string_view channel);
// Re-reads LEANCNN_VERBOSE (for tests that set it).
void reload();

// Collects one line and writes it to stderr when destroyed.
class Line {
 public:
  explicit Line(std::string_view channel);
  ~Line();
  Line(const Line&) = delete;
  Line& operator=(const Line&) = delete;
  template <typename T>
  Line& operator<<(const T& v) {
    os_ << v;
    return *this;
  }

 private:
  std::ostringstream os_;
};

}  // namespace leancnn::log

#define LEANCNN_LOG(channel) \
  if (!::leancnn::log::enabled(channel)) {} else ::leancnn::log::Line(channel)
