// Channels-last helpers shared by the conformance tests: 4-D tensors reordered between NCHW and
// channels-last bytes, and a named kernel run the way a plan runs it with given layout bits.
#pragma once
#include <string>

#include "conformance_util.h"
#include "leancnn/kernels/kernel.h"

namespace leancnn::testing {

// NCHW bytes <-> channels-last bytes of a 4-D tensor of any dtype (the shape stays NCHW).
Tensor to_nhwc(const Tensor& t);
Tensor from_nhwc(const Tensor& t);

// The layouts the kernel named `kernel` declares for the case (Kernel::channels_last; none when
// it declares nothing). Throws when the kernel is absent or declines.
kernels::ChannelsLast declared_layouts(const OpCase& c, const std::string& kernel);

// Runs the kernel named `kernel` the way a plan does with ForwardCtx::channels_last = bits: the
// inputs whose bit is set stored channels-last (after checking that the kernel declares every
// bit); returns output 0 in NCHW order. Throws when the kernel is absent or declines.
Tensor run_with_layouts(const OpCase& c, const std::string& kernel, uint32_t bits);

// Runs the kernel named `kernel` the way a plan does with these layout bits (after asking the
// kernel that it declares them, and for a kernel that ties the two layouts that they agree), with
// x stored channels-last when in_nhwc; returns y in NCHW order. Throws when the kernel is absent
// or declines.
Tensor run_with_layout(const OpCase& c, const std::string& kernel, bool in_nhwc, bool out_nhwc);

}  // namespace leancnn::testing
