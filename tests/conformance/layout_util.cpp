// Channels-last helpers of the conformance tests (layout_util.h).
#include "layout_util.h"

#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>

#include "kernel_coverage.h"
#include "leancnn/ir/passes.h"
#include "leancnn/kernels/kernel.h"
#include "leancnn/ops/op_table.h"

namespace leancnn::testing {
namespace {
// dst[b][p][ch] = src[b][ch][p] (to channels-last) or the reverse, element by element of any size.
Tensor reorder(const Tensor& t, bool to_channels_last) {
  Tensor out = Tensor::empty(t.shape(), t.dtype());
  const int64_t n = t.dim(0), c = t.dim(1), hw = t.dim(2) * t.dim(3);
  const size_t e = t.numel() > 0 ? t.nbytes() / static_cast<size_t>(t.numel()) : 1;
  const auto* src = static_cast<const uint8_t*>(t.raw());
  auto* dst = static_cast<uint8_t*>(out.raw());
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t p = 0; p < hw; ++p) {
        const int64_t nchw = (b * c + ch) * hw + p, nhwc = (b * hw + p) * c + ch;
        std::memcpy(dst + e * static_cast<size_t>(to_channels_last ? nhwc : nchw),
                    src + e * static_cast<size_t>(to_channels_last ? nchw : nhwc), e);
      }
  return out;
}
}  // namespace

Tensor to_nhwc(const Tensor& t) { return reorder(t, true); }
Tensor from_nhwc(const Tensor& t) { return reorder(t, false); }

namespace {
// Builds the case's node, its context (inputs copied, omitted ones kept omitted, the output filled with 0xA5 bytes) and
// finds `kernel` in the op's list; checks that it accepts the call; then calls f(ctx, kernel).
template <class F>
auto with_kernel(const OpCase& c, const std::string& kernel, F f) {
  const ir::Graph g = single_node_graph(c);
  const ir::Node& n = g.node(0);
  const ir::OpTable& ops = ops::op_table();
  const std::vector<ir::TensorType> types = ir::infer_node(g, ops, n);
  ir::ForwardCtx ctx{n, {}, {}};
  for (const Tensor& t : c.inputs) ctx.inputs.push_back(t.defined() ? t.clone() : Tensor());  // omitted inputs stay omitted
  ctx.outputs.push_back(Tensor::empty(types[0].shape, types[0].dtype));
  std::memset(ctx.outputs[0].raw(), 0xA5, ctx.outputs[0].nbytes());
  const kernels::Kernel* k = nullptr;
  for (const kernels::Kernel& cand : kernels::kernel_list(ops.get(n)))
    if (cand.name == kernel) k = &cand;
  if (!k) throw std::runtime_error("no kernel " + kernel);
  const std::string why = k->check_forward(ctx);
  if (!why.empty()) throw std::runtime_error(kernel + " declined: " + why);
  return f(ctx, *k);
}
}  // namespace

kernels::ChannelsLast declared_layouts(const OpCase& c, const std::string& kernel) {
  return with_kernel(c, kernel, [](ir::ForwardCtx& ctx, const kernels::Kernel& k) {
    return k.channels_last ? k.channels_last(ctx) : kernels::ChannelsLast{};
  });
}

Tensor run_with_layouts(const OpCase& c, const std::string& kernel, uint32_t bits) {
  return with_kernel(c, kernel, [&](ir::ForwardCtx& ctx, const kernels::Kernel& k) {
    const kernels::ChannelsLast cl = k.channels_last ? k.channels_last(ctx) : kernels::ChannelsLast{};
    EXPECT_EQ(cl.slots & bits, bits) << kernel << " does not declare every slot asked for channels-last";
    ctx.channels_last = bits;
    for (size_t i = 0; i < ctx.inputs.size(); ++i)
      if ((bits & ir::channels_last_input(static_cast<int>(i))) && ctx.inputs[i].defined())
        ctx.inputs[i] = to_nhwc(ctx.inputs[i]);
    note_kernel(c.op_type, kernel, Coverage::runs);
    k.forward(ctx);
    return (bits & ir::channels_last_output(0)) ? from_nhwc(ctx.outputs[0]) : ctx.outputs[0];
  });
}

Tensor run_with_layout(const OpCase& c, const std::string& kernel, bool in_nhwc, bool out_nhwc) {
  if (declared_layouts(c, kernel).tied) {
    EXPECT_EQ(in_nhwc, out_nhwc) << kernel << " ties x's and y's layouts";
  }
  return run_with_layouts(c, kernel, (in_nhwc ? ir::channels_last_input(0) : 0u) |
                                         (out_nhwc ? ir::channels_last_output(0) : 0u));
}

}  // namespace leancnn::testing
