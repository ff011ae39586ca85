// Relu (fp32) forward in inference (eltwise_kernels.h): y = x > 0 ? x : 0, the reference's
// expression (NaN gives 0), in a loop the compiler vectorizes, on OpenMP threads only for large
// tensors. oneDNN's eltwise call costs ~1.8 us around the 128 values of a classifier's hidden
// layer (the small CNN's fc1, `leancnn bench --profile`); this takes ~0.1 us. Element-wise, so
// any layout: X and Y channels-last together. Training forwards and the backward stay with
// oneDNN's kernel (the next in the list).
#include <string>

#include "eltwise_kernels.h"
#include "leancnn/core/cpu.h"
#include "leancnn/core/error.h"

namespace leancnn::kernels {
namespace {

constexpr int64_t kParallelValues = 1 << 16;

std::string check(const ir::ForwardCtx& ctx) {
  if (ctx.training) return "training (oneDNN's kernel, which has the backward, takes it)";
  if (ctx.inputs.empty() || !ctx.inputs[0].defined()) return "missing input";
  const Tensor& x = ctx.inputs[0];
  if (x.dtype() != DType::f32 || !x.is_contiguous()) return "X is not a contiguous f32 tensor";
  if (ctx.outputs.size() != 1 || ctx.outputs[0].dtype() != DType::f32 || !ctx.outputs[0].is_contiguous() ||
      ctx.outputs[0].numel() != x.numel())
    return "Y is not a contiguous f32 tensor of X's size";
  return "";
}

void forward(ir::ForwardCtx& ctx) {
  const int64_t n = ctx.inputs[0].numel();
  const float* x = ctx.inputs[0].data<float>();
  float* y = ctx.outputs[0].data<float>();
#pragma omp parallel for schedule(static) if (num_threads() > 1 && n >= kParallelValues)
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.f ? x[i] : 0.f;
}

ChannelsLast channels_last(const ir::ForwardCtx& ctx) {
  if (ctx.inputs.empty() || !ctx.inputs[0].defined() || ctx.inputs[0].rank() != 4) return {};
  return {ir::channels_last_input(0) | ir::channels_last_output(0), true};
}

}  // namespace

Kernel cpu_relu_f32() {
  Kernel k;
  k.name = "cpu_relu_f32";
  k.check_forward = check;
  k.forward = forward;
  k.channels_last = channels_last;
  return k;
}

}  // namespace leancnn::kernels
