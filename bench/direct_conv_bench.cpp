// Direct convolution vs oneDNN on the layers where oneDNN's batch-1 channels-last kernels were
// slow (ResNet-18's strided 3x3 and 1x1, its 512-channel layers at 7x7, the 7x7 stem;
// MobileNetV2's 1x1 layers; ResNet-20's), batch 1, as an inference plan runs them: FusedConv with
// bias + Relu, weights prepared once, activations channels-last (NHWC) on both sides. Variants
// per layer: dnnl (the dnnl_fused_conv_f32 kernel) and direct_<isa> (our kernel, forced) under
// each ISA this CPU has. Counters: GFLOP/s (2 * MACs) and % of the fp32 peak of `--peak` GFLOP/s
// per thread (default 100). The table behind kernels/direct/direct_rule.cpp comes from this
// (docs/direct_conv.md).
//   direct_conv_bench [--threads T] [--peak GFLOPS] [google-benchmark flags, e.g.
//                     --benchmark_filter=512@7 --benchmark_repetitions=5 --benchmark_report_aggregates_only=true]
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
#include "leancnn/kernels/direct_conv_rule.h"
#include "leancnn/ops/op_table.h"

namespace {
using namespace leancnn;

struct LayerSpec {
  const char* label;
  int64_t ic, oc, hw, k, stride;  // hw: the input's side; pads k / 2
};

const LayerSpec kLayers[] = {
    // ResNet-18 at 224x224.
    {"r18_stem_3to64_7x7s2@224", 3, 64, 224, 7, 2},  {"r18_64to128_3x3s2@56", 64, 128, 56, 3, 2},
    {"r18_128to256_3x3s2@28", 128, 256, 28, 3, 2},  {"r18_256to512_3x3s2@14", 256, 512, 14, 3, 2},
    {"r18_512@7", 512, 512, 7, 3, 1},               {"r18_256@14", 256, 256, 14, 3, 1},
    {"r18_64to128_1x1s2@56", 64, 128, 56, 1, 2},    {"r18_256to512_1x1s2@14", 256, 512, 14, 1, 2},
    // MobileNetV2 at 224x224: 1x1 expansions and projections.
    {"mv2_16to96_1x1@112", 16, 96, 112, 1, 1},      {"mv2_144to24_1x1@56", 144, 24, 56, 1, 1},
    {"mv2_24to144_1x1@56", 24, 144, 56, 1, 1},      {"mv2_192to32_1x1@28", 192, 32, 28, 1, 1},
    {"mv2_64to384_1x1@14", 64, 384, 14, 1, 1},      {"mv2_384to64_1x1@14", 384, 64, 14, 1, 1},
    {"mv2_576to96_1x1@14", 576, 96, 14, 1, 1},      {"mv2_160to960_1x1@7", 160, 960, 7, 1, 1},
    {"mv2_960to160_1x1@7", 960, 160, 7, 1, 1},      {"mv2_320to1280_1x1@7", 320, 1280, 7, 1, 1},
    {"mv2_stem_3to32_3x3s2@224", 3, 32, 224, 3, 2},
    // ResNet-20 at 28x28 (and pruned widths).
    {"r20_stem_1to16@28", 1, 16, 28, 3, 1},         {"r20_16to32_3x3s2@28", 16, 32, 28, 3, 2},
    {"r20_32to64_3x3s2@14", 32, 64, 14, 3, 2},      {"r20_16to32_1x1s2@28", 16, 32, 28, 1, 2},
    {"r20_16@28", 16, 16, 28, 3, 1},                {"r20p_8@28", 8, 8, 28, 3, 1},
    // ResNet-20 at 1x224x224 (issue 15's latency line), dense and pruned to half its MACs
    // (`leancnn prune --structured --remove-flops 0.5 --round-to 8`: 8/24/40 channels).
    {"r20_224_16to32_3x3s2@224", 16, 32, 224, 3, 2}, {"r20_224_32to64_3x3s2@112", 32, 64, 112, 3, 2},
    {"r20p_224_8to24_3x3s2@224", 8, 24, 224, 3, 2},  {"r20p_224_24to40_3x3s2@112", 24, 40, 112, 3, 2},
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

  Layer(const LayerSpec& s, const std::string& name) {
    const int64_t pad = s.k / 2, o = (s.hw + 2 * pad - s.k) / s.stride + 1;
    const Shape x{1, s.ic, s.hw, s.hw}, w{s.oc, s.ic, s.k, s.k}, y{1, s.oc, o, o};
    ir::Attributes attrs;
    attrs.set("pads", std::vector<int64_t>{pad, pad, pad, pad});
    attrs.set("strides", std::vector<int64_t>{s.stride, s.stride});
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
      std::fprintf(stderr, "direct_conv_bench: no kernel %s\n", name.c_str());
      std::exit(1);
    }
    const bool take = true;
    kernels::inject_direct_conv(&take);
    ir::ForwardCtx c = ctx();
    const std::string why = kernel->check_forward ? kernel->check_forward(c) : "";
    if (!why.empty()) {
      std::fprintf(stderr, "direct_conv_bench: %s declined %s: %s\n", name.c_str(), s.label, why.c_str());
      std::exit(1);
    }
    state = kernel->prepare(c);
    kernels::inject_direct_conv(nullptr);
  }
  ir::ForwardCtx ctx() const {
    ir::ForwardCtx c{graph.node(0), inputs, {dst}};
    c.prepared = state.get();
    c.channels_last = ir::channels_last_input(0) | ir::channels_last_output(0);
    return c;
  }
};

void run_layer(benchmark::State& st, const LayerSpec& s, const std::string& kernel) {
  Layer layer(s, kernel);
  ir::ForwardCtx c = layer.ctx();
  for (auto _ : st) layer.kernel->forward(c);
  const double flops = 2.0 * static_cast<double>(layer.dst.numel()) * static_cast<double>(s.ic * s.k * s.k);
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
                                 [s](benchmark::State& st) { run_layer(st, s, "dnnl_fused_conv_f32"); })
        ->Unit(benchmark::kMicrosecond);
    for (const std::string& isa : isas)
      benchmark::RegisterBenchmark((std::string(s.label) + "/direct_" + isa).c_str(), [s, isa](benchmark::State& st) {
        run_layer(st, s, "cpu_fused_conv_f32_direct_" + isa);
      })->Unit(benchmark::kMicrosecond);
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
  std::printf("direct_conv_bench: %d thread(s), peak %.0f GFLOP/s per thread, CPU %s (cap %s)\n", num_threads(), g_peak,
              cpu_features().summary().c_str(), cpu_isa_name(max_cpu_isa()));
  register_all();
  int n = static_cast<int>(rest.size());
  benchmark::Initialize(&n, rest.data());
  if (benchmark::ReportUnrecognizedArguments(n, rest.data())) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
