// Progress lines with an ETA (progress.h).
#include "leancnn/pipeline/progress.h"

#include <unistd.h>

#include <cstdio>

namespace leancnn::pipeline {

namespace {
double seconds_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}
}  // namespace

std::string format_seconds(double s) {
  char buf[32];
  if (s < 10) std::snprintf(buf, sizeof buf, "%.1fs", s);
  else if (s < 60) std::snprintf(buf, sizeof buf, "%.0fs", s);
  else std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  return buf;
}

Progress::Progress(std::string label, int64_t total, bool on)
    : label_(std::move(label)), total_(total < 1 ? 1 : total), on_(on), tty_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()), last_(start_) {}

void Progress::update(int64_t done) {
  done_ = done;
  if (!on_ || !tty_) return;
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = seconds_between(start_, now);
  if (done < total_ && (elapsed < 0.5 || seconds_between(last_, now) < 0.25)) return;
  last_ = now;
  const double frac = static_cast<double>(done) / static_cast<double>(total_);
  const std::string eta = frac > 0 ? format_seconds(elapsed * (1 - frac) / frac) : "?";
  std::fprintf(stderr, "\r%s  %lld/%lld  %3.0f%%  %s elapsed, ETA %s   ", label_.c_str(), static_cast<long long>(done),
               static_cast<long long>(total_), 100 * frac, format_seconds(elapsed).c_str(), eta.c_str());
  shown_ = true;
}

Progress::~Progress() {
  if (!on_) return;
  const double elapsed = seconds_between(start_, std::chrono::steady_clock::now());
  if (shown_) std::fprintf(stderr, "\n");
  else if (!tty_ || elapsed >= 0.5)
    std::fprintf(stderr, "%s  %lld/%lld  %s\n", label_.c_str(), static_cast<long long>(done_),
                 static_cast<long long>(total_), format_seconds(elapsed).c_str());
}

}  // namespace leancnn::pipeline
