// Teachers of distillation: one or more models compiled once into runtime plans (the fast
// inference runtime, not the reference executor), run on a training batch. Several teachers
// give their mean logits (an ensemble); features come from the first one.
#pragma once
#include <string>
#include <vector>

#include "leancnn/core/tensor.h"
#include "leancnn/ir/graph.h"
#include "leancnn/runtime/plan.h"

namespace leancnn::compress::distill {

// A deep copy: the initializers' data are copied too, so that training the original does not
// change the copy (ir::Graph's copy shares them).
ir::Graph deep_copy(const ir::Graph& g);

// A feature map of `g` by value name or by layer (node) name (its first output); shapes must be
// inferred. Error(bad_input) naming `what` when absent or not [N, C, H, W].
ir::ValueId find_layer_value(const ir::Graph& g, const std::string& name, const std::string& what);

// The last feature map of each spatial size in topological order, the deepest size excluded
// (the default layers of self_aux; stage ends of a ResNet). Shapes must be inferred.
std::vector<std::string> stage_ends(const ir::Graph& g);

struct TeacherOutput {
  Tensor logits;                  // [N, K], the mean over teachers
  std::vector<Tensor> features;   // the first teacher's requested values, in request order
};

class Teacher {
 public:
  // `graphs`: float models, one input and one logits output each, named by `names` in errors.
  // `features`: value names of the first model returned by run(). Checks every model against
  // the student: input dims (C, H, W) and the number of classes; Error(bad_input) naming it.
  Teacher(std::vector<ir::Graph> graphs, std::vector<std::string> names, const std::vector<std::string>& features,
          const ir::Graph& student);
  // Loads ONNX files.
  static Teacher from_files(const std::vector<std::string>& files, const std::vector<std::string>& features,
                            const ir::Graph& student);

  TeacherOutput run(const Tensor& images);
  // The first model's inferred shape of requested feature i (batch dim 1).
  const Shape& feature_shape(size_t i) const { return feature_shapes_.at(i); }
  const std::vector<ir::Graph>& graphs() const { return graphs_; }
  const std::vector<std::string>& names() const { return names_; }

 private:
  std::vector<ir::Graph> graphs_;  // as given (for evaluation and the report)
  std::vector<std::string> names_;
  std::vector<runtime::Plan> plans_;
  std::vector<Shape> feature_shapes_;
  size_t num_features_ = 0;
};

}  // namespace leancnn::compress::distill
