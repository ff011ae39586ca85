// FusedConv (dnnl_fused_conv_f32) at batch 1 on ResNet-18's 3x3 layers and MobileNetV2's
// depthwise and pointwise layers: the unprepared kernel (as the executor runs it: select +
// forward, weights reordered per call) against the prepared one (as an inference plan runs it:
// primitive built and weights packed once), the latter under each layout policy, so the
// prepared policy (conv_fwd_dnnl.cpp) can be chosen per layer kind. Variants are interleaved
// round by round (the machine may be shared), and the table gives per-variant medians, GFLOP/s,
// % of machine peak (of the prepared default's median, and of its best round: the least
// disturbed one on a shared machine), and the medians over rounds of each round's ratios:
// unprepared/prepared, prepared plain/blocked (NCHW vs format_tag::any), and the prepared
// default over the faster of those two (the default's depthwise layout, nChw16c, is neither).
// LEANCNN_VERBOSE=dnnl names the oneDNN implementation each variant got.
//   fused_conv_bench [--rounds N] [--ms M] [--threads T] [--filter SUBSTRING]
// Peak: 146 GFLOP/s per core (AVX-512 FMA, measured on this Cascade Lake); --peak overrides.
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
#include "leancnn/kernels/kernel.h"
#include "leancnn/ops/op_table.h"

namespace {
using namespace leancnn;

struct Options {
  int rounds = 9;
  double ms = 30;  // per variant per round
  int threads = 2;
  double peak_per_core = 146.0;
  std::string filter;
};

// batch 1: ic -> oc channels at hw x hw input, k x k, stride, pad (k/2), groups; epilogue.
struct LayerSpec {
  const char* label;
  int64_t ic, oc, hw, k, stride, group;
  bool residual;
  const char* activation;
  std::vector<float> params;
};

const std::vector<float> kRelu6 = {0.f, 6.f};

const LayerSpec kLayers[] = {
    // ResNet-18 basic blocks: conv1 = bias + Relu, conv2 = bias + Z + Relu.
    {"r18_3x3_64@56", 64, 64, 56, 3, 1, 1, false, "Relu", {}},
    {"r18_3x3_64@56_z", 64, 64, 56, 3, 1, 1, true, "Relu", {}},
    {"r18_3x3_128@28", 128, 128, 28, 3, 1, 1, false, "Relu", {}},
    {"r18_3x3_128@28_z", 128, 128, 28, 3, 1, 1, true, "Relu", {}},
    {"r18_3x3_256@14", 256, 256, 14, 3, 1, 1, false, "Relu", {}},
    {"r18_3x3_256@14_z", 256, 256, 14, 3, 1, 1, true, "Relu", {}},
    {"r18_3x3_512@7", 512, 512, 7, 3, 1, 1, false, "Relu", {}},
    {"r18_3x3_512@7_z", 512, 512, 7, 3, 1, 1, true, "Relu", {}},
    // MobileNetV2 inverted residuals: expand 1x1 + ReLU6, depthwise 3x3 + ReLU6, project 1x1
    // (+ Z when the block is residual).
    {"mv2_dw3x3_32@112", 32, 32, 112, 3, 1, 32, false, "Clip", kRelu6},
    {"mv2_pw_32to16@112", 32, 16, 112, 1, 1, 1, false, "", {}},
    {"mv2_pw_16to96@112", 16, 96, 112, 1, 1, 1, false, "Clip", kRelu6},
    {"mv2_dw3x3s2_96@112", 96, 96, 112, 3, 2, 96, false, "Clip", kRelu6},
    {"mv2_pw_144to24@56_z", 144, 24, 56, 1, 1, 1, true, "", {}},
    {"mv2_dw3x3_144@56", 144, 144, 56, 3, 1, 144, false, "Clip", kRelu6},
    {"mv2_pw_32to192@28", 32, 192, 28, 1, 1, 1, false, "Clip", kRelu6},
    {"mv2_dw3x3_192@28", 192, 192, 28, 3, 1, 192, false, "Clip", kRelu6},
    {"mv2_pw_384to64@14_z", 384, 64, 14, 1, 1, 1, true, "", {}},
    {"mv2_dw3x3_576@14", 576, 576, 14, 3, 1, 576, false, "Clip", kRelu6},
    {"mv2_pw_96to576@14", 96, 576, 14, 1, 1, 1, false, "Clip", kRelu6},
    {"mv2_dw3x3_960@7", 960, 960, 7, 3, 1, 960, false, "Clip", kRelu6},
    {"mv2_pw_960to160@7_z", 960, 160, 7, 1, 1, 1, true, "", {}},
    {"mv2_pw_320to1280@7", 320, 1280, 7, 1, 1, 1, false, "Clip", kRelu6},
};

Tensor random(const Shape& shape, uint64_t seed) {
  Tensor t = Tensor::empty(shape);
  Rng rng(seed);
  rng.fill_uniform(t, -1.f, 1.f);
  return t;
}

// One FusedConv node (X and Z graph inputs, W and B initializers) and its tensors.
struct Layer {
  ir::Graph graph;
  ir::NodeId node_id = 0;
  std::vector<Tensor> inputs;
  Tensor dst;
  double flops = 0;

  explicit Layer(const LayerSpec& s) {
    const int64_t pad = s.k / 2, oh = (s.hw + 2 * pad - s.k) / s.stride + 1;
    const Tensor src = random({1, s.ic, s.hw, s.hw}, 1), weights = random({s.oc, s.ic / s.group, s.k, s.k}, 2);
    const Tensor bias = random({s.oc}, 3);
    dst = Tensor::zeros({1, s.oc, oh, oh});
    inputs = {src, weights, bias};
    std::vector<ir::ValueId> in = {graph.add_input("x", src.shape()), graph.add_initializer("w", weights, false),
                                   graph.add_initializer("b", bias, false)};
    if (s.residual) {
      inputs.push_back(random(dst.shape(), 4));
      in.push_back(graph.add_input("z", dst.shape()));
    }
    ir::Attributes attrs;
    attrs.set("pads", std::vector<int64_t>{pad, pad, pad, pad});
    attrs.set("strides", std::vector<int64_t>{s.stride, s.stride});
    attrs.set("group", s.group);
    attrs.set("activation", std::string(s.activation));
    attrs.set("activation_params", s.params);
    node_id = graph.add_node("FusedConv", in, {graph.add_value("y")}, attrs, s.label, ir::kLeancnnDomain);
    flops = 2.0 * static_cast<double>(s.oc * oh * oh * (s.ic / s.group) * s.k * s.k);
  }
  const ir::Node& node() const { return graph.node(node_id); }
  const ir::OpSchema& schema() const { return ops::op_table().get(node()); }
  ir::ForwardCtx ctx() const { return ir::ForwardCtx{node(), inputs, {dst}}; }
};

enum Variant { kUnprepared, kPrepared, kPreparedPlain, kPreparedBlocked, kVariants };
const char* const kVariantNames[] = {"unprepared", "prepared", "prep_plain", "prep_blocked"};

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct LayerRun {
  const LayerSpec* spec;
  std::unique_ptr<Layer> layer;
  const kernels::Kernel* kernel = nullptr;
  std::shared_ptr<const void> state[kVariants];  // per prepared variant
  std::vector<double> ms[kVariants];             // per round: ms per iteration
  int iters = 1;                                 // per timed batch
};

// Prepares the layer under LEANCNN_DNNL_CONV_LAYOUT=layout (nullptr: the default policy).
std::shared_ptr<const void> prepare_with(const LayerRun& r, const char* layout) {
  if (layout)
    setenv("LEANCNN_DNNL_CONV_LAYOUT", layout, 1);
  else
    unsetenv("LEANCNN_DNNL_CONV_LAYOUT");
  ir::ForwardCtx ctx = r.layer->ctx();
  std::shared_ptr<const void> s = r.kernel->prepare(ctx);
  unsetenv("LEANCNN_DNNL_CONV_LAYOUT");
  return s;
}

// One timed batch of `iters` runs of a variant; ms per run.
double time_variant(LayerRun& r, int v, int iters) {
  ir::ForwardCtx ctx = r.layer->ctx();
  const ir::OpSchema& schema = r.layer->schema();
  const double t0 = now_ms();
  for (int i = 0; i < iters; ++i) {
    if (v == kUnprepared) {
      kernels::select_forward(schema, ctx).forward(ctx);
    } else {
      ctx.prepared = r.state[v].get();
      r.kernel->forward(ctx);
    }
  }
  return (now_ms() - t0) / iters;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--rounds") o.rounds = std::atoi(argv[i + 1]);
    else if (a == "--ms") o.ms = std::atof(argv[i + 1]);
    else if (a == "--threads") o.threads = std::atoi(argv[i + 1]);
    else if (a == "--peak") o.peak_per_core = std::atof(argv[i + 1]);
    else if (a == "--filter") o.filter = argv[i + 1];
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      std::exit(2);
    }
  }
  return o;
}
}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  set_num_threads(opt.threads);
  const double peak = opt.peak_per_core * opt.threads;
  std::vector<LayerRun> runs;
  for (const LayerSpec& s : kLayers) {
    if (!opt.filter.empty() && std::string(s.label).find(opt.filter) == std::string::npos) continue;
    LayerRun r;
    r.spec = &s;
    r.layer = std::make_unique<Layer>(s);
    ir::ForwardCtx ctx = r.layer->ctx();
    r.kernel = &kernels::select_forward(r.layer->schema(), ctx);
    if (r.kernel->name != "dnnl_fused_conv_f32") {
      std::fprintf(stderr, "%s: selected %s, not dnnl_fused_conv_f32\n", s.label, r.kernel->name.c_str());
      return 1;
    }
    r.state[kPrepared] = prepare_with(r, nullptr);
    r.state[kPreparedPlain] = prepare_with(r, "plain");
    r.state[kPreparedBlocked] = prepare_with(r, "blocked");
    // Warm up every variant, then size the batch to about opt.ms of the unprepared kernel.
    for (int v = 0; v < kVariants; ++v) time_variant(r, v, 3);
    const double one = time_variant(r, kUnprepared, 5);
    r.iters = std::max(1, static_cast<int>(opt.ms / std::max(one, 1e-3)));
    runs.push_back(std::move(r));
  }
  // Interleaved: every round times every layer's variants, in a rotating order.
  for (int round = 0; round < opt.rounds; ++round)
    for (LayerRun& r : runs)
      for (int j = 0; j < kVariants; ++j) {
        const int v = (j + round) % kVariants;
        r.ms[v].push_back(time_variant(r, v, r.iters));
      }
  std::printf("FusedConv, batch 1, %d threads, %d interleaved rounds; peak %.0f GFLOP/s (%d x %.0f)\n",
              opt.threads, opt.rounds, peak, opt.threads, opt.peak_per_core);
  std::printf("%-22s %7s | %9s %9s %9s %9s | %7s %6s %6s | %8s %8s %8s\n", "layer", "MFLOP", "unprep_ms",
              "prep_ms", "plain_ms", "block_ms", "GFLOP/s", "%peak", "%best", "unp/prep", "pl/bl", "prep/min");
  for (const LayerRun& r : runs) {
    double med[kVariants];
    for (int v = 0; v < kVariants; ++v) med[v] = median(r.ms[v]);
    std::vector<double> speedup, plain_vs_blocked, policy_vs_best;
    for (int i = 0; i < opt.rounds; ++i) {
      speedup.push_back(r.ms[kUnprepared][i] / r.ms[kPrepared][i]);
      plain_vs_blocked.push_back(r.ms[kPreparedPlain][i] / r.ms[kPreparedBlocked][i]);
      policy_vs_best.push_back(r.ms[kPrepared][i] / std::min(r.ms[kPreparedPlain][i], r.ms[kPreparedBlocked][i]));
    }
    const double gflops = r.layer->flops * 1e-6 / med[kPrepared];
    const double best = r.layer->flops * 1e-6 / *std::min_element(r.ms[kPrepared].begin(), r.ms[kPrepared].end());
    std::printf("%-22s %7.1f | %9.3f %9.3f %9.3f %9.3f | %7.1f %5.1f%% %5.1f%% | %7.2fx %7.2fx %7.2fx\n",
                r.spec->label, r.layer->flops * 1e-6, med[kUnprepared], med[kPrepared], med[kPreparedPlain],
                med[kPreparedBlocked], gflops, 100.0 * gflops / peak, 100.0 * best / peak, median(speedup),
                median(plain_vs_blocked), median(policy_vs_best));
  }
  return 0;
}
