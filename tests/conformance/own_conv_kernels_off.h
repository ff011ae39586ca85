// For tests of another Conv/FusedConv kernel that assert the dispatcher picks it: while an
// OwnConvKernelsOff lives, the Winograd and direct kernels decline every layer (the Winograd
// rule's tile forced to 0, the direct rule to false), so shapes inside their rules' envelopes
// still reach the kernel under test.
#pragma once
#include "leancnn/kernels/direct_conv_rule.h"
#include "leancnn/kernels/winograd_rule.h"

namespace leancnn::testing {

struct OwnConvKernelsOff {
  int zero = 0;
  bool no = false;
  OwnConvKernelsOff() {
    kernels::inject_winograd_tile(&zero);
    kernels::inject_direct_conv(&no);
  }
  ~OwnConvKernelsOff() {
    kernels::inject_winograd_tile(nullptr);
    kernels::inject_direct_conv(nullptr);
  }
  OwnConvKernelsOff(const OwnConvKernelsOff&) = delete;
  OwnConvKernelsOff& operator=(const OwnConvKernelsOff&) = delete;
};

}  // namespace leancnn::testing
