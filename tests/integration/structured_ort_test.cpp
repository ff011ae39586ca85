// Structured pruning's exports run in ONNX Runtime with our outputs (issue 15): every zoo model
// and torchvision's resnet18 and mobilenet_v2 (exported by PyTorch, BN statistics randomised)
// are pruned by L1 to 30 % and 50 % fewer MACs, saved with io::save_onnx (default options), and ONNX Runtime's
// output of the saved file is compared with leancnn's plan on it: max |a - b| / max(1, |b|) <=
// 1e-4. For the imported models the pruned graph is also checked against the dense model with
// the same channels masked to zero (the zoo models have that check in unit/structured). Skips
// what it cannot run: ONNX Runtime absent (bench/peers/install.sh), or no PyTorch for the
// torchvision files (/usr/bin/python3 with python3-torch and python3-torchvision).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "leancnn/compress/structured/structured.h"
#include "leancnn/core/cpu.h"
#include "leancnn/core/rng.h"
#include "leancnn/io/onnx.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/executor.h"
#include "leancnn/runtime/plan.h"
#include "op_harness.h"
#include "ort_peer.h"
#include "structured_fixtures.h"

namespace leancnn {
namespace {

namespace st = compress::structured;
namespace fs = std::filesystem;


Tensor execute(ir::Graph g, const Tensor& x) {
  runtime::Executor exec(g, ops::op_table());
  return exec.forward({{g.value(g.inputs()[0]).name, x}}).at(0);
}


// Prunes g by L1 at 30 % and 50 % of its MACs, saves each, and compares ONNX Runtime on the file
// with the plan; `masked_oracle` also compares the pruned graph with the dense one masked.
void prune_and_compare(const std::string& node, const std::string& name, const ir::Graph& g, const Shape& input,
                       const fs::path& dir, bool masked_oracle) {
  SCOPED_TRACE(name);
  Rng rng(5);
  const Tensor x = testing::random_tensor({2, input[0], input[1], input[2]}, rng, 0.f, 1.f);
  for (double fraction : {0.3, 0.5}) {
    st::Spec spec;
    spec.target = fraction;
    const st::Report r = st::run(g, {}, {}, spec);
    EXPECT_LE(static_cast<double>(r.macs_after), (1 - fraction) * static_cast<double>(r.macs_before) * 1.0001) << fraction;
    const fs::path file = dir / (name + "_" + std::to_string(static_cast<int>(fraction * 100)) + ".onnx");
    io::save_onnx(r.graph, file.string());  // as `leancnn prune --structured` writes it
    const ir::Graph loaded = io::load_onnx(file.string(), ops::op_table());
    runtime::Plan plan = runtime::Plan::compile(loaded);
    const Tensor planned = plan.run({x}).at(0);
    const Tensor ort = testing::ort::run(node, file, x, planned.shape(), dir, 1);
    if (!ort.defined()) continue;
    const double d = testing::max_rel_diff(planned, ort);
    EXPECT_LE(d, testing::ort::kTolerance) << "plan vs ONNX Runtime at " << fraction;
    std::printf("  %-20s %2.0f %% MACs removed (%.1f %% asked): plan vs ONNX Runtime %.3g\n", name.c_str(),
                100.0 * (1 - static_cast<double>(r.macs_after) / static_cast<double>(r.macs_before)), 100 * fraction, d);
    if (masked_oracle) {
      const st::ChannelGraph cg = st::analyze(g);
      const std::set<int> removed = testing::first_units(cg, fraction);
      const double m = testing::max_rel_diff(execute(st::remove_units(g, cg, removed), x), execute(st::mask_units(g, cg, removed), x));
      EXPECT_LE(m, 1e-4) << "pruned vs dense-masked at " << fraction;
    }
  }
}

struct ZooCase {
  const char* name;
  Shape input;
};

TEST(StructuredOrt, EveryZooModelPrunedAt30And50PercentRunsInOnnxRuntimeWithOurOutputs) {
  LEANCNN_REQUIRE_ORT(node);
  const ThreadScope one_thread(1);
  testing::ort::TempDir dir;
  const ZooCase cases[] = {{"resnet20", {1, 28, 28}},         {"resnet56", {1, 28, 28}},       {"resnet18", {3, 32, 32}},
                           {"vgg_small", {1, 28, 28}},        {"lenet5", {1, 28, 28}},         {"small_cnn", {1, 28, 28}},
                           {"mobilenet_v1_0_5", {3, 32, 32}}, {"mobilenet_v2", {3, 32, 32}},   {"shufflenet_v2_x0_5", {3, 64, 64}},
                           {"squeezenet1_1", {3, 64, 64}}};
  for (const ZooCase& c : cases) {
    ir::Graph g = models::build_model(c.name, {.input = c.input, .classes = 10, .seed = 1}, ops::op_table());
    testing::randomize_batch_norms(g);
    prune_and_compare(node, c.name, g, c.input, dir.path(), false);
  }
}

TEST(StructuredOrt, TorchvisionResnet18AndMobilenetV2ImportedPruneAndRunInOnnxRuntime) {
  LEANCNN_REQUIRE_ORT(node);
  if (std::system("/usr/bin/python3 -c 'import torch, torchvision' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "no PyTorch: apt-get install python3-torch python3-torchvision (bench/peers/install.sh)";
  const ThreadScope one_thread(1);
  testing::ort::TempDir dir;
  for (const char* name : {"resnet18", "mobilenet_v2"}) {
    const fs::path file = dir.path() / (std::string("tv_") + name + ".onnx");
    const std::string script =
        "import torch, torchvision\n"
        "torch.manual_seed(0)\n"
        "m = torchvision.models." + std::string(name) + "()\n"
        "for b in m.modules():\n"
        "    if isinstance(b, torch.nn.BatchNorm2d):\n"
        "        b.running_mean.uniform_(-0.2, 0.2); b.running_var.uniform_(0.5, 2.0)\n"
        "        b.weight.data.uniform_(0.5, 1.5); b.bias.data.uniform_(-0.3, 0.3)\n"
        "m.eval()\n"
        "torch.onnx.export(m, torch.randn(1, 3, 64, 64), '" + file.string() + "', opset_version=13,\n"
        "                  input_names=['input'], output_names=['logits'], dynamic_axes={'input': {0: 'n'}, 'logits': {0: 'n'}})\n";
    const fs::path py = dir.path() / "export.py";
    {
      std::ofstream f(py);
      f << script;
    }
    ASSERT_EQ(std::system(("/usr/bin/python3 " + py.string() + " >/dev/null 2>&1").c_str()), 0) << "torch.onnx.export of " << name;
    const ir::Graph g = io::load_onnx(file.string(), ops::op_table());
    prune_and_compare(node, std::string("torchvision_") + name, g, {3, 64, 64}, dir.path(), true);
  }
}

}  // namespace
}  // namespace leancnn
