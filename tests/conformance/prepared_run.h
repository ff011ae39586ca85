// Conformance helper for Kernel::prepare: runs one op through a named kernel the way an
// inference plan does — prepare() once, then forward with ctx.prepared — so each prepared run
// can be compared with the unprepared kernel and the reference.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "conformance_util.h"
#include "kernel_coverage.h"
#include "layout_util.h"
#include "leancnn/ir/passes.h"
#include "leancnn/kernels/dnnl_cache.h"
#include "leancnn/kernels/kernel.h"
#include "leancnn/ops/op_table.h"

namespace leancnn::testing {

struct PreparedForward {
  KernelForward fwd;
  bool prepared = false;      // prepare() returned a state (the run used it)
  int64_t cache_lookups = 0;  // primitive-cache hits + misses during the prepared run
};

struct PrepareOptions {
  std::vector<int> constant = {1, 2};  // input slots that are initializers (weights, bias)
  bool training = false;
  int runs = 1;                        // forward runs on one prepared state (results of the last)
  // The output tensor is input `output_over_input`'s own storage (a plan reusing a dying
  // residual's buffer); -1: a separate buffer.
  int output_over_input = -1;
  // ForwardCtx::channels_last at prepare and run (ir::channels_last_input/output bits): those
  // inputs are passed channels-last, and output 0 is returned in NCHW order either way.
  uint32_t channels_last = 0;
};

// prepare() sees the constant inputs' data and NaN everywhere else (inputs that are not
// constants, and outputs: a plan fills them only at run time). The forward runs then get the
// real inputs, with the constants overwritten by NaN: a kernel that still reads its weights or
// bias tensors instead of its prepared copies fails the comparison.
inline PreparedForward run_forward_prepared(const OpCase& c, const std::string& kernel,
                                            const PrepareOptions& opt = {}) {
  const ir::Graph g = single_node_graph(c);
  const ir::Node& n = g.node(0);
  const ir::OpTable& ops = ops::op_table();
  const ir::OpSchema& schema = ops.get(n);
  const std::vector<ir::TensorType> types = ir::infer_node(g, ops, n);
  auto is_constant = [&](size_t i) {
    for (int k : opt.constant)
      if (static_cast<size_t>(k) == i) return true;
    return false;
  };
  std::vector<Tensor> at_prepare;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    const Tensor& t = c.inputs[i];
    if (!t.defined())
      at_prepare.emplace_back();
    else
      at_prepare.push_back(is_constant(i) || t.dtype() != DType::f32 ? t.clone() : Tensor::full(t.shape(), NAN));
  }
  Rng rng(c.seed);
  ir::ForwardCtx ctx{n, at_prepare, {}, opt.training, &rng, nullptr};
  ctx.channels_last = opt.channels_last;
  for (const ir::TensorType& t : types) ctx.outputs.push_back(Tensor::full(t.shape, NAN));
  const kernels::Kernel* k = nullptr;
  for (const kernels::Kernel& cand : kernels::kernel_list(schema))
    if (cand.name == kernel) k = &cand;
  if (!k) throw std::runtime_error("no kernel named " + kernel);
  if (k->check_forward) {
    const std::string why = k->check_forward(ctx);
    if (!why.empty()) throw std::runtime_error(kernel + " declined: " + why);
  }
  std::shared_ptr<const void> state = k->prepare ? k->prepare(ctx) : nullptr;

  PreparedForward r;
  r.prepared = state != nullptr;
  r.fwd.kernel = k->name;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    const Tensor& t = c.inputs[i];
    if (!t.defined())
      ctx.inputs[i] = Tensor();
    else if (is_constant(i) && r.prepared)
      ctx.inputs[i] = Tensor::full(t.shape(), NAN);
    else if (opt.channels_last & ir::channels_last_input(static_cast<int>(i)))
      ctx.inputs[i] = to_nhwc(t);
    else
      ctx.inputs[i] = t.clone();
  }
  if (opt.output_over_input >= 0) ctx.outputs[0] = ctx.inputs.at(opt.output_over_input);
  ctx.prepared = state.get();
  note_kernel(schema.op_type, k->name, Coverage::runs);
  for (int run = 0; run < opt.runs; ++run) {
    if (opt.output_over_input >= 0 && run > 0) {  // Z again, in the layout it is passed in
      const Tensor& z = c.inputs.at(opt.output_over_input);
      ctx.outputs[0].copy_from(opt.channels_last & ir::channels_last_input(opt.output_over_input) ? to_nhwc(z) : z);
    }
    const kernels::DnnlCacheStats before = kernels::dnnl_cache_stats();
    k->forward(ctx);
    const kernels::DnnlCacheStats after = kernels::dnnl_cache_stats();
    r.cache_lookups = (after.hits - before.hits) + (after.misses - before.misses);
  }
  r.fwd.inputs = ctx.inputs;
  r.fwd.outputs = ctx.outputs;
  if (opt.channels_last & ir::channels_last_output(0)) r.fwd.outputs[0] = from_nhwc(ctx.outputs[0]);
  return r;
}

}  // namespace leancnn::testing
