// Input-activation density of Conv / Gemm nodes on calibration images.
#include "leancnn/runtime/activation_stats.h"

#include "leancnn/core/error.h"
#include "leancnn/runtime/executor.h"

namespace leancnn::runtime {

std::map<std::string, double> measure_input_density(ir::Graph& g, const ir::OpTable& ops, const Tensor& images) {
  if (g.inputs().size() != 1) fail(ErrorKind::bad_input, "density measurement needs a model with one input");
  Executor exec(g, ops, {.training = false, .keep_values = true});
  exec.forward({{g.value(g.inputs()[0]).name, images}});
  std::map<std::string, double> density;
  for (ir::NodeId id : g.topo_order()) {
    const ir::Node& n = g.node(id);
    if (n.op_type != "Conv" && n.op_type != "Gemm") continue;
    const Tensor& x = exec.value(n.inputs.at(0));
    if (!x.defined() || x.dtype() != DType::f32) continue;
    const float* p = x.data<float>();
    int64_t nonzero = 0;
    for (int64_t i = 0, count = x.numel(); i < count; ++i) nonzero += p[i] != 0.f;
    density[n.name] = x.numel() ? static_cast<double>(nonzero) / static_cast<double>(x.numel()) : 1.0;
  }
  return density;
}

}  // namespace leancnn::runtime
