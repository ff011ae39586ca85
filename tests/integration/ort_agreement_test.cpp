// ONNX Runtime loads what leancnn writes and agrees with it: every zoo model, saved with
// io::save_onnx, run on the same random input by ONNX Runtime (bench/peers/ort_run.js) and by
// runtime::Plan (and the reference Executor) agrees within 1e-4 relative. Skips when the peer is
// not installed (bench/peers/install.sh); CI never needs it. A second test checks one file named
// by the environment: the side-by-side harness bench/infer_vs_peers.sh runs it on each model.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "leancnn/compress/prune/prune.h"
#include "leancnn/core/cpu.h"
#include "leancnn/core/rng.h"
#include "leancnn/io/onnx.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/executor.h"
#include "leancnn/runtime/plan.h"
#include "op_harness.h"
#include "ort_peer.h"

namespace leancnn {
namespace {

namespace fs = std::filesystem;
using testing::ort::kTolerance;
using testing::ort::TempDir;

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

class OrtAgreement : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = testing::ort::find_node();
    const std::string why = testing::ort::peer_missing(node_);
    if (!why.empty()) GTEST_SKIP() << why;
  }
  std::string node_;
};

TEST_F(OrtAgreement, EveryZooModelLoadsAndAgreesWithPlanAndReference) {
  // One thread in both runtimes keeps this fast on a loaded 2-core machine; the threaded
  // kernels are covered by the conformance suites.
  const ThreadScope one_thread(1);
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
    const Tensor ort = testing::ort::run(node_, file, input, planned.shape(), dir.path(), 1);
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

// A pruned model's two files (issue 14): the sparse one leancnn writes by default (non-zeros only,
// ai.leancnn SparseToDense) and the plain dense export (`leancnn prune --dense`). leancnn's plan
// runs the sparse file (its sparse kernels take the layers past their crossover), ONNX Runtime
// the dense one: the same outputs within 1e-4, and the sparse file is the smaller.
TEST_F(OrtAgreement, PrunedSparseFileAndItsDenseExportAgree) {
  const ThreadScope one_thread(1);
  TempDir dir;
  for (const std::string name : {"small_cnn", "resnet20"}) {
    SCOPED_TRACE(name);
    ir::Graph g = models::build_model(name, {{1, 28, 28}, 10, 3}, ops::op_table());
    randomize_vectors(g, 23);
    compress::prune::Spec spec;
    spec.mask.sparsity = 0.9;
    const ir::Graph pruned = compress::prune::run(g, {}, {}, spec).graph;
    const fs::path sparse_file = dir.path() / (name + ".onnx"), dense_file = dir.path() / (name + "_dense.onnx");
    io::save_onnx(pruned, sparse_file.string());
    io::OnnxSaveOptions dense;
    dense.sparse_storage = false;
    io::save_onnx(pruned, dense_file.string(), dense);
    EXPECT_LT(fs::file_size(sparse_file), fs::file_size(dense_file) / 3) << "the sparse file stores the non-zeros only";

    Rng rng(9);
    Tensor input = testing::random_tensor({2, 1, 28, 28}, rng);
    runtime::Plan plan = runtime::Plan::compile(io::load_onnx(sparse_file.string(), ops::op_table()));
    const Tensor planned = plan.run({input}).at(0);
    const Tensor ort = testing::ort::run(node_, dense_file, input, planned.shape(), dir.path(), 1);
    if (!ort.defined()) continue;
    const double d = testing::max_rel_diff(planned, ort);
    EXPECT_LE(d, kTolerance) << "plan on the sparse file vs ONNX Runtime on the dense export";
    std::printf("  %-10s 90 %% sparse: file %lld bytes (dense export %lld), max rel diff vs ONNX Runtime %.3g\n",
                name.c_str(), static_cast<long long>(fs::file_size(sparse_file)),
                static_cast<long long>(fs::file_size(dense_file)), d);
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
  const ThreadScope use_threads(threads);
  TempDir dir;
  ir::Graph g = io::load_onnx(model, ops::op_table());
  Shape shape = g.value(g.inputs().at(0)).shape;
  shape.at(0) = batch;
  Rng rng(7);
  Tensor input = testing::random_tensor(shape, rng);
  runtime::Plan plan = runtime::Plan::compile(g);
  const Tensor planned = plan.run({input}).at(0);
  const Tensor ort = testing::ort::run(node_, model, input, planned.shape(), dir.path(), threads);
  ASSERT_TRUE(ort.defined());
  const double d = testing::max_rel_diff(planned, ort);
  EXPECT_LE(d, kTolerance) << "Plan vs ONNX Runtime on " << model;
  std::printf("max_rel_diff %.6g (%s, input %s)\n", d, model, shape_str(shape).c_str());
}

}  // namespace
}  // namespace leancnn
