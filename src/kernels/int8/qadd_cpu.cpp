// QAdd (ai.leancnn) for inference plans: the AVX2 kernel (qadd.h; threads over equal slices) and
// the op's own one-pass loop for other CPUs. Both are declared layout-agnostic so a plan keeps
// residual activations channels-last (a, b and y tied to one layout: the op is elementwise).
#include <algorithm>

#include "int8_kernels.h"
#include "leancnn/core/cpu.h"
#include "leancnn/kernels/int8_exactness.h"
#include "leancnn/ops/qlinear.h"
#include "qadd.h"

namespace leancnn::kernels {

namespace {
constexpr int64_t kParallelValues = 1 << 15;  // below this, a second thread costs more than it saves

std::string check_operands(const ir::ForwardCtx& ctx) {
  if (ctx.inputs.size() < 8 || !ctx.inputs[0].defined() || !ctx.inputs[3].defined()) return "missing a or b";
  if (ctx.inputs[0].shape() != ctx.inputs[3].shape()) return "a and b differ in shape";
  return "";
}

std::string check_avx2(const ir::ForwardCtx& ctx) {
  if (!int8_cpu_features().avx2) return "no AVX2 on this CPU";
  std::string why = check_operands(ctx);
  if (!why.empty()) return why;
  if (!ctx.inputs[0].is_contiguous() || !ctx.inputs[3].is_contiguous()) return "a or b is not contiguous";
  return "";
}

int32_t zero_point(const Tensor& t) {
  return t.dtype() == DType::u8 ? int32_t{t.data<uint8_t>()[0]} : int32_t{t.data<int8_t>()[0]};
}

void forward_avx2(ir::ForwardCtx& ctx) {
  const std::vector<Tensor>& in = ctx.inputs;
  Tensor& y = ctx.outputs[0];
  int8::QAddParams p;
  p.a = in[0].dtype();
  p.b = in[3].dtype();
  p.y = y.dtype();
  p.a_scale = in[1].data<float>()[0];
  p.b_scale = in[4].data<float>()[0];
  p.y_scale = in[6].data<float>()[0];
  p.a_zp = zero_point(in[2]);
  p.b_zp = zero_point(in[5]);
  p.y_zp = zero_point(in[7]);
  p.relu = ctx.node.attrs.get_string("activation", "") == "Relu";  // the op's infer validated it
  const auto* a = static_cast<const uint8_t*>(in[0].raw());
  const auto* b = static_cast<const uint8_t*>(in[3].raw());
  auto* dst = static_cast<uint8_t*>(y.raw());
  const int64_t n = y.numel();
  const int threads = n >= kParallelValues ? num_threads() : 1;
  // Slices of whole 16-value steps, one per thread (every byte is one value).
  const int64_t slice = (n / threads + 15) / 16 * 16;
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (int t = 0; t < threads; ++t) {
    const int64_t i0 = std::min(n, t * slice), i1 = t == threads - 1 ? n : std::min(n, i0 + slice);
    if (i1 > i0) int8::avx2::qadd(a + i0, b + i0, dst + i0, i1 - i0, p);
  }
}

ChannelsLast channels_last(const ir::ForwardCtx&) {
  return {ir::channels_last_input(0) | ir::channels_last_input(3) | ir::channels_last_output(0), true};
}
}  // namespace

Kernel cpu_qadd_x8_avx2() {
  Kernel k;
  k.name = "cpu_qadd_x8_avx2";
  k.check_forward = check_avx2;
  k.forward = forward_avx2;
  k.channels_last = channels_last;
  return k;
}

Kernel cpu_qadd_x8() {
  Kernel k;
  k.name = "cpu_qadd_x8";
  k.check_forward = check_operands;
  k.forward = ops::qadd_forward_ref;
  k.channels_last = channels_last;
  return k;
}

}  // namespace leancnn::kernels
