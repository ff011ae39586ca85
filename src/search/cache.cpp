// The evaluation cache (cache.h).
#include "leancnn/search/cache.h"

#include <filesystem>
#include <fstream>

#include "leancnn/core/error.h"
#include "leancnn/core/json_native.h"

namespace leancnn::search {

ResultCache::ResultCache(std::string path) : path_(std::move(path)) {
  if (path_.empty() || !std::filesystem::exists(path_)) return;
  std::ifstream in(path_);
  if (!in) fail(ErrorKind::bad_input, "cannot read the search cache '", path_, "'");
  std::string line;
  std::vector<std::string> all;
  while (std::getline(in, line))
    if (!line.empty()) all.push_back(line);
  for (size_t i = 0; i < all.size(); ++i) {
    nlohmann::json j = nlohmann::json::parse(all[i], nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("key") || !j["key"].is_string()) {
      if (i + 1 == all.size()) {  // torn by an interruption: that evaluation runs again
        ++torn_;
        continue;
      }
      fail(ErrorKind::bad_input, "search cache '", path_, "', line ", i + 1,
           ": not a cached evaluation (a JSON object with a \"key\"); delete the file to start afresh");
    }
    lines_[j["key"].get<std::string>()] = all[i];
  }
  if (torn_ > 0) {
    // Rewrite without the torn line so that the next append starts on a line of its own.
    std::ofstream out(path_, std::ios::trunc);
    for (const std::string& l : all) {
      nlohmann::json j = nlohmann::json::parse(l, nullptr, false);
      if (!j.is_discarded() && j.is_object() && j.contains("key")) out << l << "\n";
    }
  }
}

const std::string* ResultCache::find(const std::string& key) const {
  auto it = lines_.find(key);
  return it == lines_.end() ? nullptr : &it->second;
}

void ResultCache::put(const std::string& key, const std::string& json_line) {
  lines_[key] = json_line;
  if (path_.empty()) return;
  const std::filesystem::path parent = std::filesystem::path(path_).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  std::ofstream out(path_, std::ios::app);
  out << json_line << "\n";
  out.flush();
  if (!out) fail(ErrorKind::runtime, "cannot append to the search cache '", path_, "'");
}

}  // namespace leancnn::search
