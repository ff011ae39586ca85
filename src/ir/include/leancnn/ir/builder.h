// Builder: the API models are written in. Each call adds one ONNX node with its weights as
// initializers (He / PyTorch-style initialisation from a seeded Rng), infers its shape at
// once, and names everything under the current scope ("layer1.0.conv1.weight").
#pragma once
#include <string>
#include <vector>

#include "leancnn/core/rng.h"
#include "leancnn/ir/graph.h"
#include "leancnn/ir/op_schema.h"

namespace leancnn::ir {

class Builder {
 public:
  Builder(Graph& g, const OpTable& ops, uint64_t seed = 0);

  ValueId input(const std::string& name, const Shape& shape, DType dtype = DType::f32);
  void output(ValueId v);

  // Names: scopes nest with '.', e.g. scope("layer1") then scope("0") gives "layer1.0.".
  class Scope {
   public:
    Scope(Builder& b, const std::string& name);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    Builder& b_;
    size_t saved_;
  };
  std::string scoped(const std::string& name) const;

  // Conv with OIHW weights. pad < 0 means "same" for odd kernels (dilation * (k - 1) / 2).
  ValueId conv(ValueId x, int64_t out_channels, int64_t kernel, int64_t stride = 1, int64_t pad = -1,
               int64_t groups = 1, bool bias = false, int64_t dilation = 1, const std::string& name = "conv");
  ValueId batch_norm(ValueId x, float epsilon = 1e-5f, float momentum = 0.9f, const std::string& name = "bn");
  // Fully connected: Gemm(x, W[out, in], b) with transB = 1; x is flattened 2-D.
  ValueId linear(ValueId x, int64_t out_features, bool bias = true, const std::string& name = "fc");
  ValueId relu(ValueId x);
  ValueId clip(ValueId x, float lo, float hi);
  ValueId sigmoid(ValueId x);
  ValueId hard_sigmoid(ValueId x, float alpha = 0.2f, float beta = 0.5f);
  ValueId hard_swish(ValueId x);
  ValueId max_pool(ValueId x, int64_t kernel, int64_t stride, int64_t pad = 0, bool ceil_mode = false);
  ValueId avg_pool(ValueId x, int64_t kernel, int64_t stride, int64_t pad = 0);
  ValueId global_avg_pool(ValueId x);
  ValueId add(ValueId a, ValueId b);
  ValueId mul(ValueId a, ValueId b);
  ValueId concat(const std::vector<ValueId>& xs, int64_t axis = 1);
  // ONNX Split into parts of the given sizes along axis.
  std::vector<ValueId> split(ValueId x, const std::vector<int64_t>& sizes, int64_t axis = 1);
  ValueId flatten(ValueId x, int64_t axis = 1);
  ValueId reshape(ValueId x, const std::vector<int64_t>& shape);
  ValueId transpose(ValueId x, const std::vector<int64_t>& perm);
  ValueId dropout(ValueId x, float ratio);
  ValueId softmax(ValueId x, int64_t axis = -1);

  // Any op: adds the node, creates `num_outputs` outputs, infers their shapes; returns them.
  std::vector<ValueId> op(const std::string& op_type, const std::vector<ValueId>& inputs, Attributes attrs = {},
                          int num_outputs = 1, const std::string& domain = "", const std::string& name = "");
  // Adds a constant or weight initializer named under the current scope.
  ValueId constant(const std::string& name, Tensor data, bool trainable = false);

  const Shape& shape(ValueId v) const { return g_.value(v).shape; }
  Graph& graph() { return g_; }
  Rng& rng() { return rng_; }

 private:
  std::string node_name(const std::string& base);
  std::vector<ValueId> add_named(const std::string& node_name, const std::string& op_type,
                                 const std::vector<ValueId>& inputs, Attributes attrs, int num_outputs = 1,
                                 const std::string& domain = "");
  Graph& g_;
  const OpTable& ops_;
  Rng rng_;
  std::string scope_;
  std::map<std::string, int> counters_;
};

}  // namespace leancnn::ir
