// The evaluation cache: JSON lines on disk, one evaluated architecture per line, keyed by the
// request key (evaluator.h). Appends are flushed line by line, so an interrupted search loses
// at most the line being written; a torn last line is skipped (and reported) on load.
#pragma once
#include <cstdint>
#include <map>
#include <string>

namespace leancnn::search {

class ResultCache {
 public:
  ResultCache() = default;
  // Loads `path` when it exists; "" = memory only. Error(bad_input) when a line other than the
  // last is not JSON with a "key".
  explicit ResultCache(std::string path);
  // The stored line for `key`, or nullptr.
  const std::string* find(const std::string& key) const;
  // Stores and appends (a key already present is replaced in memory and appended again: the
  // last line wins on load).
  void put(const std::string& key, const std::string& json_line);
  size_t size() const { return lines_.size(); }
  int64_t torn_lines() const { return torn_; }  // unreadable lines skipped on load
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::map<std::string, std::string> lines_;
  int64_t torn_ = 0;
};

}  // namespace leancnn::search
