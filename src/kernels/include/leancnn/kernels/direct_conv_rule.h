// When the direct convolution kernels (kernels/direct) take a layer: fp32, groups 1, dilation
// 1, outside training, and only where bench/direct_conv_bench measured them faster than oneDNN's
// kernel for the same layer on the same CPU kind (AVX2 or AVX-512); elsewhere oneDNN (or
// Winograd, which is ahead of them in the list) keeps it. docs/direct_conv.md has the figures.
#pragma once
#include <string>

#include "leancnn/ops/conv.h"

namespace leancnn::kernels {

// "" when the geometry is one the direct kernels compute (groups 1, dilation 1, any kernel,
// stride and pads); else why not.
std::string direct_conv_geometry_check(const ops::ConvGeometry& g);

// Whether the direct kernel should take this layer on a CPU with (avx512) or without AVX-512.
bool direct_conv_takes(const ops::ConvGeometry& g, bool avx512);

// Tests and benchmarks: *take replaces the rule for every layer (nullptr: back to the rule).
void inject_direct_conv(const bool* take);

}  // namespace leancnn::kernels
