// ONNX Runtime runs every decomposition method's export with leancnn's outputs: the small CNN
// (every layer where the method saves something, untrained weights, random input, batch 2) by each
// conv method (channel_svd, spatial_svd, tucker2, cp) and each FC method (svd, tt, tr), saved
// with io::save_onnx and run by ONNX Runtime (bench/peers/ort_run.js), by runtime::Plan and by
// the reference Executor: max |a - b| / max(1, |b|) <= 1e-4. Skips when the peer is absent.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "leancnn/compress/decompose/decompose.h"
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

namespace d = compress::decompose;
namespace fs = std::filesystem;

struct MethodPair {
  d::Method conv, fc;
};

TEST(DecomposeOrt, EveryMethodsExportRunsInOnnxRuntimeWithOurOutputs) {
  LEANCNN_REQUIRE_ORT(node);
  const ThreadScope one_thread(1);
  testing::ort::TempDir dir;
  const ir::Graph g = models::build_model("small_cnn", {.input = {1, 28, 28}, .classes = 10, .seed = 3}, ops::op_table());
  const MethodPair pairs[] = {{d::Method::channel_svd, d::Method::svd},
                              {d::Method::spatial_svd, d::Method::tt},
                              {d::Method::tucker2, d::Method::tr},
                              {d::Method::cp, d::Method::tt}};
  for (const MethodPair& p : pairs) {
    const std::string name = std::string(d::method_name(p.conv)) + "+" + d::method_name(p.fc);
    SCOPED_TRACE(name);
    d::Spec spec;
    spec.conv_method = p.conv;
    spec.fc_method = p.fc;
    spec.rank_rule = d::RankRule::ratio;
    spec.rank_ratio = 0.3;
    spec.keep_first = false;
    spec.factor.cp_iters = 10;
    const d::Report r = d::run(g, {}, {}, spec);
    // conv2 by the conv method and fc1 by the FC method at least (conv1's one input channel and
    // fc2's ten outputs may leave nothing to save).
    ASSERT_EQ(r.layers.size(), 4u);
    EXPECT_EQ(r.layers[1].method, d::method_name(p.conv));
    EXPECT_EQ(r.layers[2].method, d::method_name(p.fc));
    const fs::path file = dir.path() / (d::method_name(p.conv) + std::string("_") + d::method_name(p.fc) + ".onnx");
    io::save_onnx(r.graph, file.string());
    ir::Graph loaded = io::load_onnx(file.string(), ops::op_table());

    Rng rng(5);
    const Tensor input = testing::random_tensor({2, 1, 28, 28}, rng);
    runtime::Plan plan = runtime::Plan::compile(loaded);
    const Tensor planned = plan.run({input}).at(0);
    const Tensor ort = testing::ort::run(node, file, input, planned.shape(), dir.path(), 1);
    if (!ort.defined()) continue;
    runtime::Executor ref(loaded, ops::op_table(), {.training = false, .use_kernels = false});
    const Tensor reference = ref.forward({{"input", input}}).at(0);
    const double d_plan = testing::max_rel_diff(planned, ort), d_ref = testing::max_rel_diff(reference, ort);
    EXPECT_LE(d_plan, testing::ort::kTolerance) << "Plan vs ONNX Runtime";
    EXPECT_LE(d_ref, testing::ort::kTolerance) << "reference Executor vs ONNX Runtime";
    std::printf("  %-22s max rel diff vs ONNX Runtime: plan %.3g, reference %.3g\n", name.c_str(), d_plan, d_ref);
  }
}

}  // namespace
}  // namespace leancnn
