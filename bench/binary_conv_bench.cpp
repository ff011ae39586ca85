// Binary (XNOR-popcount) vs fp32 layers and models at batch 1, each through runtime::Plan as
// inference runs them: the fp32 layer is a Conv (or Gemm) on oneDNN; the binary layer is
// ai.leancnn Binarize -> Conv with ±alpha weights, which the plan fuses into BinaryConv on the
// XNOR kernels (kernels/binary: AVX-512 VPOPCNTDQ where present; run under
// LEANCNN_MAX_CPU_ISA=avx2 for the vpshufb path). Whole models: resnet20 (1x28x28) f32 vs the same
// model binarized by XNOR-Net (compress/binarize, untrained weights: speed only). Compare the two
// rows of each pair (same run); google-benchmark's --benchmark_repetitions gives medians.
//   binary_conv_bench [--benchmark_filter=...] [--benchmark_repetitions=5]
#include <benchmark/benchmark.h>

#include <string>

#include "leancnn/compress/binarize/binarize.h"
#include "leancnn/core/cpu.h"
#include "leancnn/core/rng.h"
#include "leancnn/ir/passes.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/plan.h"

namespace {
using namespace leancnn;

struct LayerSpec {
  const char* label;
  int64_t ic, oc, hw, k;  // hw 0: fully connected (ic = K)
};

const LayerSpec kLayers[] = {
    {"3x3_256to256@14", 256, 256, 14, 3}, {"3x3_128to128@28", 128, 128, 28, 3}, {"3x3_64to64@56", 64, 64, 56, 3},
    {"3x3_64to64@7", 64, 64, 7, 3},       {"1x1_256to256@14", 256, 256, 14, 1}, {"fc_512to1000", 512, 1000, 0, 1},
    {"fc_4096to4096", 4096, 4096, 0, 1},
};

ir::Graph layer_graph(const LayerSpec& s, bool binary) {
  ir::Graph g;
  Rng rng(1);
  const bool fc = s.hw == 0;
  const Shape x = fc ? Shape{1, s.ic} : Shape{1, s.ic, s.hw, s.hw};
  Tensor w = Tensor::empty(fc ? Shape{s.oc, s.ic} : Shape{s.oc, s.ic, s.k, s.k});
  rng.fill_uniform(w, -1.f, 1.f);
  if (binary) {  // rows ±alpha
    const int64_t inner = w.numel() / s.oc;
    for (int64_t i = 0; i < w.numel(); ++i) w.data<float>()[i] = (w.data<float>()[i] >= 0 ? 0.1f : -0.1f) * (1 + i / inner % 3);
  }
  Tensor b = Tensor::empty({s.oc});
  rng.fill_uniform(b, -1.f, 1.f);
  ir::ValueId in = g.add_input("input", x);
  if (binary) {
    const ir::ValueId sx = g.add_value("sign");
    g.add_node("Binarize", {in}, {sx}, {}, "binarize", ir::kLeancnnDomain);
    in = sx;
  }
  const ir::ValueId wv = g.add_initializer("w", w, false), bv = g.add_initializer("b", b, false);
  const ir::ValueId y = g.add_value("y");
  ir::Attributes a;
  if (fc) {
    a.set("transB", int64_t{1});
    g.add_node("Gemm", {in, wv, bv}, {y}, a, "layer");
  } else {
    const int64_t p = s.k / 2;
    a.set("pads", std::vector<int64_t>{p, p, p, p});
    g.add_node("Conv", {in, wv, bv}, {y}, a, "layer");
  }
  g.mark_output(y);
  ir::infer_shapes(g, ops::op_table());  // Plan::compile needs every value's shape
  return g;
}

void run_plan(benchmark::State& state, const ir::Graph& g, const Shape& input, int64_t macs) {
  runtime::Plan plan = runtime::Plan::compile(g, {.threads = 1});
  Tensor x = Tensor::empty(input);
  Rng rng(2);
  rng.fill_uniform(x, -1.f, 1.f);
  plan.run({x});
  std::string kernels;
  for (const runtime::PlanStep& s : plan.steps())
    if (s.macs > 0) kernels += (kernels.empty() ? "" : ",") + s.kernel;
  for (auto _ : state) benchmark::DoNotOptimize(plan.run({x}));
  state.SetLabel(kernels + " " + cpu_isa_name(max_cpu_isa()));
  state.counters["GMAC/s"] = benchmark::Counter(static_cast<double>(macs), benchmark::Counter::kIsIterationInvariantRate,
                                                benchmark::Counter::kIs1000);
}

void BM_Layer(benchmark::State& state, LayerSpec s, bool binary) {
  const bool fc = s.hw == 0;
  const int64_t macs = s.ic * s.oc * s.k * s.k * (fc ? 1 : s.hw * s.hw);
  run_plan(state, layer_graph(s, binary), fc ? Shape{1, s.ic} : Shape{1, s.ic, s.hw, s.hw}, macs);
}

void BM_ResNet20(benchmark::State& state, bool binary) {
  const ir::Graph g = models::build_model("resnet20", {.input = {1, 28, 28}, .classes = 10, .seed = 3}, ops::op_table());
  const ir::Graph model = binary ? compress::binarize::run(g, {}, {}, {}).graph : g;
  run_plan(state, model, {1, 1, 28, 28}, 0);
}

const bool registered = [] {
  for (const LayerSpec& s : kLayers) {
    benchmark::RegisterBenchmark((std::string("layer/") + s.label + "/f32").c_str(), BM_Layer, s, false)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((std::string("layer/") + s.label + "/binary").c_str(), BM_Layer, s, true)->Unit(benchmark::kMicrosecond);
  }
  benchmark::RegisterBenchmark("model/resnet20@28/f32", BM_ResNet20, false)->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("model/resnet20@28/xnor", BM_ResNet20, true)->Unit(benchmark::kMicrosecond);
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
