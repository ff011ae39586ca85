// FusedConv (ai.leancnn): Conv + bias + optional residual Z + optional Relu/Clip/HardSwish in
// one node. The reference runs the Conv reference, then adds Z and applies the activation
// with the activation references' formulas; there is no backward (inference only).
#include "leancnn/ops/fused_conv.h"

#include <algorithm>
#include <cmath>

#include "leancnn/ops/conv.h"
#include "leancnn/ops/op_util.h"
#include "leancnn/ops/schemas.h"

namespace leancnn::ops {

FusedEpilogue fused_epilogue(const ir::Node& node, const std::string& prefix) {
  FusedEpilogue e;
  const std::string act_attr = prefix + "activation", params_attr = prefix + "activation_params";
  const std::string act = node.attrs.get_string(act_attr, "");
  const std::vector<float> params = node.attrs.get_floats(params_attr, {});
  if (act.empty()) {
    e.activation = FusedActivation::none;
  } else if (act == "Relu") {
    e.activation = FusedActivation::relu;
  } else if (act == "Clip") {
    e.activation = FusedActivation::clip;
    if (params.size() != 2)
      fail(ErrorKind::bad_input, "attribute '", params_attr, "' must be [min, max] for ", act_attr, " Clip, got ",
           params.size(), " values");
    if (std::isnan(params[0]) || std::isnan(params[1]))
      fail(ErrorKind::bad_input, "attribute '", params_attr, "' of Clip must not be NaN");
    e.clip_min = params[0];
    e.clip_max = params[1];
    return e;
  } else if (act == "HardSwish") {
    e.activation = FusedActivation::hard_swish;
  } else {
    fail(ErrorKind::bad_input, "attribute '", act_attr, "' '", act, "' is not one of \"\", Relu, Clip, HardSwish");
  }
  if (!params.empty())
    fail(ErrorKind::bad_input, "attribute '", params_attr, "' must be empty for ", act_attr, " '", act, "', got ",
         params.size(), " values");
  return e;
}

float apply_epilogue_activation(const FusedEpilogue& e, float x) {
  switch (e.activation) {
    case FusedActivation::none:
      return x;
    case FusedActivation::relu:
      return x > 0.f ? x : 0.f;
    case FusedActivation::clip: {
      const float y = x < e.clip_min ? e.clip_min : x;
      return y > e.clip_max ? e.clip_max : y;
    }
    case FusedActivation::hard_swish:
      return x * std::max(0.f, std::min(1.f, (1.f / 6.f) * x + 0.5f));
  }
  return x;
}

namespace {
std::vector<ir::TensorType> infer(const ir::Node& node, const std::vector<const ir::Value*>& in) {
  const ir::Value& x = require_input(in, 0, "X");
  const ir::Value& w = require_input(in, 1, "W");
  require_dtype(x, DType::f32, "input");
  require_dtype(w, DType::f32, "weights");
  const ConvGeometry g = conv_geometry(node, x.shape, w.shape);
  const Shape y{g.n, g.oc, g.oh, g.ow};
  if (in.size() > 2 && in[2]) {
    const ir::Value& b = *in[2];
    require_dtype(b, DType::f32, "bias");
    if (b.shape != Shape{g.oc})
      fail(ErrorKind::bad_input, "bias '", b.name, "' must have shape ", g.oc, ", got ", shape_str(b.shape));
  }
  if (in.size() > 3 && in[3]) {
    const ir::Value& z = *in[3];
    require_dtype(z, DType::f32, "residual Z");
    if (z.shape != y)
      fail(ErrorKind::bad_input, "residual Z '", z.name, "' must have the output's shape ", shape_str(y), ", got ",
           shape_str(z.shape));
  }
  fused_epilogue(node);
  return {{y, DType::f32}};
}

int64_t macs(const ir::Node& node, const std::vector<const ir::Value*>& in, const std::vector<const ir::Value*>&) {
  return conv_geometry(node, in[0]->shape, in[1]->shape).macs();
}
}  // namespace

void fused_conv_forward_ref(ir::ForwardCtx& ctx) {
  const FusedEpilogue e = fused_epilogue(ctx.node);
  conv_forward_ref(ctx);  // reads X, W and B (slots 0-2) and writes conv + bias into Y
  Tensor& y = ctx.outputs[0];
  float* dst = y.data<float>();
  const bool has_z = ctx.inputs.size() > 3 && ctx.inputs[3].defined();
  if (has_z && ctx.inputs[3].shape() != y.shape())
    fail(ErrorKind::bad_input, "residual Z ", shape_str(ctx.inputs[3].shape()), " must have the output's shape ",
         shape_str(y.shape()));
  const float* z = has_z ? ctx.inputs[3].data<float>() : nullptr;
  for (int64_t i = 0, n = y.numel(); i < n; ++i) dst[i] = apply_epilogue_activation(e, z ? dst[i] + z[i] : dst[i]);
}

ir::OpSchema fused_conv_schema() {
  ir::OpSchema s;
  s.op_type = "FusedConv";
  s.domain = ir::kLeancnnDomain;
  s.min_inputs = 2;
  s.max_inputs = 4;
  s.attributes = {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides", "activation",
                  "activation_params"};
  s.infer = infer;
  s.macs = macs;
  s.forward = fused_conv_forward_ref;
  s.backward = nullptr;  // inference only: a plan fuses it after training
  return s;
}

}  // namespace leancnn::ops
