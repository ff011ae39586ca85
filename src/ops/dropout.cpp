// Dropout (ONNX 13): identity in inference; in training zeroes each element with probability
// `ratio` (drawn from ForwardCtx::rng) and scales the kept ones by 1 / (1 - ratio).
#include <cmath>

#include "leancnn/ops/op_util.h"
#include "leancnn/ops/schemas.h"

namespace leancnn::ops {

namespace {
void check_ratio(float ratio) {
  if (!(ratio >= 0.f && ratio < 1.f)) fail(ErrorKind::bad_input, "Dropout ratio must be in [0, 1), got ", ratio);
}

// ratio is input 1, a constant scalar (default 0.5). Input 2 (training_mode) is accepted for
// ONNX compatibility but ignored: the run mode comes from ForwardCtx::training. So is the
// attribute 'seed': randomness comes from ForwardCtx::rng. The optional mask output is u8
// (ONNX's bool): 1 where the element was kept.
std::vector<ir::TensorType> infer(const ir::Node&, const std::vector<const ir::Value*>& in) {
  const ir::Value& x = require_input(in, 0, "data");
  require_dtype(x, DType::f32, "input data");
  check_ratio(scalar_input(in, 1, 0.5f, "ratio"));
  return {{x.shape, DType::f32}, {x.shape, DType::u8}};
}

float ratio_of(const std::vector<Tensor>& inputs) {
  return inputs.size() > 1 && inputs[1].defined() ? inputs[1].data<float>()[0] : 0.5f;
}

// Saves (training only): {mask}, a u8 tensor of data's shape, 1 where the element was kept.
// The mask draws one rng->uniform() per element in flat order; an element is dropped when the
// draw is below ratio.
void forward(ir::ForwardCtx& ctx) {
  const Tensor& x = ctx.inputs[0];
  const float ratio = ratio_of(ctx.inputs);
  check_ratio(ratio);
  const int64_t count = x.numel();
  const float* src = x.data<float>();
  float* dst = ctx.outputs[0].data<float>();
  Tensor mask = ctx.outputs.size() > 1 ? ctx.outputs[1] : Tensor::empty(x.shape(), DType::u8);
  uint8_t* keep = mask.data<uint8_t>();
  if (!ctx.training) {
    for (int64_t i = 0; i < count; ++i) {
      dst[i] = src[i];
      keep[i] = 1;
    }
    return;
  }
  LEANCNN_CHECK(ctx.rng != nullptr, "Dropout in training needs ForwardCtx::rng");
  const float scale = 1.f / (1.f - ratio);
  for (int64_t i = 0; i < count; ++i) {
    keep[i] = ctx.rng->uniform() < ratio ? 0 : 1;
    dst[i] = keep[i] ? src[i] * scale : 0.f;
  }
  if (ctx.saved) ctx.saved->push_back(ctx.outputs.size() > 1 ? mask.clone() : mask);
}

// d_src = d_dst * mask * scale; with nothing saved (an inference forward) the identity.
void backward(ir::BackwardCtx& ctx) {
  if (!ctx.d_inputs[0].defined()) return;
  const float* d_dst = ctx.d_outputs[0].data<float>();
  float* d_src = ctx.d_inputs[0].data<float>();
  const int64_t count = ctx.d_inputs[0].numel();
  if (ctx.saved.empty()) {
    for (int64_t i = 0; i < count; ++i) d_src[i] = d_dst[i];
    return;
  }
  const uint8_t* keep = ctx.saved[0].data<uint8_t>();
  const float scale = 1.f / (1.f - ratio_of(ctx.inputs));
  for (int64_t i = 0; i < count; ++i) d_src[i] = keep[i] ? d_dst[i] * scale : 0.f;
}
}  // namespace

ir::OpSchema dropout_schema() {
  ir::OpSchema s;
  s.op_type = "Dropout";
  s.min_inputs = 1;
  s.max_inputs = 3;
  s.num_outputs = 2;
  s.min_outputs = 1;
  s.attributes = {"seed"};
  s.non_differentiable_inputs = {1, 2};
  s.infer = infer;
  s.forward = forward;
  s.backward = backward;
  return s;
}

}  // namespace leancnn::ops
