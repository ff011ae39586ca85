// ONNX backend conformance: every test of Debian's libonnx-testdata (data/node,
// pytorch-converted, pytorch-operator, simple) whose model uses only ops leancnn reads is
// loaded with io::load_onnx, run on each test_data_set_*/input_*.pb through the compiled plan
// and the reference executor, and compared with output_*.pb at ONNX's own tolerance (rtol 1e-3,
// atol 1e-7, as onnx/backend/test/runner does). Tests listed in onnx_backend_skips.txt must
// fail (cleanly: an Error, never a crash) and are counted as skipped; a listed test that passes
// or does not exist is a failure, so the list stays exact. Prints passed/skipped/unsupported.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "leancnn/core/error.h"
#include "leancnn/io/onnx.h"
#include "leancnn/io/tensor_proto.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/executor.h"
#include "leancnn/runtime/plan.h"

namespace leancnn {
namespace {

namespace fs = std::filesystem;

constexpr double kRtol = 1e-3;
constexpr double kAtol = 1e-7;
const char* const kSuites[] = {"node", "pytorch-converted", "pytorch-operator", "simple"};

fs::path data_root() {
  if (const char* env = std::getenv("LEANCNN_ONNX_TESTDATA")) return env;
  return "/usr/share/libonnx-testdata/data";
}

// test name -> reason, from the checked-in list (lines "name  reason"; '#' starts a comment).
std::map<std::string, std::string> read_skips() {
  // From the source tree, not __FILE__: a compiler launcher (ccache with base_dir) may make
  // __FILE__ relative to the build folder.
  const fs::path p = fs::path(LEANCNN_SOURCE_DIR) / "tests/conformance/onnx_backend_skips.txt";
  std::ifstream in(p);
  EXPECT_TRUE(in) << "cannot read " << p;
  std::map<std::string, std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    std::string name, reason;
    ss >> name;
    std::getline(ss >> std::ws, reason);
    EXPECT_FALSE(reason.empty()) << "skip entry without a reason: " << name;
    EXPECT_TRUE(out.emplace(name, reason).second) << "skip entry twice: " << name;
  }
  return out;
}

// The ai.onnx ops load_onnx reads at run time: the op table's and those it rewrites.
std::set<std::string> readable_ops() {
  std::set<std::string> out;
  for (const std::string& n : ops::op_table().names())
    if (n.find("::") == std::string::npos) out.insert(n);
  for (const std::string& n : io::onnx_import_ops().rewritten) out.insert(n);
  return out;
}

// What the harness needs to know of a model file before loading it.
struct ModelInfo {
  std::set<std::string> ops;          // op types ("domain::Op" outside ai.onnx); {""} if unparsable
  std::vector<std::string> inputs;    // graph inputs that are no initializers, in order
  std::set<std::string> parameters;   // those read in a parameter slot (see parameter_inputs)
};

// The node tests feed as run-time inputs what leancnn needs at load time: a Reshape's shape,
// Pad's pads, Clip's bounds, Split's sizes, Dropout's ratio (the inputs an op's schema lists
// as non-differentiable), the axes of Squeeze and Unsqueeze and the bounds of Slice. The harness gives those values at load time (OnnxLoadOptions::
// constant_inputs); the op computes the same either way.
ModelInfo model_info(const fs::path& model) {
  std::ifstream in(model, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  onnx::ModelProto m;
  ModelInfo info;
  if (!m.ParseFromString(bytes.str())) return {{""}, {}, {}};
  std::set<std::string> inits;
  for (const onnx::TensorProto& t : m.graph().initializer()) inits.insert(t.name());
  for (const onnx::ValueInfoProto& v : m.graph().input())
    if (!inits.count(v.name())) info.inputs.push_back(v.name());
  for (const onnx::NodeProto& n : m.graph().node()) {
    const bool core = n.domain().empty() || n.domain() == "ai.onnx";
    info.ops.insert((core ? "" : n.domain() + "::") + n.op_type());
    std::vector<int> slots;
    if (const ir::OpSchema* s = core ? ops::op_table().find("", n.op_type()) : nullptr) slots = s->non_differentiable_inputs;
    if (core && (n.op_type() == "Squeeze" || n.op_type() == "Unsqueeze")) slots = {1};  // axes (opset 13)
    if (core && n.op_type() == "Slice") slots = {1, 2, 3, 4};  // starts, ends, axes, steps (opset 10)
    for (int slot : slots)
      if (slot < n.input_size() && std::count(info.inputs.begin(), info.inputs.end(), n.input(slot)))
        info.parameters.insert(n.input(slot));
  }
  return info;
}

// Files prefix_0.pb, prefix_1.pb, ... of a data set folder, in index order.
std::vector<fs::path> numbered(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> out;
  for (int i = 0; fs::exists(dir / (prefix + "_" + std::to_string(i) + ".pb")); ++i)
    out.push_back(dir / (prefix + "_" + std::to_string(i) + ".pb"));
  return out;
}

// Element i of a contiguous tensor of any whole-byte dtype, as a double.
double element(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::f32: return t.data<float>()[i];
    case DType::s64: return static_cast<double>(t.data<int64_t>()[i]);
    case DType::s32: return t.data<int32_t>()[i];
    case DType::s8: return static_cast<const int8_t*>(t.raw())[i];
    case DType::u8: return static_cast<const uint8_t*>(t.raw())[i];
    default: fail(ErrorKind::internal, "no element access for ", dtype_name(t.dtype()));
  }
}

// "" when got matches want at ONNX's tolerance (exactly for integer types), else what differs.
std::string compare(const Tensor& got, const Tensor& want) {
  if (got.shape() != want.shape()) return "shape " + shape_str(got.shape()) + ", expected " + shape_str(want.shape());
  if (got.dtype() != want.dtype()) return str_cat("dtype ", dtype_name(got.dtype()), ", expected ", dtype_name(want.dtype()));
  const Tensor gc = got.is_contiguous() ? got : got.clone();
  const Tensor wc = want.is_contiguous() ? want : want.clone();
  for (int64_t i = 0; i < got.numel(); ++i) {
    const double a = element(gc, i), b = element(wc, i);
    const bool ok = std::isnan(b) ? std::isnan(a) : std::fabs(a - b) <= kAtol + kRtol * std::fabs(b) || a == b;
    if (!ok) return str_cat("element ", i, " is ", a, ", expected ", b);
  }
  return "";
}

// Runs one test folder; "" when every data set matches through both engines, else the first problem.
std::string run_test(const fs::path& dir, const ModelInfo& info) {
  std::vector<fs::path> sets;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0) sets.push_back(e.path());
  std::sort(sets.begin(), sets.end());
  if (sets.empty()) return "no test_data_set_* folder";
  try {
    for (const fs::path& set : sets) {
      const std::vector<fs::path> files = numbered(set, "input");
      if (files.size() != info.inputs.size())
        return str_cat(set.filename().string(), ": ", files.size(), " input files for ", info.inputs.size(), " inputs");
      io::OnnxLoadOptions options;
      std::map<std::string, Tensor> feeds;
      for (size_t i = 0; i < files.size(); ++i) {
        const Tensor t = io::read_tensor_proto(files[i].string()).tensor;
        (info.parameters.count(info.inputs[i]) ? options.constant_inputs : feeds)[info.inputs[i]] = t;
      }
      ir::Graph g;
      try {
        g = io::load_onnx((dir / "model.onnx").string(), ops::op_table(), options);
      } catch (const Error& e) {
        return std::string("load: ") + e.what();
      }
      std::vector<Tensor> inputs;
      for (ir::ValueId v : g.inputs()) inputs.push_back(feeds.at(g.value(v).name));
      runtime::Plan plan = runtime::Plan::compile(g);
      runtime::Executor ref(g, ops::op_table(), {.training = false, .use_kernels = false});
      const std::vector<fs::path> want = numbered(set, "output");
      const std::vector<Tensor> by_plan = plan.run(inputs), by_ref = ref.forward(feeds);
      if (by_plan.size() < want.size())
        return str_cat(set.filename().string(), ": ", by_plan.size(), " outputs, expected ", want.size());
      for (size_t i = 0; i < want.size(); ++i) {
        const Tensor w = io::read_tensor_proto(want[i].string()).tensor;
        std::string why = compare(by_plan[i], w);
        if (!why.empty()) return str_cat(set.filename().string(), " output ", i, " (plan): ", why);
        why = compare(by_ref[i], w);
        if (!why.empty()) return str_cat(set.filename().string(), " output ", i, " (reference): ", why);
      }
    }
  } catch (const Error& e) {
    return std::string("run: ") + e.what();
  }
  return "";
}

TEST(OnnxBackend, SupportedOpsMatchTheReferenceOutputs) {
  const fs::path root = data_root();
  if (!fs::exists(root / "node"))
    GTEST_SKIP() << "ONNX test data not found at " << root
                 << " (install Debian's libonnx-testdata: scripts/install-deps.sh, or set LEANCNN_ONNX_TESTDATA)";
  const std::map<std::string, std::string> skips = read_skips();
  const std::set<std::string> readable = readable_ops();
  std::set<std::string> seen_skips;
  int passed = 0, skipped = 0, unsupported = 0, bound = 0;
  for (const char* suite : kSuites) {
    if (!fs::exists(root / suite)) continue;
    std::vector<fs::path> tests;
    for (const auto& e : fs::directory_iterator(root / suite))
      if (fs::exists(e.path() / "model.onnx")) tests.push_back(e.path());
    std::sort(tests.begin(), tests.end());
    int suite_passed = 0, suite_skipped = 0, suite_unsupported = 0;
    for (const fs::path& dir : tests) {
      const std::string name = dir.filename().string();
      const ModelInfo info = model_info(dir / "model.onnx");
      const bool supported =
          std::all_of(info.ops.begin(), info.ops.end(), [&](const std::string& op) { return readable.count(op) != 0; });
      auto skip = skips.find(name);
      if (!supported) {
        ++suite_unsupported;
        EXPECT_EQ(skip, skips.end()) << name << " is in the skip list but uses ops leancnn does not read";
        continue;
      }
      const std::string why = run_test(dir, info);
      if (skip != skips.end()) {
        seen_skips.insert(name);
        ++suite_skipped;
        EXPECT_FALSE(why.empty()) << name << " passes now: remove it from onnx_backend_skips.txt";
        continue;
      }
      EXPECT_EQ(why, "") << suite << "/" << name;
      suite_passed += why.empty();
      bound += why.empty() && !info.parameters.empty();
    }
    std::cout << "[ onnx backend ] " << suite << ": " << suite_passed << " passed, " << suite_skipped << " skipped, "
              << suite_unsupported << " unsupported (ops leancnn does not read)\n";
    passed += suite_passed;
    skipped += suite_skipped;
    unsupported += suite_unsupported;
  }
  for (const auto& [name, reason] : skips)
    EXPECT_TRUE(seen_skips.count(name)) << "skip entry '" << name << "' names no test of a supported op";
  std::cout << "[ onnx backend ] total: " << passed << " passed (" << bound
            << " with parameter inputs given at load), " << skipped << " skipped, " << unsupported << " unsupported\n";
  RecordProperty("passed", passed);
  RecordProperty("skipped", skipped);
  RecordProperty("unsupported", unsupported);
  EXPECT_GT(passed, 0);
}

}  // namespace
}  // namespace leancnn
