// MobileNetV2's inverted residual blocks (224x224 input), at batch --batch (default 1), through
// runtime::Plan as a network runs them: `fused` (one ai.leancnn FusedInvertedResidual node run by
// the row pass, kernels/inverted_residual, at any size: the bench lifts the rule's threshold)
// against `convs` (the same block as three FusedConv nodes: oneDNN's 1x1 and depthwise kernels),
// activations channels-last on both sides; the time is the block's steps' (Plan profiling). Counters: GFLOP/s (2 x the block's MACs) and the
// ratio fused / convs is what inverted_residual_rule.cpp's table comes from (docs/fused_blocks.md).
//   inverted_residual_bench [--threads T] [--batch N] [google-benchmark flags, e.g. --benchmark_filter=b1_
//                            --benchmark_repetitions=5 --benchmark_report_aggregates_only=true]
// LEANCNN_MAX_CPU_ISA=avx2 ONEDNN_MAX_CPU_ISA=AVX2 runs both sides as on an AVX2-only CPU.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "leancnn/core/cpu.h"
#include "leancnn/core/rng.h"
#include "leancnn/ir/graph.h"
#include "leancnn/ir/passes.h"
#include "leancnn/kernels/inverted_residual_rule.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/plan.h"

namespace {
using namespace leancnn;

struct BlockSpec {
  const char* label;
  int64_t c, m, oc, hw, stride;  // m == c: no expansion
  bool residual;
};

// torchvision's mobilenet_v2 at 224x224: the first block of each stage, and the repeats that differ.
const BlockSpec kBlocks[] = {
    {"b0_32to16@112", 32, 32, 16, 112, 1, false},  {"b1_16x6to24@112s2", 16, 96, 24, 112, 2, false},
    {"b2_24x6to24@56", 24, 144, 24, 56, 1, true},  {"b3_24x6to32@56s2", 24, 144, 32, 56, 2, false},
    {"b4_32x6to32@28", 32, 192, 32, 28, 1, true},  {"b6_32x6to64@28s2", 32, 192, 64, 28, 2, false},
    {"b7_64x6to64@14", 64, 384, 64, 14, 1, true},  {"b10_64x6to96@14", 64, 384, 96, 14, 1, false},
    {"b11_96x6to96@14", 96, 576, 96, 14, 1, true}, {"b13_96x6to160@14s2", 96, 576, 160, 14, 2, false},
    {"b14_160x6to160@7", 160, 960, 160, 7, 1, true}, {"b16_160x6to320@7", 160, 960, 320, 7, 1, false},
};

int64_t g_batch = 1;

Tensor random_f(const Shape& s, uint64_t seed, float scale) {
  Tensor t = Tensor::empty(s);
  Rng rng(seed);
  rng.fill_uniform(t, -scale, scale);
  return t;
}

// in -> pre (3x3 conv) -> x -> [1x1 conv + ReLU6] -> depthwise 3x3 + ReLU6 -> 1x1 conv [+ x]
// -> post (1x1 conv), as ONNX nodes: pre and post hand the block NHWC activations, as its
// neighbours in the network do, and are not timed.
ir::Graph block_graph(const BlockSpec& b) {
  ir::Graph g;
  g.name = b.label;
  const ir::ValueId in = g.add_input("in", {1, b.c, b.hw, b.hw});
  uint64_t seed = 1;
  auto weight = [&](const char* name, const Shape& s) {
    return g.add_initializer(name, random_f(s, seed++, 0.3f), false);
  };
  const ir::ValueId lo = g.add_initializer("zero", Tensor::from_floats({}, {0.f}), false);
  const ir::ValueId hi = g.add_initializer("six", Tensor::from_floats({}, {6.f}), false);
  auto relu6 = [&](ir::ValueId v, const char* name) {
    const ir::ValueId out = g.add_value(std::string(name) + "_relu6");
    g.add_node("Clip", {v, lo, hi}, {out}, {}, std::string(name) + "_clip");
    return out;
  };
  const ir::ValueId x = g.add_value("x");
  ir::Attributes pre;  // 3x3: not a 1x1 the pass could take for b0's (absent) expansion
  pre.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  g.add_node("Conv", {in, weight("w_pre", {b.c, b.c, 3, 3})}, {x}, pre, "pre");
  ir::ValueId v = x;
  if (b.m != b.c) {
    const ir::ValueId e = g.add_value("e");
    g.add_node("Conv", {v, weight("we", {b.m, b.c, 1, 1}), weight("be", {b.m})}, {e}, {}, "expand");
    v = relu6(e, "expand");
  }
  ir::Attributes dw;
  dw.set("group", b.m);
  dw.set("kernel_shape", std::vector<int64_t>{3, 3});
  dw.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  dw.set("strides", std::vector<int64_t>{b.stride, b.stride});
  const ir::ValueId d = g.add_value("d");
  g.add_node("Conv", {v, weight("wd", {b.m, 1, 3, 3}), weight("bd", {b.m})}, {d}, dw, "dw");
  v = relu6(d, "dw");
  ir::ValueId y = g.add_value("p");
  g.add_node("Conv", {v, weight("wp", {b.oc, b.m, 1, 1}), weight("bp", {b.oc})}, {y}, {}, "project");
  if (b.residual) {
    const ir::ValueId sum = g.add_value("y");
    g.add_node("Add", {y, x}, {sum}, {}, "residual");
    y = sum;
  }
  const ir::ValueId out = g.add_value("out");
  g.add_node("Conv", {y, weight("w_post", {b.oc, b.oc, 1, 1})}, {out}, {}, "post");
  g.mark_output(out);
  ir::infer_shapes(g, ops::op_table());
  return g;
}

void bm_block(benchmark::State& st, const BlockSpec& b, bool fused) {
  runtime::PlanOptions opts;
  opts.fuse_blocks = fused;
  opts.threads = num_threads();
  runtime::Plan plan = runtime::Plan::compile(block_graph(b), opts);
  const std::vector<Tensor> in = {random_f({g_batch, b.c, b.hw, b.hw}, 99, 1.f)};
  plan.run(in);
  int64_t fused_steps = 0;
  for (const runtime::PlanStep& s : plan.steps()) fused_steps += s.op_type == "FusedInvertedResidual";
  if (fused_steps != (fused ? 1 : 0)) {
    st.SkipWithError(fused ? "the block was not fused (inverted_residual_rule.h refused it here)" : "fused without blocks");
    return;
  }
  plan.set_profiling(true);
  for (auto _ : st) {
    benchmark::DoNotOptimize(plan.run(in));
    double ms = 0;
    for (size_t i = 0; i < plan.steps().size(); ++i)
      if (plan.steps()[i].name != "pre" && plan.steps()[i].name != "post") ms += plan.step_ms()[i];
    if (ms <= 0) {
      st.SkipWithError("no step of the block was timed");
      break;
    }
    st.SetIterationTime(ms * 1e-3);
  }
  const int64_t oh = (b.hw - 1) / b.stride + 1;
  const double macs = static_cast<double>(g_batch) *
                      static_cast<double>((b.m != b.c ? b.c * b.m * b.hw * b.hw : 0) + (9 + b.oc) * b.m * oh * oh);
  st.counters["GFLOP/s"] = benchmark::Counter(2 * macs, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1;
  std::vector<char*> rest = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--batch") && i + 1 < argc) g_batch = std::max(1, std::atoi(argv[++i]));
    else rest.push_back(argv[i]);
  }
  const int64_t any_size = 0;  // every block fused, whatever the rule's size threshold
  kernels::inject_inverted_residual_min_bytes(&any_size);
  set_num_threads(threads);
  std::printf("inverted_residual_bench: batch %lld, %d thread(s), CPU %s (cap %s)\n", static_cast<long long>(g_batch),
              num_threads(), cpu_features().summary().c_str(),
              cpu_isa_name(max_cpu_isa()));
  for (const BlockSpec& b : kBlocks)
    for (const bool fused : {true, false})
      benchmark::RegisterBenchmark((std::string(b.label) + (fused ? "/fused" : "/convs")).c_str(), bm_block, b, fused)
          ->Unit(benchmark::kMicrosecond)
          ->UseManualTime();
  int n = static_cast<int>(rest.size());
  benchmark::Initialize(&n, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
