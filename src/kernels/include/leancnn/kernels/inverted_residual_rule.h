// Where the fused inverted residual kernels (kernels/inverted_residual, docs/fused_blocks.md)
// take a MobileNetV2 block: the inference pass runtime::fuse_inverted_residuals asks before it
// fuses, and a plan runs the pass per input shape, so a block is fused only at the batches where
// the row pass ran it faster than its three convolutions (bench/inverted_residual_bench).
#pragma once
#include <cstdint>
#include <string>

#include "leancnn/ops/fused_inverted_residual.h"

namespace leancnn::kernels {

// "" when the row pass can run this block here (AVX2 + FMA, an undilated window of at most 16
// rows) and its expanded activation at the geometry's batch (N x M x H x W floats; X itself for a
// block without expansion) is at least inverted_residual_min_bytes(); else why not. (A FusedInvertedResidual node the row pass
// declines, e.g. from a file, runs as oneDNN's three convolutions: dnnl_fused_inverted_residual_f32.)
std::string inverted_residual_rule(const ops::InvertedResidualGeometry& g);

// The expanded activation from which fusing pays: 8 MB with AVX-512, 12 MB with AVX2 only.
// Below it the block's activations stay in cache anyway, both sides are compute-bound, and
// oneDNN's convolutions (which split a small map's channels across threads, where the row pass
// splits rows) measured up to 20 % faster; above it the fused pass saves the wide tensor's memory
// traffic. MobileNetV2's blocks at batch 16, 2 threads, Zen 5, fused / three convolutions: from
// 26-77 MB 0.46-0.72 (AVX-512) and 0.72-0.92 (capped to AVX2); at 9.6 MB 0.87 / 0.97 (one block)
// and 1.06 / 1.16 (another); at 3-7 MB 0.96-1.16. The whole model, 8 MB against 12 MB: 0.97x
// with AVX-512 (7 rounds), 1.02-1.07x under the AVX2 cap (5 rounds).
int64_t inverted_residual_min_bytes();

// Tests and benchmarks: a size that replaces the measured one while set (null: the rule again),
// so the pass and the plans can be checked, and the row pass timed, on small blocks.
void inject_inverted_residual_min_bytes(const int64_t* min_bytes);

}  // namespace leancnn::kernels
