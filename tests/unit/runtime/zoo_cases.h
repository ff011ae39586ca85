// Shared by the runtime tests that sweep the model zoo: small inputs per model, random pixels,
// and an op counter.
#pragma once
#include <set>
#include <string>

#include "leancnn/ir/graph.h"
#include "op_harness.h"

namespace leancnn::runtime::zoo_cases {

inline int count_ops(const ir::Graph& g, const std::string& op_type) {
  int n = 0;
  for (ir::NodeId id : g.node_ids()) n += g.node(id).op_type == op_type;
  return n;
}

// Small inputs that keep each model's reference run short: ImageNet-style models at 3x64x64
// (their 32x downsampling still leaves 2x2), the 28x28 models at 1x28x28, the CIFAR models at
// 3x32x32.
inline Shape input_for(const std::string& name) {
  static const std::set<std::string> imagenet = {"resnet18",           "mobilenet_v1",       "mobilenet_v1_0_5",
                                                 "mobilenet_v2",       "mobilenet_v2_0_5",   "shufflenet_v2_x0_5",
                                                 "shufflenet_v2_x1_0", "squeezenet1_1"};
  if (imagenet.count(name)) return {3, 64, 64};
  if (name == "lenet5" || name == "small_cnn") return {1, 28, 28};
  return {3, 32, 32};
}

// Random pixels in [0, 1): [batch, C, H, W].
inline Tensor pixels(int64_t batch, const Shape& chw, uint64_t seed) {
  Rng rng(seed);
  return testing::random_tensor({batch, chw[0], chw[1], chw[2]}, rng, 0.f, 1.f);
}

}  // namespace leancnn::runtime::zoo_cases
