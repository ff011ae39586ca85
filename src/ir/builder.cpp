// Builder: typed helpers over Graph::add_node with eager shape inference and initialisation.
#include "leancnn/ir/builder.h"

#include <cmath>

#include "leancnn/core/error.h"
#include "leancnn/ir/passes.h"

namespace leancnn::ir {

Builder::Builder(Graph& g, const OpTable& ops, uint64_t seed) : g_(g), ops_(ops), rng_(seed) {}

Builder::Scope::Scope(Builder& b, const std::string& name) : b_(b), saved_(b.scope_.size()) {
  b_.scope_ += name + ".";
}
Builder::Scope::~Scope() { b_.scope_.resize(saved_); }

std::string Builder::scoped(const std::string& name) const { return scope_ + name; }

std::string Builder::node_name(const std::string& base) {
  // The first "conv" in a scope is "scope.conv", later ones "scope.conv_1", ...
  std::string full = scoped(base);
  int& count = counters_[full];
  std::string name = count == 0 ? full : full + "_" + std::to_string(count);
  ++count;
  return g_.unique_value_name(name);
}

ValueId Builder::input(const std::string& name, const Shape& shape, DType dtype) {
  return g_.add_input(name, shape, dtype);
}

void Builder::output(ValueId v) { g_.mark_output(v); }

ValueId Builder::constant(const std::string& name, Tensor data, bool trainable) {
  return g_.add_initializer(g_.unique_value_name(name), std::move(data), trainable);
}

std::vector<ValueId> Builder::op(const std::string& op_type, const std::vector<ValueId>& inputs, Attributes attrs,
                                 int num_outputs, const std::string& domain, const std::string& name) {
  return add_named(node_name(name.empty() ? op_type : name), op_type, inputs, std::move(attrs), num_outputs, domain);
}

std::vector<ValueId> Builder::add_named(const std::string& nname, const std::string& op_type,
                                        const std::vector<ValueId>& inputs, Attributes attrs, int num_outputs,
                                        const std::string& domain) {
  std::vector<ValueId> outs;
  for (int i = 0; i < num_outputs; ++i)
    outs.push_back(g_.add_value(g_.unique_value_name(num_outputs == 1 ? nname : nname + ".out" + std::to_string(i))));
  NodeId id = g_.add_node(op_type, inputs, outs, std::move(attrs), nname, domain);
  std::vector<TensorType> types = infer_node(g_, ops_, g_.node(id));
  for (int i = 0; i < num_outputs && i < static_cast<int>(types.size()); ++i) {
    Value& v = g_.value(outs[i]);
    v.shape = types[i].shape;
    v.dtype = types[i].dtype;
    v.shape_known = true;
  }
  return outs;
}

ValueId Builder::conv(ValueId x, int64_t out_channels, int64_t kernel, int64_t stride, int64_t pad, int64_t groups,
                      bool bias, int64_t dilation, const std::string& name) {
  const Shape& xs = shape(x);
  if (xs.size() != 4) fail(ErrorKind::bad_input, "conv '", scoped(name), "': input must be NCHW, got ", shape_str(xs));
  const int64_t in_channels = xs[1];
  if (in_channels % groups || out_channels % groups)
    fail(ErrorKind::bad_input, "conv '", scoped(name), "': channels ", in_channels, "->", out_channels,
         " not divisible by groups ", groups);
  if (pad < 0) pad = dilation * (kernel - 1) / 2;
  const std::string base = node_name(name);
  // Kaiming normal, fan_out mode (as torchvision's ResNets): std = sqrt(2 / (oc/groups * k * k)).
  Tensor w = Tensor::empty({out_channels, in_channels / groups, kernel, kernel});
  float fan_out = static_cast<float>(out_channels / groups * kernel * kernel);
  rng_.fill_normal(w, 0.f, std::sqrt(2.f / fan_out));
  std::vector<ValueId> in = {x, g_.add_initializer(base + ".weight", w, true)};
  if (bias) in.push_back(g_.add_initializer(base + ".bias", Tensor::zeros({out_channels}), true));
  Attributes a;
  a.set("kernel_shape", std::vector<int64_t>{kernel, kernel});
  a.set("strides", std::vector<int64_t>{stride, stride});
  a.set("pads", std::vector<int64_t>{pad, pad, pad, pad});
  a.set("dilations", std::vector<int64_t>{dilation, dilation});
  a.set("group", groups);
  return add_named(base, "Conv", in, a)[0];
}

ValueId Builder::batch_norm(ValueId x, float epsilon, float momentum, const std::string& name) {
  const int64_t c = shape(x).at(1);
  const std::string base = node_name(name);
  std::vector<ValueId> in = {x, g_.add_initializer(base + ".weight", Tensor::full({c}, 1.f), true),
                             g_.add_initializer(base + ".bias", Tensor::zeros({c}), true),
                             g_.add_initializer(base + ".running_mean", Tensor::zeros({c}), false),
                             g_.add_initializer(base + ".running_var", Tensor::full({c}, 1.f), false)};
  Attributes a;
  a.set("epsilon", epsilon);
  a.set("momentum", momentum);
  return add_named(base, "BatchNormalization", in, a)[0];
}

ValueId Builder::linear(ValueId x, int64_t out_features, bool bias, const std::string& name) {
  const Shape& xs = shape(x);
  if (xs.size() != 2) fail(ErrorKind::bad_input, "linear '", scoped(name), "': input must be 2-D, got ", shape_str(xs));
  const int64_t in_features = xs[1];
  const std::string base = node_name(name);
  // PyTorch's nn.Linear default: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias.
  const float bound = 1.f / std::sqrt(static_cast<float>(in_features));
  Tensor w = Tensor::empty({out_features, in_features});
  rng_.fill_uniform(w, -bound, bound);
  std::vector<ValueId> in = {x, g_.add_initializer(base + ".weight", w, true)};
  if (bias) {
    Tensor b = Tensor::empty({out_features});
    rng_.fill_uniform(b, -bound, bound);
    in.push_back(g_.add_initializer(base + ".bias", b, true));
  }
  Attributes a;
  a.set("transB", int64_t{1});
  return add_named(base, "Gemm", in, a)[0];
}

ValueId Builder::relu(ValueId x) { return op("Relu", {x})[0]; }

ValueId Builder::clip(ValueId x, float lo, float hi) {
  ValueId vlo = constant(scoped("clip_min"), Tensor::full({}, lo));
  ValueId vhi = constant(scoped("clip_max"), Tensor::full({}, hi));
  return op("Clip", {x, vlo, vhi})[0];
}

ValueId Builder::sigmoid(ValueId x) { return op("Sigmoid", {x})[0]; }

ValueId Builder::hard_sigmoid(ValueId x, float alpha, float beta) {
  Attributes a;
  a.set("alpha", alpha);
  a.set("beta", beta);
  return op("HardSigmoid", {x}, a)[0];
}

ValueId Builder::hard_swish(ValueId x) { return op("HardSwish", {x})[0]; }

namespace {
Attributes pool_attrs(int64_t kernel, int64_t stride, int64_t pad) {
  Attributes a;
  a.set("kernel_shape", std::vector<int64_t>{kernel, kernel});
  a.set("strides", std::vector<int64_t>{stride, stride});
  a.set("pads", std::vector<int64_t>{pad, pad, pad, pad});
  return a;
}
}  // namespace

ValueId Builder::max_pool(ValueId x, int64_t kernel, int64_t stride, int64_t pad, bool ceil_mode) {
  Attributes a = pool_attrs(kernel, stride, pad);
  if (ceil_mode) a.set("ceil_mode", int64_t{1});
  return op("MaxPool", {x}, a)[0];
}

ValueId Builder::avg_pool(ValueId x, int64_t kernel, int64_t stride, int64_t pad) {
  return op("AveragePool", {x}, pool_attrs(kernel, stride, pad))[0];
}

ValueId Builder::global_avg_pool(ValueId x) { return op("GlobalAveragePool", {x})[0]; }
ValueId Builder::add(ValueId a, ValueId b) { return op("Add", {a, b})[0]; }
ValueId Builder::mul(ValueId a, ValueId b) { return op("Mul", {a, b})[0]; }

ValueId Builder::concat(const std::vector<ValueId>& xs, int64_t axis) {
  Attributes a;
  a.set("axis", axis);
  return op("Concat", xs, a)[0];
}

std::vector<ValueId> Builder::split(ValueId x, const std::vector<int64_t>& sizes, int64_t axis) {
  ValueId s = constant(scoped("split"), Tensor::from_ints({static_cast<int64_t>(sizes.size())}, sizes, DType::s64));
  Attributes a;
  a.set("axis", axis);
  return op("Split", {x, s}, a, static_cast<int>(sizes.size()));
}

ValueId Builder::flatten(ValueId x, int64_t axis) {
  Attributes a;
  a.set("axis", axis);
  return op("Flatten", {x}, a)[0];
}

ValueId Builder::reshape(ValueId x, const std::vector<int64_t>& shape) {
  ValueId s = constant(scoped("shape"), Tensor::from_ints({static_cast<int64_t>(shape.size())}, shape, DType::s64));
  return op("Reshape", {x, s})[0];
}

ValueId Builder::transpose(ValueId x, const std::vector<int64_t>& perm) {
  Attributes a;
  a.set("perm", perm);
  return op("Transpose", {x}, a)[0];
}

ValueId Builder::dropout(ValueId x, float ratio) {
  ValueId r = constant(scoped("dropout_ratio"), Tensor::full({}, ratio));
  return op("Dropout", {x, r})[0];
}

ValueId Builder::softmax(ValueId x, int64_t axis) {
  Attributes a;
  a.set("axis", axis);
  return op("Softmax", {x}, a)[0];
}

}  // namespace leancnn::ir
