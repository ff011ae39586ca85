// Private to the io layer: load-time evaluation of ONNX shape computations (Shape, Gather,
// Unsqueeze, Concat, Cast, Slice, ConstantOfShape, integer arithmetic, ...) on small constant
// tensors, with every element tagged by whether it depends on the batch size. The importer folds
// such sub-graphs to constants; the tags decide how a folded Reshape shape keeps any batch working.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "leancnn/core/tensor.h"
#include "leancnn/ir/attributes.h"

namespace leancnn::io::onnx_detail {

// The most elements one folded value, and all of one model's together, may have (shape
// computations are tiny; the bound keeps a hostile file from exhausting memory).
inline constexpr int64_t kMaxFoldedElems = int64_t{1} << 22;
inline constexpr int64_t kMaxFoldedTotal = int64_t{1} << 24;

// How an element of a folded tensor relates to the batch size B (dim 0 of every run-time value).
enum class Tag : uint8_t {
  fixed = 0,          // a constant, the same for every batch size
  batch = 1,          // exactly B (dim 0 of a Shape, carried unchanged)
  batch_derived = 2,  // computed from B (B * C, B == 1, ...): its value changes with the batch
};

// A tensor known at load time. Elements are held as int64 (integer and BOOL element types) or
// double (FLOAT, DOUBLE, FLOAT16); elem_type is the ONNX element type the model gives it.
struct Folded {
  Shape shape;
  int32_t elem_type = 0;
  std::vector<int64_t> ints;   // when !is_real()
  std::vector<double> reals;   // when is_real()
  std::vector<Tag> tags;       // one per element
  bool is_real() const;
  int64_t numel() const;
  bool depends_on_batch() const;  // any tag other than fixed
  int64_t int_at(int64_t i) const { return is_real() ? static_cast<int64_t>(reals[i]) : ints[i]; }
};

// A leancnn tensor as a Folded (all tags fixed); and back (Error(bad_input) when the element
// type has no leancnn dtype). tensor_from_folded ignores the tags: callers decide about them.
Folded folded_from_tensor(const Tensor& t);
Tensor tensor_from_folded(const Folded& f);

// True for the ONNX ops eval_folded evaluates (all ai.onnx).
bool is_foldable_op(const std::string& op_type);

// Shape(x) (opset 15's start/end included): when `runtime` (x is computed by the model), the
// element for dim 0 is tagged batch; the shape of a constant is all fixed.
Folded fold_shape(const Shape& x, bool runtime, const ir::Attributes& attrs);
// Size(x): tagged batch_derived when `runtime`.
Folded fold_size(const Shape& x, bool runtime);

// Evaluates one node of a foldable op whose inputs are all known (nullptr: an omitted optional
// input). Attribute-form inputs of older opsets (Unsqueeze/Squeeze axes, Slice starts/ends/axes)
// are read from attrs. Throws Error(bad_input) naming the input or attribute at fault, also when
// a value that fixes an output's shape (axes, Slice bounds, ConstantOfShape's shape, Range)
// depends on the batch size.
std::vector<Folded> eval_folded(const std::string& op_type, const ir::Attributes& attrs,
                                const std::vector<const Folded*>& inputs, size_t num_outputs);

}  // namespace leancnn::io::onnx_detail
