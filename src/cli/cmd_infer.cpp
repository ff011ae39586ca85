// `leancnn infer`: runs an ONNX model on inputs stored as ONNX TensorProto files (the format of
// the ONNX test data) and writes its outputs the same way, through the compiled plan
// (runtime::Plan) or, with --reference, the reference executor.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <iostream>
#include <map>
#include <set>

#include "commands.h"
#include "leancnn/core/error.h"
#include "leancnn/io/onnx.h"
#include "leancnn/io/tensor_proto.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/executor.h"
#include "leancnn/runtime/plan.h"

namespace leancnn::cli {

namespace {
struct InferOptions {
  std::string model_file;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  std::string save_model;
  bool reference = false;
};

// The input files in the graph's input order: by TensorProto name when every file names a
// distinct graph input, otherwise by position.
std::vector<Tensor> order_inputs(const ir::Graph& g, const std::vector<io::NamedTensor>& files,
                                 const std::vector<std::string>& paths) {
  if (files.size() != g.inputs().size())
    fail(ErrorKind::bad_input, "the model has ", g.inputs().size(), " inputs; --input gives ", files.size(), " files");
  std::set<std::string> names;
  for (const io::NamedTensor& f : files) {
    const ir::ValueId v = g.find_value(f.name);
    if (f.name.empty() || v == ir::kNone || std::find(g.inputs().begin(), g.inputs().end(), v) == g.inputs().end()) break;
    names.insert(f.name);
  }
  const bool by_name = names.size() == files.size();
  std::vector<Tensor> out(files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    size_t slot = i;
    if (by_name)
      slot = std::find(g.inputs().begin(), g.inputs().end(), g.find_value(files[i].name)) - g.inputs().begin();
    const ir::Value& v = g.value(g.inputs()[slot]);
    const Tensor& t = files[i].tensor;
    bool ok = t.dtype() == v.dtype && t.rank() == static_cast<int>(v.shape.size());
    for (size_t d = 1; ok && d < v.shape.size(); ++d) ok = t.shape()[d] == v.shape[d];
    if (!ok)
      fail(ErrorKind::bad_input, "file '", paths[i], "' holds ", dtype_name(t.dtype()), " ", shape_str(t.shape()),
           "; model input '", v.name, "' expects ", dtype_name(v.dtype), " ", shape_str(v.shape), " (any batch)");
    out[slot] = t;
  }
  return out;
}

int run_infer(const InferOptions& o, const CommonOptions& common) {
  const ir::OpTable& ops = ops::op_table();
  ir::Graph g = io::load_onnx(o.model_file, ops);
  if (!o.save_model.empty()) io::save_onnx(g, o.save_model);
  if (o.outputs.size() > g.outputs().size())
    fail(ErrorKind::bad_input, "the model has ", g.outputs().size(), " outputs; --output names ", o.outputs.size(), " files");
  std::vector<io::NamedTensor> files;
  for (const std::string& p : o.inputs) files.push_back(io::read_tensor_proto(p));
  const std::vector<Tensor> inputs = order_inputs(g, files, o.inputs);

  const auto t0 = std::chrono::steady_clock::now();
  std::vector<Tensor> outputs;
  if (o.reference) {
    runtime::Executor ex(g, ops, {.training = false, .use_kernels = false});
    std::map<std::string, Tensor> feeds;
    for (size_t i = 0; i < inputs.size(); ++i) feeds[g.value(g.inputs()[i]).name] = inputs[i];
    outputs = ex.forward(feeds);
  } else {
    runtime::Plan plan = runtime::Plan::compile(g);
    outputs = plan.run(inputs);
  }
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

  nlohmann::json written = nlohmann::json::array();
  for (size_t i = 0; i < outputs.size(); ++i) {
    const std::string& name = g.value(g.outputs()[i]).name;
    nlohmann::json w = {{"name", name}, {"shape", outputs[i].shape()}, {"dtype", dtype_name(outputs[i].dtype())}};
    if (i < o.outputs.size()) {
      io::write_tensor_proto(o.outputs[i], outputs[i], name);
      w["file"] = o.outputs[i];
    }
    written.push_back(w);
  }
  if (common.json) {
    std::cout << nlohmann::json{{"model", o.model_file},
                                {"engine", o.reference ? "reference" : "plan"},
                                {"ms", ms},  // compile (plan) and one run
                                {"outputs", written}}
                     .dump(2)
              << "\n";
  } else {
    for (const auto& w : written)
      std::cout << w["name"].get<std::string>() << " " << w["dtype"].get<std::string>() << " "
                << shape_str(w["shape"].get<Shape>())
                << (w.contains("file") ? " -> " + w["file"].get<std::string>() : std::string(" (not written)")) << "\n";
    std::cerr << "infer: " << (o.reference ? "reference executor" : "plan") << ", " << ms << " ms\n";
  }
  return 0;
}
}  // namespace

Runner register_infer(CLI::App& app, CommonOptions& common) {
  auto opts = std::make_shared<InferOptions>();
  CLI::App* cmd = app.add_subcommand("infer", "Run an ONNX model on TensorProto (.pb) input files, write .pb outputs");
  cmd->add_option("model_file", opts->model_file, "ONNX model")->required();
  cmd->add_option("--input", opts->inputs, "Input TensorProto file, one per model input (matched by tensor name, "
                  "else in order)")->required();
  cmd->add_option("--output", opts->outputs, "Output TensorProto file for the model's outputs in order (fewer "
                  "files than outputs: the first ones)");
  cmd->add_option("--save-model", opts->save_model, "Also write the imported model as leancnn writes ONNX "
                  "(opset 14, shape computations folded)");
  cmd->add_flag("--reference", opts->reference, "Run the reference executor (the oracle) instead of the plan");
  add_common_options(*cmd, common);
  cmd->footer("Examples:\n  leancnn infer model.onnx --input test_data_set_0/input_0.pb --output out_0.pb\n"
              "  leancnn infer model.onnx --input x.pb --output y.pb --save-model imported.onnx --json");
  return [opts, &common] { return run_infer(*opts, common); };
}

}  // namespace leancnn::cli
