// LEANCNN_VERBOSE parsing and line output.
#include "leancnn/core/log.h"

#include <cstdlib>
#include <iostream>
#include <mutex>
#include <set>
#include <string>

namespace leancnn::log {

namespace {
struct Channels {
  bool all = false;
  std::set<std::string, std::less<>> names;
};

Channels parse() {
  Channels c;
  const char* env = std::getenv("LEANCNN_VERBOSE");
  if (!env) return c;
  std::string s = env;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    std::string name = s.substr(start, end - start);
    if (name == "all" || name == "1") c.all = true;
    if (!name.empty()) c.names.insert(name);
    start = end + 1;
  }
  return c;
}

std::mutex& mu() {
  static std::mutex m;
  return m;
}
Channels& channels() {
  static Channels c = parse();
  return c;
}
}  // namespace

bool enabled(std::string_view channel) {
  const Channels& c = channels();
  return c.all || c.names.find(channel) != c.names.end();
}

void reload() { channels() = parse(); }

Line::Line(std::string_view channel) { os_ << "[leancnn:" << channel << "] "; }

Line::~Line() {
  std::lock_guard<std::mutex> lock(mu());
  std::cerr << os_.str() << '\n';
}

}  // namespace leancnn::log
