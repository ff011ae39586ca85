// QAdd (ai.leancnn) for inference plans: the op's one-pass loop (its reference is already the
// fast form: dequantize, add, relu, then a vectorized quantize per 1024 values), declared
// layout-agnostic so a plan keeps residual activations channels-last (a, b and y tied to one
// layout: the op is elementwise).
#include "int8_kernels.h"

#include "leancnn/ops/qlinear.h"

namespace leancnn::kernels {

namespace {
std::string check_forward(const ir::ForwardCtx& ctx) {
  if (ctx.inputs.size() < 8 || !ctx.inputs[0].defined() || !ctx.inputs[3].defined()) return "missing a or b";
  if (ctx.inputs[0].shape() != ctx.inputs[3].shape()) return "a and b differ in shape";
  return "";
}

ChannelsLast channels_last(const ir::ForwardCtx&) {
  return {ir::channels_last_input(0) | ir::channels_last_input(3) | ir::channels_last_output(0), true};
}
}  // namespace

Kernel cpu_qadd_x8() {
  Kernel k;
  k.name = "cpu_qadd_x8";
  k.check_forward = check_forward;
  k.forward = ops::qadd_forward_ref;
  k.channels_last = channels_last;
  return k;
}

}  // namespace leancnn::kernels
