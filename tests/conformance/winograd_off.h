// For tests of another Conv/FusedConv kernel that assert the dispatcher picks it: while a
// WinogradOff lives, the Winograd kernels decline every layer (their rule's tile forced to 0),
// so 3x3 stride-1 shapes inside the Winograd rule's envelope still reach the kernel under test.
#pragma once
#include "leancnn/kernels/winograd_rule.h"

namespace leancnn::testing {

struct WinogradOff {
  int zero = 0;
  WinogradOff() { kernels::inject_winograd_tile(&zero); }
  ~WinogradOff() { kernels::inject_winograd_tile(nullptr); }
  WinogradOff(const WinogradOff&) = delete;
  WinogradOff& operator=(const WinogradOff&) = delete;
};

}  // namespace leancnn::testing
