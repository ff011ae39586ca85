// Winograd vs oneDNN on the stride-1 3x3 layers of ResNet-18 (224x224 input) and ResNet-20
// (28x28), batch 1, as an inference plan runs them: FusedConv with bias + Relu, weights prepared
// once, activations channels-last (NHWC) on both sides. Variants per layer: dnnl (the
// dnnl_fused_conv_f32 kernel, oneDNN's direct convolution), wino_f2 and wino_f4 (our kernel
// forced to F(2x2,3x3) / F(4x4,3x3)) under each ISA this CPU has (avx512, avx2). Counters:
// GFLOP/s counted with the direct convolution's 2 * MACs (the "effective" rate, comparable across
// algorithms), and % of the fp32 peak of `--peak` GFLOP/s per thread (default 100: Zen 3/4 FMA).
// The table behind kernels/winograd/winograd_rule.cpp comes from this (docs/winograd.md).
//   winograd_bench [--threads T] [--peak GFLOPS] [google-benchmark flags, e.g.
//                  --benchmark_filter=64@56 --benchmark_repetitions=5 --benchmark_report_aggregates_only=true]
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "leancnn/core/cpu.h"
#include "leancnn/core/rng.h"
#include "leancnn/ir/graph.h"
#include "leancnn/kernels/kernel.h"
#include "leancnn/kernels/winograd_rule.h"
#include "leancnn/ops/op_table.h"

namespace {
using namespace leancnn;

struct LayerSpec {
  const char* label;
  int64_t ic, oc, hw;
};

const LayerSpec kLayers[] = {
    {"r18_64@56", 64, 64, 56},    {"r18_128@28", 128, 128, 28}, {"r18_256@14", 256, 256, 14},
    {"r18_512@7", 512, 512, 7},   {"r20_3to16@28", 3, 16, 28},  {"r20_16@28", 16, 16, 28},
    {"r20_32@14", 32, 32, 14},    {"r20_64@7", 64, 64, 7},
    // ResNet-20 after structured pruning (channel counts below the rule's 16, and odd ones).
    {"r20p_8@28", 8, 8, 28},      {"r20p_12@28", 12, 12, 28},   {"r20p_11@28", 11, 11, 28},
    {"r20p_22@14", 22, 22, 14},   {"r20p_44@7", 44, 44, 7},
    // The small CNN's second conv (after a 2x2 pool).
    {"scnn_32to64@14", 32, 64, 14},
};

double g_peak = 100.0;

Tensor random_f(const Shape& s, uint64_t seed) {
  Tensor t = Tensor::empty(s);
  Rng rng(seed);
  rng.fill_uniform(t, -1.f, 1.f);
  return t;
}

// One prepared FusedConv node (x NHWC in, y NHWC out) through a named kernel.
struct Layer {
  ir::Graph graph;
  std::vector<Tensor> inputs;
  Tensor dst;
  const kernels::Kernel* kernel = nullptr;
  std::shared_ptr<const void> state;

  Layer(const LayerSpec& s, const std::string& name, int tile) {
    const Shape x{1, s.ic, s.hw, s.hw}, w{s.oc, s.ic, 3, 3}, y{1, s.oc, s.hw, s.hw};
    ir::Attributes attrs;
    attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
    attrs.set("activation", std::string("Relu"));
    inputs = {random_f(x, 1), random_f(w, 2), random_f({s.oc}, 3)};
    dst = Tensor::zeros(y);
    std::vector<ir::ValueId> in{graph.add_input("x", x, DType::f32)};
    in.push_back(graph.add_initializer("w", inputs[1], false));
    in.push_back(graph.add_initializer("b", inputs[2], false));
    graph.add_node("FusedConv", in, {graph.add_value("y")}, attrs, s.label, ir::kLeancnnDomain);
    for (const kernels::Kernel& k : kernels::kernel_list(ops::op_table().get(graph.node(0))))
      if (k.name == name) kernel = &k;
    if (!kernel) {
      std::fprintf(stderr, "winograd_bench: no kernel %s\n", name.c_str());
      std::exit(1);
    }
    kernels::inject_winograd_tile(tile ? &tile : nullptr);
    ir::ForwardCtx c = ctx();
    const std::string why = kernel->check_forward ? kernel->check_forward(c) : "";
    if (!why.empty()) {
      std::fprintf(stderr, "winograd_bench: %s declined %s: %s\n", name.c_str(), s.label, why.c_str());
      std::exit(1);
    }
    state = kernel->prepare(c);
    kernels::inject_winograd_tile(nullptr);
  }
  ir::ForwardCtx ctx() const {
    ir::ForwardCtx c{graph.node(0), inputs, {dst}};
    c.prepared = state.get();
    c.channels_last = ir::channels_last_input(0) | ir::channels_last_output(0);
    return c;
  }
};

void run_layer(benchmark::State& st, const LayerSpec& s, const std::string& kernel, int tile) {
  Layer layer(s, kernel, tile);
  ir::ForwardCtx c = layer.ctx();
  for (auto _ : st) layer.kernel->forward(c);
  const double flops = 2.0 * s.ic * s.oc * s.hw * s.hw * 9;
  st.counters["GFLOPs"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  st.counters["peak%"] = benchmark::Counter(flops * 1e-9 * 100.0 / (g_peak * std::max(1, num_threads())),
                                            benchmark::Counter::kIsIterationInvariantRate);
}

void register_all() {
  const CpuFeatures& f = cpu_features();
  std::vector<std::string> isas;
  if (f.avx512f && f.avx2 && f.fma) isas.push_back("avx512");
  if (f.avx2 && f.fma) isas.push_back("avx2");
  for (const LayerSpec& s : kLayers) {
    benchmark::RegisterBenchmark((std::string(s.label) + "/dnnl").c_str(),
                                 [s](benchmark::State& st) { run_layer(st, s, "dnnl_fused_conv_f32", 0); })
        ->Unit(benchmark::kMicrosecond);
    for (const std::string& isa : isas)
      for (int tile : {2, 4})
        benchmark::RegisterBenchmark((std::string(s.label) + "/wino_f" + std::to_string(tile) + "_" + isa).c_str(),
                                     [s, isa, tile](benchmark::State& st) {
                                       run_layer(st, s, "cpu_fused_conv_f32_winograd_" + isa, tile);
                                     })
            ->Unit(benchmark::kMicrosecond);
  }
}
}  // namespace

int main(int argc, char** argv) {
  int threads = 1;
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--peak") && i + 1 < argc) g_peak = std::atof(argv[++i]);
    else rest.push_back(argv[i]);
  }
  set_num_threads(threads);
  std::printf("winograd_bench: %d thread(s), peak %.0f GFLOP/s per thread, CPU %s (cap %s)\n", num_threads(), g_peak,
              cpu_features().summary().c_str(), cpu_isa_name(max_cpu_isa()));
  register_all();
  int n = static_cast<int>(rest.size());
  benchmark::Initialize(&n, rest.data());
  if (benchmark::ReportUnrecognizedArguments(n, rest.data())) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
