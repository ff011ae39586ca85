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
// rows) and its expanded activation at the geometry's batch (N x M x H x W floats) is at least
// inverted_residual_min_bytes(); else why not. (A FusedInvertedResidual node the row pass
// declines, e.g. from a file, runs as oneDNN's three convolutions: dnnl_fused_inverted_residual_f32.)
std::string inverted_residual_rule(const ops::InvertedResidualGeometry& g);

// The expanded activation from which fusing pays: 8 MB. Below it the block's activations stay in
// cache anyway, both sides are compute-bound, and oneDNN's convolutions (which split a small
// map's channels across threads, where the row pass splits rows) measured 0-20 % faster; above it
// the fused pass saves the wide tensor's memory traffic: MobileNetV2's blocks at batch 16, 2
// threads, Zen 5: 1.5-2.2x faster from 26-77 MB, 1.15x / 0.94x at 9.6 MB, 0.86-0.96x at 3-7 MB.
int64_t inverted_residual_min_bytes();

// Tests and benchmarks: a size that replaces the measured one while set (null: the rule again),
// so the pass and the plans can be checked, and the row pass timed, on small blocks.
void inject_inverted_residual_min_bytes(const int64_t* min_bytes);

}  // namespace leancnn::kernels
