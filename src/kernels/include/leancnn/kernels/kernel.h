// Kernels: fast ways to run an op for one dtype/layout/ISA. Each op has one explicit ordered
// list of kernels (most specialised first, the op's reference last); the first kernel that
// accepts a call runs it. With LEANCNN_VERBOSE=dispatch every refusal is logged with its reason.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "leancnn/ir/op_schema.h"

namespace leancnn::kernels {

// What a kernel can take channels-last. tied: the listed slots must then all be in one layout
// (e.g. a pooling primitive whose source and destination share a format).
struct ChannelsLast {
  uint32_t slots = 0;
  bool tied = false;
};

struct Kernel {
  std::string name;  // e.g. "dnnl_conv_f32", "reference"
  // Return "" to accept the call, else the reason for refusing. Null: accepts everything.
  std::string (*check_forward)(const ir::ForwardCtx&) = nullptr;
  ir::ForwardFn forward = nullptr;
  std::string (*check_backward)(const ir::BackwardCtx&) = nullptr;
  ir::BackwardFn backward = nullptr;  // null: this kernel has no backward
  // Optional, for inference plans: state built once for this node, its constant inputs
  // (initializers: weights, bias) and these input shapes — packed weights, a primitive. The
  // plan passes it back in ForwardCtx::prepared on every run of that node; the kernel must
  // give the same results with or without it (the executor never prepares). ctx.outputs are
  // allocated with their shapes but hold no data yet. Null: nothing to prepare.
  std::shared_ptr<const void> (*prepare)(const ir::ForwardCtx&) = nullptr;
  // Optional, for inference plans: the activation slots this kernel can read or write
  // channels-last (ir::ForwardCtx::channels_last bits) for this call. A plan stores a value
  // channels-last when its producer and all its consumers can, so the reorders between
  // consecutive convolutions vanish; it then sets the bits before prepare() and keeps them for
  // every forward(), which must honour them (prepared or not). Null: NCHW only.
  ChannelsLast (*channels_last)(const ir::ForwardCtx&) = nullptr;
};

// The ordered kernel list of an op (the reference alone when the op has no fast kernels).
// The returned reference stays valid for the program's lifetime.
const std::vector<Kernel>& kernel_list(const ir::OpSchema& op);

// The first kernel of the list that accepts the call; refusals are logged on "dispatch".
// allow_fast = false selects the reference (the oracle) directly.
const Kernel& select_forward(const ir::OpSchema& op, const ir::ForwardCtx& ctx, bool allow_fast = true);
const Kernel& select_backward(const ir::OpSchema& op, const ir::BackwardCtx& ctx, bool allow_fast = true);

// A process-wide switch for tests and benchmarks: when true, only reference kernels are selected.
void set_reference_only(bool on);
bool reference_only();

}  // namespace leancnn::kernels
