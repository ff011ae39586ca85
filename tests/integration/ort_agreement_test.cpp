// ONNX Runtime loads what leancnn writes and agrees with it: every zoo model, saved with
// io::save_onnx, run on the same random input by ONNX Runtime (bench/peers/ort_run.js) and by
// runtime::Plan (and the reference Executor) agrees within 1e-4 relative. Skips when the peer is
// not installed (bench/peers/install.sh); CI never needs it. A second test checks one file named
// by the environment: the side-by-side harness bench/infer_vs_peers.sh runs it on each model.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "leancnn/core/cpu.h"
#include "leancnn/core/rng.h"
#include "leancnn/io/onnx.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/executor.h"
#include "leancnn/runtime/plan.h"
#include "op_harness.h"

#ifndef LEANCNN_SOURCE_DIR
#error "tests/CMakeLists.txt passes the source tree as LEANCNN_SOURCE_DIR"
#endif

namespace leancnn {
namespace {

namespace fs = std::filesystem;
static_assert(std::endian::native == std::endian::little, "raw f32 files are little-endian");

constexpr double kTolerance = 1e-4;  // max |a - b| / max(1, |b|), issue 4

// node on PATH, or "" when absent.
std::string find_node() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const fs::path p = fs::path(dir.empty() ? "." : dir) / "node";
    if (::access(p.c_str(), X_OK) == 0) return p.string();
  }
  return "";
}

// Why the peer cannot run ("" when it can).
std::string peer_missing(const std::string& node) {
  if (node.empty()) return "node is not on PATH (apt-get install nodejs; then bench/peers/install.sh)";
  const fs::path ort = fs::path(LEANCNN_SOURCE_DIR) / "bench/peers/node_modules/onnxruntime-node/package.json";
  if (!fs::exists(ort)) return "ONNX Runtime is not installed: run bench/peers/install.sh (" + ort.string() + " is absent)";
  return "";
}

std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_f32(const fs::path& p, const Tensor& t) {
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(t.data<float>()), static_cast<std::streamsize>(t.numel() * sizeof(float)));
  ASSERT_TRUE(out.good()) << "cannot write " << p;
}

// A fresh folder under the system temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "leancnn_ort_XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Runs `model` in ONNX Runtime on `input` (ort_run.js --run); the output has `out_shape`.
// Fails the test with ONNX Runtime's message (naming the node or attribute it rejects) when it
// cannot load or run the file.
Tensor run_ort(const std::string& node, const fs::path& model, const Tensor& input, const Shape& out_shape,
               const fs::path& dir, int threads) {
  const fs::path in = dir / "input.bin", out = dir / "output.bin", err = dir / "ort.err";
  write_f32(in, input);
  std::string shape;
  for (int64_t d : input.shape()) {
    if (!shape.empty()) shape += 'x';
    shape += std::to_string(d);
  }
  const std::string cmd = quoted(node) + " " + quoted(std::string(LEANCNN_SOURCE_DIR) + "/bench/peers/ort_run.js") + " " +
                          quoted(model.string()) + " --shape " + shape + " --threads " + std::to_string(threads) +
                          " --run " + quoted(in.string()) + " " + quoted(out.string()) + " >/dev/null 2>" +
                          quoted(err.string());
  const int rc = std::system(cmd.c_str());
  if (rc != 0) {
    ADD_FAILURE() << "ONNX Runtime failed on " << model.filename() << " (exit " << rc << "): " << read_text(err);
    return {};
  }
  Tensor dst = Tensor::empty(out_shape);
  std::ifstream f(out, std::ios::binary | std::ios::ate);
  const auto bytes = static_cast<int64_t>(f.tellg());
  if (bytes != dst.numel() * static_cast<int64_t>(sizeof(float))) {
    ADD_FAILURE() << "ONNX Runtime's output of " << model.filename() << " has " << bytes << " bytes, expected "
                  << dst.numel() * sizeof(float) << " (shape " << shape_str(out_shape) << ")";
    return {};
  }
  f.seekg(0);
  f.read(reinterpret_cast<char*>(dst.data<float>()), bytes);
  return dst;
}

// Every 1-D f32 initializer (BN scale, bias, running mean and variance; biases) drawn from
// [0.5, 1.5], so that BN folding is exercised with non-trivial statistics.
void randomize_vectors(ir::Graph& g, uint64_t seed) {
  Rng rng(seed);
  for (ir::ValueId id : g.initializers()) {
    const ir::Value& v = g.value(id);
    if (v.dtype == DType::f32 && v.shape.size() == 1) rng.fill_uniform(v.data, 0.5f, 1.5f);
  }
}

// Input size per model: the 28x28 models as trained here, stride-32 ImageNet models at 64x64 so
// that their last stage is wider than 1x1, the rest at CIFAR size.
Shape small_input(const std::string& name) {
  if (name == "resnet18" || name == "squeezenet1_1" || name.rfind("shufflenet", 0) == 0) return {3, 64, 64};
  if (name == "lenet5" || name.rfind("resnet", 0) == 0) return {1, 28, 28};
  return {3, 32, 32};
}

// Sets the thread count for one test and restores it after, also when the test throws.
class ThreadsFor {
 public:
  explicit ThreadsFor(int n) : saved_(num_threads()) { set_num_threads(n); }
  ~ThreadsFor() { set_num_threads(saved_); }

 private:
  int saved_;
};

class OrtAgreement : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = find_node();
    const std::string why = peer_missing(node_);
    if (!why.empty()) GTEST_SKIP() << why;
  }
  std::string node_;
};

TEST_F(OrtAgreement, EveryZooModelLoadsAndAgreesWithPlanAndReference) {
  // One thread in both runtimes keeps this fast on a loaded 2-core machine; the threaded
  // kernels are covered by the conformance suites.
  ThreadsFor one_thread(1);
  TempDir dir;
  const int64_t batch = 2;  // not the graph's 1: the file's symbolic batch dim must work in ORT too
  for (const auto& entry : models::zoo()) {
    SCOPED_TRACE(entry.name);
    const Shape chw = small_input(entry.name);
    ir::Graph g = models::build_model(entry.name, {chw, 10, 3}, ops::op_table());
    randomize_vectors(g, 17);
    const fs::path file = dir.path() / (entry.name + ".onnx");
    io::save_onnx(g, file.string());

    Rng rng(5);
    Tensor input = testing::random_tensor({batch, chw[0], chw[1], chw[2]}, rng);
    runtime::Plan plan = runtime::Plan::compile(g);
    const Tensor planned = plan.run({input}).at(0);
    const Tensor ort = run_ort(node_, file, input, planned.shape(), dir.path(), 1);
    if (!ort.defined()) continue;
    const double d_plan = testing::max_rel_diff(planned, ort);
    EXPECT_LE(d_plan, kTolerance) << "Plan vs ONNX Runtime";

    runtime::Executor ref(g, ops::op_table(), {.training = false, .use_kernels = false});
    const Tensor reference = ref.forward({{"input", input}}).at(0);
    const double d_ref = testing::max_rel_diff(reference, ort);
    EXPECT_LE(d_ref, kTolerance) << "reference Executor vs ONNX Runtime";
    float largest = 0.f;  // logits of this size make the 1e-4 bound a relative one
    for (int64_t i = 0; i < ort.numel(); ++i) largest = std::max(largest, std::abs(ort.at(i)));
    std::printf("  %-20s input %-9s batch %lld, |logits| <= %-8.3g max rel diff vs ONNX Runtime: plan %.3g, "
                "reference %.3g\n",
                entry.name.c_str(), shape_str(chw).c_str(), static_cast<long long>(batch), largest, d_plan, d_ref);
  }
}

// The file named by LEANCNN_ORT_AGREE_MODEL (batch LEANCNN_ORT_AGREE_BATCH, default 1; threads
// LEANCNN_ORT_AGREE_THREADS, default 1), as loaded by io::load_onnx and run by runtime::Plan,
// agrees with ONNX Runtime. Skipped when the variable is unset.
TEST_F(OrtAgreement, FileNamedByEnvironment) {
  const char* model = std::getenv("LEANCNN_ORT_AGREE_MODEL");
  if (model == nullptr) GTEST_SKIP() << "LEANCNN_ORT_AGREE_MODEL is not set (bench/infer_vs_peers.sh sets it)";
  auto env_int = [](const char* name, int64_t fallback) {
    const char* v = std::getenv(name);
    return v ? std::atoll(v) : fallback;
  };
  const int64_t batch = env_int("LEANCNN_ORT_AGREE_BATCH", 1);
  const int threads = static_cast<int>(env_int("LEANCNN_ORT_AGREE_THREADS", 1));
  ASSERT_GE(batch, 1);
  ASSERT_GE(threads, 1);
  ThreadsFor use_threads(threads);
  TempDir dir;
  ir::Graph g = io::load_onnx(model, ops::op_table());
  Shape shape = g.value(g.inputs().at(0)).shape;
  shape.at(0) = batch;
  Rng rng(7);
  Tensor input = testing::random_tensor(shape, rng);
  runtime::Plan plan = runtime::Plan::compile(g);
  const Tensor planned = plan.run({input}).at(0);
  const Tensor ort = run_ort(node_, model, input, planned.shape(), dir.path(), threads);
  ASSERT_TRUE(ort.defined());
  const double d = testing::max_rel_diff(planned, ort);
  EXPECT_LE(d, kTolerance) << "Plan vs ONNX Runtime on " << model;
  std::printf("max_rel_diff %.6g (%s, input %s)\n", d, model, shape_str(shape).c_str());
}

}  // namespace
}  // namespace leancnn
