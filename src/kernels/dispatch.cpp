// Kernel selection over each op's ordered list, with refusal logging.
#include <map>
#include <mutex>

#include "leancnn/core/error.h"
#include "leancnn/core/log.h"
#include "leancnn/kernels/impl_lists.h"
#include "leancnn/kernels/kernel.h"

namespace leancnn::kernels {

namespace {
bool g_reference_only = false;

const Kernel& reference_of(const std::vector<Kernel>& list) { return list.back(); }
}  // namespace

void set_reference_only(bool on) { g_reference_only = on; }
bool reference_only() { return g_reference_only; }

const std::vector<Kernel>& kernel_list(const ir::OpSchema& op) {
  static std::mutex mu;
  static std::map<const ir::OpSchema*, std::vector<Kernel>> lists;
  std::lock_guard<std::mutex> lock(mu);
  auto it = lists.find(&op);
  if (it != lists.end()) return it->second;
  std::vector<Kernel> list = fast_kernels(op.domain, op.op_type);
  Kernel ref;
  ref.name = "reference";
  ref.forward = op.forward;
  ref.backward = op.backward;
  list.push_back(ref);
  return lists.emplace(&op, std::move(list)).first->second;
}

const Kernel& select_forward(const ir::OpSchema& op, const ir::ForwardCtx& ctx, bool allow_fast) {
  const auto& list = kernel_list(op);
  if (allow_fast && !g_reference_only) {
    for (size_t i = 0; i + 1 < list.size(); ++i) {
      const Kernel& k = list[i];
      if (!k.forward) continue;
      std::string why = k.check_forward ? k.check_forward(ctx) : std::string();
      if (why.empty()) {
        LEANCNN_LOG("dispatch") << ctx.node.name << " (" << op.op_type << ") forward: " << k.name;
        return k;
      }
      LEANCNN_LOG("dispatch") << ctx.node.name << " (" << op.op_type << ") forward: " << k.name
                              << " declined: " << why;
    }
  }
  const Kernel& ref = reference_of(list);
  if (!ref.forward) fail(ErrorKind::internal, op.op_type, " has no reference forward");
  LEANCNN_LOG("dispatch") << ctx.node.name << " (" << op.op_type << ") forward: reference";
  return ref;
}

const Kernel& select_backward(const ir::OpSchema& op, const ir::BackwardCtx& ctx, bool allow_fast) {
  const auto& list = kernel_list(op);
  if (allow_fast && !g_reference_only) {
    for (size_t i = 0; i + 1 < list.size(); ++i) {
      const Kernel& k = list[i];
      if (!k.backward) {
        LEANCNN_LOG("dispatch") << ctx.node.name << " (" << op.op_type << ") backward: " << k.name
                                << " declined: no backward";
        continue;
      }
      std::string why = k.check_backward ? k.check_backward(ctx) : std::string();
      if (why.empty()) {
        LEANCNN_LOG("dispatch") << ctx.node.name << " (" << op.op_type << ") backward: " << k.name;
        return k;
      }
      LEANCNN_LOG("dispatch") << ctx.node.name << " (" << op.op_type << ") backward: " << k.name
                              << " declined: " << why;
    }
  }
  const Kernel& ref = reference_of(list);
  if (!ref.backward) fail(ErrorKind::bad_input, ctx.node.label(), ": ", op.op_type, " is not differentiable");
  LEANCNN_LOG("dispatch") << ctx.node.name << " (" << op.op_type << ") backward: reference";
  return ref;
}

}  // namespace leancnn::kernels
