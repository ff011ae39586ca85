// When the sparse kernels (kernels/sparse) take a layer: on AVX2 + FMA, outside training (the
// weights are constant only in inference), when the weights' density (non-zeros / elements) is
// at or below the layer's crossover against the dense kernels. The crossovers come from
// bench/sparse_bench (docs/sparse_runtime.md), where the sparse product is as fast as oneDNN's
// dense one on ResNet-18's layers at batch 1: with AVX-512, 0.3 for stride-1 k x k
// convolutions, 0.5 for 1x1 ones (strided or not), 0.25 for strided k x k ones (the stem
// included) and 0.6 for fully connected layers; with AVX2 only (oneDNN's dense k x k code is
// then slower), 0.5, 0.5, 0.4 and 0.4; stride-1 3x3 layers that Winograd takes when dense
// (winograd_rule.h) compare against it instead: 0.12 with AVX-512, 0.17 with AVX2. Fully connected
// layers divide theirs by the batch (the table-lookup product reads its weights once per row).
#pragma once
#include <cstdint>
#include <string>

#include "leancnn/ir/op_schema.h"
#include "leancnn/ops/conv.h"

namespace leancnn::kernels {

// The density at or below which a sparse kernel beats the dense one on this layer.
double sparse_conv_crossover(const ops::ConvGeometry& g);
double sparse_gemm_crossover(int64_t rows_of_a);

// "" when the call may run sparse: AVX2 and FMA here, not training, the weights (input
// `weight_slot`) a contiguous f32 tensor whose density is at most `max_density`; else the reason.
std::string check_sparse_weights(const ir::ForwardCtx& ctx, int weight_slot, double max_density);

// Tests: every layer's crossover replaced by `max_density` (nullptr: back to the measured rule),
// so the conformance tests run the sparse kernels at any density.
void inject_sparse_max_density(const double* max_density);

}  // namespace leancnn::kernels
