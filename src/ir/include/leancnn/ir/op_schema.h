// What an op is, as one table entry: arity, known attributes, shape inference, MAC count,
// and its reference (slow, obviously correct) forward and backward. The ir layer defines the
// entry's type; the ops layer fills the table (ops::op_table()), one file per op.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "leancnn/core/rng.h"
#include "leancnn/core/tensor.h"
#include "leancnn/ir/graph.h"

namespace leancnn::ir {

struct TensorType {
  Shape shape;
  DType dtype = DType::f32;
};

// Inputs to a forward run of one node. Omitted optional inputs are undefined Tensors.
// outputs are preallocated (contiguous, inferred shapes) and the op writes them.
struct ForwardCtx {
  const Node& node;
  std::vector<Tensor> inputs;
  std::vector<Tensor> outputs;
  bool training = false;
  Rng* rng = nullptr;                    // for stochastic ops (Dropout); non-null when training
  std::vector<Tensor>* saved = nullptr;  // when non-null, keep here what backward needs
  const void* prepared = nullptr;        // a plan's Kernel::prepare result for this node (kernels only)
  // Which 4-D activations are stored channels-last (NHWC order; the shape stays NCHW): bit
  // channels_last_input(i) for input i, channels_last_output(j) for output j. Only an inference
  // plan sets it, and only for kernels that declare the slots (kernels::Kernel::channels_last);
  // ops and reference kernels always see 0 (everything NCHW).
  uint32_t channels_last = 0;
};

constexpr uint32_t channels_last_input(int slot) { return 1u << slot; }
constexpr uint32_t channels_last_output(int slot) { return 1u << (16 + slot); }

// Inputs to a backward run of one node. d_outputs[i] is always defined (zeros when no
// gradient reached output i). d_inputs[i] is preallocated when the gradient of input i is
// wanted and undefined otherwise; the op overwrites (never accumulates into) it.
struct BackwardCtx {
  const Node& node;
  std::vector<Tensor> inputs;
  std::vector<Tensor> outputs;
  std::vector<Tensor> saved;
  std::vector<Tensor> d_outputs;
  std::vector<Tensor> d_inputs;
};

using InferFn = std::vector<TensorType> (*)(const Node&, const std::vector<const Value*>& inputs);
using MacsFn = int64_t (*)(const Node&, const std::vector<const Value*>& inputs,
                           const std::vector<const Value*>& outputs);
using ForwardFn = void (*)(ForwardCtx&);
using BackwardFn = void (*)(BackwardCtx&);

// How an op that decodes stored weights into its output 0 (DequantizeLinear, ai.leancnn
// UnpackInt4, and every packed, sparse or low-bit format to come) sees its stored input: the
// facts ir/storage.h reads to count parameters, non-zeros and bits of a layer's weights without
// knowing any format.
struct StorageView {
  ValueId source = kNone;  // the input holding (or leading to) the stored data; kNone: not a view
  int bits = 0;            // bits per logical element; 0: those of the source
  int64_t count = -1;      // logical elements; -1: those of the source
  // Non-zero logical elements of the stored tensor, when its bytes are not its elements.
  int64_t (*nonzero)(const Tensor& stored, int64_t count) = nullptr;
};
using StorageFn = StorageView (*)(const Graph&, const Node&);

struct OpSchema {
  std::string op_type;
  std::string domain;  // "" = ai.onnx, or kLeancnnDomain
  int min_inputs = 1;
  int max_inputs = 1;
  std::vector<int> optional_inputs;     // slots below min_inputs that may still be omitted (kNone)
  int num_outputs = 1;                  // the most outputs a node may have
  int min_outputs = 1;                  // outputs a node must have (ONNX optional outputs)
  std::vector<std::string> attributes;  // known attribute names; others are rejected
  std::vector<int> trainable_inputs;    // input slots that hold learnable parameters
  std::vector<int> non_differentiable_inputs;  // e.g. labels, shape tensors, running stats
  InferFn infer = nullptr;    // required; throws Error(bad_input) on invalid inputs
  MacsFn macs = nullptr;      // null: the op does no multiply-accumulates
  ForwardFn forward = nullptr;
  BackwardFn backward = nullptr;  // null: not differentiable
  StorageFn storage = nullptr;    // null: the op's output is no view of stored weights
};

class OpTable {
 public:
  void add(OpSchema schema);
  // nullptr when absent.
  const OpSchema* find(const std::string& domain, const std::string& op_type) const;
  // Throws Error(bad_input) naming the node and the supported ops when absent.
  const OpSchema& get(const Node& node) const;
  std::vector<std::string> names() const;  // "Conv", "ai.leancnn::SoftmaxCrossEntropy", ...

 private:
  std::map<std::string, OpSchema> ops_;
};

}  // namespace leancnn::ir
