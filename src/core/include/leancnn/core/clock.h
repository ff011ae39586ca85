// Wall-clock time for progress lines and reports: seconds on the monotonic clock.
#pragma once
#include <chrono>

namespace leancnn {

using Clock = std::chrono::steady_clock;

// Seconds elapsed since t0.
inline double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

}  // namespace leancnn
