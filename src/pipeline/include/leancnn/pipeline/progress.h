// Progress on stderr with an ETA: a line redrawn in place on a terminal (at most 4 times a
// second, once a task has run for half a second), and one closing line elsewhere.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace leancnn::pipeline {

class Progress {
 public:
  // `on` false: silent. `total` units of work (>= 1).
  Progress(std::string label, int64_t total, bool on = true);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  void update(int64_t done);

 private:
  std::string label_;
  int64_t total_;
  int64_t done_ = 0;
  bool on_, tty_, shown_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

// "1m05s", "12s", "0.4s".
std::string format_seconds(double s);

}  // namespace leancnn::pipeline
