// Sparse vs dense fp32 kernels on pruned layers at batch 1: ResNet-18's 3x3 and 1x1 convolutions
// (224x224 input; bias + Relu fused, as a plan runs them), fully connected layers and ResNet-20's
// small layers, at weight
// densities from 1 down to 0.02 (unstructured magnitude-like: a seeded random mask), each layer
// prepared as an inference plan prepares it. The dense side is oneDNN (dnnl_fused_conv_f32,
// dnnl_gemm_f32), the sparse side our CSR kernels (cpu_*_sparse_avx2), called directly so that
// densities above the dispatch crossover are timed too: the table is where kernels/sparse/
// sparse_rule.h's crossovers come from. Variants interleave round by round; medians of rounds,
// and the median of each round's dense / sparse ratio.
//   sparse_bench [--rounds N] [--ms M] [--threads T] [--filter SUBSTRING]
#include <algorithm>
#include <chrono>
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
#include "leancnn/ops/op_table.h"

namespace {
using namespace leancnn;

struct Options {
  int rounds = 7;
  double ms = 30;
  int threads = 1;
  std::string filter;
};

struct LayerSpec {
  const char* label;
  bool fc;
  int64_t ic, oc, hw, k, stride;  // fc: ic = K, oc = N
};

const LayerSpec kLayers[] = {
    {"3x3_64@56", false, 64, 64, 56, 3, 1},    {"3x3_128@28", false, 128, 128, 28, 3, 1},
    {"3x3_256@14", false, 256, 256, 14, 3, 1}, {"3x3_512@7", false, 512, 512, 7, 3, 1},
    {"1x1_64to256@56", false, 64, 256, 56, 1, 1}, {"1x1_256to64@56", false, 256, 64, 56, 1, 1},
    {"stem_7x7s2_3to64@224", false, 3, 64, 224, 7, 2}, {"3x3s2_64to128@56", false, 64, 128, 56, 3, 2},
    {"1x1s2_64to128@56", false, 64, 128, 56, 1, 2},
    {"fc_512to1000", true, 512, 1000, 1, 1, 1}, {"fc_3136to128", true, 3136, 128, 1, 1, 1},
    // ResNet-20's (28x28 input): small layers, where per-call costs show.
    {"r20_3x3_16@28", false, 16, 16, 28, 3, 1}, {"r20_3x3s2_16to32@28", false, 16, 32, 28, 3, 2},
    {"r20_1x1s2_16to32@28", false, 16, 32, 28, 1, 2}, {"r20_3x3_64@7", false, 64, 64, 7, 3, 1},
};
const double kDensities[] = {1.0, 0.5, 0.35, 0.2, 0.1, 0.05, 0.02};

Tensor random_f(const Shape& s, uint64_t seed) {
  Tensor t = Tensor::empty(s);
  Rng rng(seed);
  rng.fill_uniform(t, -1.f, 1.f);
  return t;
}

struct Layer {
  ir::Graph graph;
  std::vector<Tensor> inputs;
  Tensor dst;
  const kernels::Kernel* kernel = nullptr;
  std::shared_ptr<const void> state;

  Layer(const LayerSpec& s, double density, bool sparse) {
    ir::Attributes attrs;
    Shape x, w, y;
    if (s.fc) {
      x = {1, s.ic};
      w = {s.oc, s.ic};
      y = {1, s.oc};
      attrs.set("transB", int64_t{1});
    } else {
      const int64_t pad = s.k / 2, oh = (s.hw + 2 * pad - s.k) / s.stride + 1;
      x = {1, s.ic, s.hw, s.hw};
      w = {s.oc, s.ic, s.k, s.k};
      y = {1, s.oc, oh, oh};
      attrs.set("pads", std::vector<int64_t>{pad, pad, pad, pad});
      attrs.set("strides", std::vector<int64_t>{s.stride, s.stride});
      attrs.set("activation", std::string("Relu"));
    }
    Tensor wt = random_f(w, 2);
    Rng mask(5);
    for (int64_t i = 0; i < wt.numel(); ++i)
      if (mask.uniform() >= density) wt.data<float>()[i] = 0.f;
    inputs = {random_f(x, 1), wt, random_f({s.oc}, 3)};
    dst = Tensor::zeros(y);
    std::vector<ir::ValueId> in{graph.add_input("x", x, DType::f32)};
    const char* names[] = {"x", "w", "b"};
    for (size_t i = 1; i < inputs.size(); ++i) in.push_back(graph.add_initializer(names[i], inputs[i], false));
    graph.add_node(s.fc ? "Gemm" : "FusedConv", in, {graph.add_value("y")}, attrs, s.label,
                   s.fc ? "" : ir::kLeancnnDomain);
    const std::string name = sparse ? (s.fc ? "cpu_gemm_f32_sparse_avx2" : "cpu_fused_conv_f32_sparse_avx2")
                                    : (s.fc ? "dnnl_gemm_f32" : "dnnl_fused_conv_f32");
    for (const kernels::Kernel& k : kernels::kernel_list(ops::op_table().get(graph.node(0))))
      if (k.name == name) kernel = &k;
    if (!kernel) {
      std::fprintf(stderr, "%s: no kernel %s\n", s.label, name.c_str());
      std::exit(1);
    }
    state = kernel->prepare(ctx());
  }
  ir::ForwardCtx ctx() const {
    ir::ForwardCtx c{graph.node(0), inputs, {dst}};
    c.prepared = state.get();
    return c;
  }
};

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "sparse_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--rounds") o.rounds = std::atoi(next());
    else if (a == "--ms") o.ms = std::atof(next());
    else if (a == "--threads") o.threads = std::atoi(next());
    else if (a == "--filter") o.filter = next();
    else {
      std::fprintf(stderr, "usage: sparse_bench [--rounds N] [--ms M] [--threads T] [--filter SUBSTRING]\n");
      std::exit(a == "--help" || a == "-h" ? 0 : 2);
    }
  }
  return o;
}
}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  if (!cpu_features().avx2 || !cpu_features().fma) {
    std::fprintf(stderr, "sparse_bench: the sparse kernels need AVX2 + FMA\n");
    return 1;
  }
  set_num_threads(opt.threads);
  std::printf("sparse_bench: batch 1, %d thread(s), %d rounds of %.0f ms per variant, CPU: %s (cap %s)\n", opt.threads,
              opt.rounds, opt.ms, cpu_features().summary().c_str(), cpu_isa_name(max_cpu_isa()));
  std::printf("%-16s %7s | %10s %10s | %12s\n", "layer", "density", "dense ms", "sparse ms", "dense/sparse");
  for (const LayerSpec& s : kLayers) {
    if (!opt.filter.empty() && std::string(s.label).find(opt.filter) == std::string::npos) continue;
    for (const double d : kDensities) {
      Layer dense(s, d, false), sparse(s, d, true);
      Layer* v[2] = {&dense, &sparse};
      int iters[2];
      for (int i = 0; i < 2; ++i) {
        ir::ForwardCtx c = v[i]->ctx();
        const double t0 = now_ms();
        int n = 0;
        while (now_ms() - t0 < opt.ms / 4 || n < 2) v[i]->kernel->forward(c), ++n;
        iters[i] = std::max(1, n * 4);
      }
      std::vector<double> ms[2], ratio;
      for (int r = 0; r < opt.rounds; ++r) {
        double round[2];
        for (int i = 0; i < 2; ++i) {
          ir::ForwardCtx c = v[i]->ctx();
          const double t0 = now_ms();
          for (int k = 0; k < iters[i]; ++k) v[i]->kernel->forward(c);
          round[i] = (now_ms() - t0) / iters[i];
          ms[i].push_back(round[i]);
        }
        ratio.push_back(round[0] / round[1]);
      }
      std::printf("%-16s %7.2f | %10.4f %10.4f | %12.2f\n", s.label, d, median(ms[0]), median(ms[1]), median(ratio));
    }
  }
  return 0;
}
