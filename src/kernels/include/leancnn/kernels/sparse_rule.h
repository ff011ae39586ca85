// When the sparse kernels (kernels/sparse) take a layer: on AVX2 + FMA, outside training (the
// weights are constant only in inference), when the weights' density (non-zeros / elements) is
// at or below the layer's crossover against the dense kernels. The crossovers come from
// bench/sparse_bench (docs/sparse_runtime.md): the sparse product's speed relative
// to oneDNN's dense one at density 1 is about 0.26 for k x k convolutions read directly, 0.3 for
// 1x1 ones, 0.12 for strided k x k ones and 0.4 for strided 1x1 ones (both through an im2col;
// never with fewer than 16 input channels, where the im2col dominates); it falls with the output
// row's width below 32 (runs of partial vectors: x min(1, ow / 32)), and doubles for
// convolutions where oneDNN has only AVX2 (no AVX-512) to run on. Fully connected layers (the
// table-lookup product, lut_rows.h) cross over at about 0.5 with AVX-512 and 0.35 with AVX2 at
// batch 1, and at that over the batch beyond (the product reads its weights once per row of A).
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
