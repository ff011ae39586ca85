// Where the fused inverted residual kernels (kernels/inverted_residual, docs/fused_blocks.md)
// take a MobileNetV2 block: the inference pass runtime::fuse_inverted_residuals asks before it
// fuses, so a block is fused only where a kernel will run it, faster than its three convolutions
// as measured on this machine's kind of CPU (bench/inverted_residual_bench).
#pragma once
#include <string>

#include "leancnn/ops/fused_inverted_residual.h"

namespace leancnn::kernels {

// "" when a fused kernel runs this block here, else why not. (Every block the rule takes runs at
// least as fast fused: the row pass where it measured faster, oneDNN's three convolutions
// (dnnl_fused_inverted_residual_f32) elsewhere.)
std::string inverted_residual_rule(const ops::InvertedResidualGeometry& g);

// The smallest batch the row-pass kernels take: at batch 1 the blocks' activations stay in cache
// anyway and oneDNN's three convolutions measured up to 1.2x faster on MobileNetV2's blocks
// (bench/inverted_residual_bench, 2 threads); at batch 16 the network runs 1.3x faster fused.
int64_t inverted_residual_min_batch();

// Tests: a batch that replaces the measured minimum while set (null: the rule again), so the row
// pass can be checked on single images.
void inject_inverted_residual_min_batch(const int64_t* min_batch);

}  // namespace leancnn::kernels
