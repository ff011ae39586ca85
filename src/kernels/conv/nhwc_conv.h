// What the channels-last fp32 convolution kernels (Winograd, direct) share around their runs:
// the checks of a Conv / FusedConv node's tensors, the activations as NHWC views with a pixel
// stride (a plan hands them over channels-last; NCHW ones are transposed in and out here), and
// the thread-local scratch they grow.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "leancnn/ir/graph.h"
#include "leancnn/kernels/kernel.h"
#include "leancnn/ops/conv.h"
#include "leancnn/ops/fused_conv.h"

namespace leancnn::kernels {

// The activations of one run, all NHWC with a pixel stride (floats between neighbouring pixels).
struct NhwcIo {
  const float* src = nullptr;  // [n][ih][iw] pixels of ic channels
  int64_t src_stride = 0;
  float* dst = nullptr;        // [n][oh][ow] pixels of oc channels
  int64_t dst_stride = 0;
  const float* z = nullptr;    // residual like dst, or null; may be dst itself (read before written)
  int64_t z_stride = 0;
  ops::FusedEpilogue act;
};

// A thread-local buffer's storage for at least n floats: grown when short, never shrunk, so
// alternating layers do not reallocate or zero-fill it (its contents are not kept).
inline float* grown(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

// "" when a Conv (fused: ai.leancnn FusedConv) node's inputs and output are contiguous f32
// tensors of a 2-D convolution whose output (and residual Z) have the geometry's shape; else why
// not. Sets *g to the geometry.
std::string nhwc_conv_tensors_check(const ir::ForwardCtx& ctx, bool fused, ops::ConvGeometry* g);

bool conv_has_bias(const ir::ForwardCtx& ctx);
bool conv_has_residual(const ir::ForwardCtx& ctx);

// Calls run(io) with ctx's activations as NHWC views (bias is the kernel's own, packed), then
// writes an NCHW output back.
void run_nhwc_conv(ir::ForwardCtx& ctx, const ops::ConvGeometry& g, bool fused,
                   const std::function<void(const NhwcIo&)>& run);

// X, Y (and FusedConv's Z) may be channels-last, the layout these kernels read and write.
ChannelsLast channels_last_nhwc_conv(const ir::ForwardCtx& ctx);
ChannelsLast channels_last_nhwc_fused_conv(const ir::ForwardCtx& ctx);

}  // namespace leancnn::kernels
