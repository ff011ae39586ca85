// When the Winograd kernels (kernels/winograd) take a layer, and with which tile: only fp32
// 3x3 convolutions with stride 1, dilation 1 and groups 1, outside training, and only where
// bench/winograd_bench measured them faster than oneDNN's direct convolution on the same CPU
// kind (AVX2 or AVX-512); elsewhere oneDNN keeps the layer, so no layer gets slower than it
// was. docs/winograd.md has the measurements behind the rule.
#pragma once
#include <string>

#include "leancnn/ops/conv.h"

namespace leancnn::kernels {

// "" when the geometry is one Winograd F(m x m, 3 x 3) computes (3x3, stride 1, dilation 1,
// groups 1, any pads); else why not.
std::string winograd_geometry_check(const ops::ConvGeometry& g);

// The output tile m (2 for F(2x2,3x3), 4 for F(4x4,3x3)) the Winograd kernel should use on
// this layer on a CPU with (avx512: cpu_features().avx512f, which oneDNN then uses too) or
// without AVX-512, or 0 where oneDNN is faster.
int winograd_tile(const ops::ConvGeometry& g, bool avx512);

// Whether the AVX-512 kernel should take the layer where both could: not with 8 or fewer input
// or output channels, which fill one AVX2 vector and half an AVX-512 one (bench/winograd_bench:
// 8 channels at 28x28, F(4x4): 5.9 us on AVX2's kernel, 7.8 us on AVX-512's). True while a tile
// is injected (tests run both kernels on every shape).
bool winograd_wide_vectors(const ops::ConvGeometry& g);

// Calls without a plan's prepared state (the executor) transform the weights on every call,
// which pays off only with at least this many output pixels (n * oh * ow) per weight; smaller
// unprepared calls run oneDNN's kernel instead. 0 while a tile is injected (tests force Winograd).
int64_t winograd_unprepared_min_pixels();

// Tests and benchmarks: every layer's tile replaced by *m (2 or 4; nullptr: back to the rule).
void inject_winograd_tile(const int* m);

}  // namespace leancnn::kernels
