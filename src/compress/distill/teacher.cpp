// Teachers compiled into runtime plans; the requested features become extra graph outputs, so
// the plan's fusion passes keep them (a graph output is never fused away).
#include "leancnn/compress/distill/teacher.h"

#include <algorithm>

#include "leancnn/core/error.h"
#include "leancnn/io/onnx.h"
#include "leancnn/ir/passes.h"
#include "leancnn/ops/op_table.h"

namespace leancnn::compress::distill {

ir::Graph deep_copy(const ir::Graph& g) {
  ir::Graph copy = g;
  for (ir::ValueId v : copy.initializers()) copy.value(v).data = copy.value(v).data.clone();
  return copy;
}

ir::ValueId find_layer_value(const ir::Graph& g, const std::string& name, const std::string& what) {
  ir::ValueId v = g.find_value(name);
  if (v == ir::kNone)
    for (ir::NodeId n : g.node_ids())
      if (g.node(n).name == name && !g.node(n).outputs.empty()) v = g.node(n).outputs[0];
  if (v == ir::kNone)
    fail(ErrorKind::bad_input, what, " has no value or layer named '", name, "' (`leancnn info MODEL.onnx` lists the layers)");
  if (g.value(v).shape.size() != 4)
    fail(ErrorKind::bad_input, what, ": '", name, "' is ", shape_str(g.value(v).shape),
         "; distillation matches feature maps [N, C, H, W]");
  return v;
}

std::vector<std::string> stage_ends(const ir::Graph& g) {
  std::vector<std::pair<Shape, std::string>> groups;  // (H, W), last value name
  for (ir::NodeId n : g.topo_order())
    for (ir::ValueId o : g.node(n).outputs) {
      const Shape& s = g.value(o).shape;
      // A 1 x 1 map is a pooled vector (GlobalAveragePool before the classifier), not a stage.
      if (s.size() != 4 || (s[2] == 1 && s[3] == 1)) continue;
      const Shape hw{s[2], s[3]};
      if (groups.empty() || groups.back().first != hw) groups.push_back({hw, g.value(o).name});
      else groups.back().second = g.value(o).name;
    }
  std::vector<std::string> out;
  for (size_t i = 0; i + 1 < groups.size(); ++i) out.push_back(groups[i].second);
  return out;
}

namespace {
const ir::Value& only_input(const ir::Graph& g, const std::string& what) {
  if (g.inputs().size() != 1 || g.outputs().size() != 1)
    fail(ErrorKind::bad_input, what, " must have one input and one output (logits), it has ", g.inputs().size(), " and ",
         g.outputs().size());
  return g.value(g.inputs()[0]);
}
}  // namespace

Teacher::Teacher(std::vector<ir::Graph> graphs, std::vector<std::string> names, const std::vector<std::string>& features,
                 const ir::Graph& student)
    : graphs_(std::move(graphs)), names_(std::move(names)), num_features_(features.size()) {
  if (graphs_.empty()) fail(ErrorKind::usage, "distillation needs a teacher");
  const ir::Value& s_in = only_input(student, "the student");
  const Shape& s_out = student.value(student.outputs()[0]).shape;
  for (size_t i = 0; i < graphs_.size(); ++i) {
    ir::Graph g = graphs_[i];
    ir::infer_shapes(g, ops::op_table());
    const std::string what = "teacher '" + names_[i] + "'";
    const ir::Value& t_in = only_input(g, what);
    const Shape& t_out = g.value(g.outputs()[0]).shape;
    if (t_in.shape.empty() || t_in.shape.size() != s_in.shape.size() || !std::equal(t_in.shape.begin() + 1, t_in.shape.end(), s_in.shape.begin() + 1))
      fail(ErrorKind::bad_input, what, " takes input ", shape_str(t_in.shape), " but the student takes ",
           shape_str(s_in.shape), " (the same images must fit both)");
    if (t_out.size() != 2 || s_out.size() != 2 || t_out[1] != s_out[1])
      fail(ErrorKind::bad_input, what, " outputs ", shape_str(t_out), " but the student outputs ", shape_str(s_out),
           " (both must be [N, classes] logits with the same classes)");
    if (i == 0)
      for (const std::string& f : features) {
        const ir::ValueId v = find_layer_value(g, f, what);
        feature_shapes_.push_back(g.value(v).shape);
        g.mark_output(v);
      }
    plans_.push_back(runtime::Plan::compile(g, {}));
  }
}

Teacher Teacher::from_files(const std::vector<std::string>& files, const std::vector<std::string>& features,
                            const ir::Graph& student) {
  std::vector<ir::Graph> graphs;
  for (const std::string& f : files) graphs.push_back(io::load_onnx(f, ops::op_table()));
  return Teacher(std::move(graphs), files, features, student);
}

TeacherOutput Teacher::run(const Tensor& images) {
  TeacherOutput out;
  for (size_t i = 0; i < plans_.size(); ++i) {
    std::vector<Tensor> r = plans_[i].run({images});
    if (i == 0) {
      out.logits = r[0].clone();
      for (size_t f = 0; f < num_features_; ++f) out.features.push_back(r[1 + f]);
      continue;
    }
    float* acc = out.logits.data<float>();
    const float* add = r[0].data<float>();
    for (int64_t j = 0; j < out.logits.numel(); ++j) acc[j] += add[j];
  }
  if (plans_.size() > 1) {
    const float inv = 1.f / static_cast<float>(plans_.size());
    for (int64_t j = 0; j < out.logits.numel(); ++j) out.logits.data<float>()[j] *= inv;
  }
  return out;
}

}  // namespace leancnn::compress::distill
