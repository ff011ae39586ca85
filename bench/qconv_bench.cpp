// Int8 vs fp32 prepared convolution on ResNet-18's layers at batch 1 (224x224 input): the int8
// kernel the dispatcher picks on this CPU (dnnl_qconv_u8s8 with VNNI or 7-bit weights, else
// cpu_qconv_s16_avx2; --kernel NAME forces one; u8 x s8 -> u8, requantization + Relu fused;
// --weight-bits 7 quantizes weights to [-64, 64]; under LEANCNN_MAX_CPU_ISA=avx2 this times the
// paths of a CPU without VNNI on any machine) against the fp32 one
// (dnnl_fused_conv_f32: bias + Relu fused), both prepared as an inference plan prepares them,
// each with its activations NCHW (reordered inside the kernel) and channels-last (NHWC, as a plan
// stores them between convolutions). Variants are interleaved round by round (the machine may be
// shared); the table gives per-variant medians, GOP/s (2 ops per MAC) and the medians over
// rounds of each round's ratio int8 time / fp32 time (same layout).
// --model NAME instead times whole networks at batch 1: the zoo model's fp32 Plan against the
// Plan of the same model quantized (a bench-local QDQ builder: per-channel s8 weights, s32 biases,
// u8 activations with min-max ranges from one random batch; runtime::lower_qdq lowers it).
//   qconv_bench [--rounds N] [--ms M] [--threads T] [--filter SUBSTRING] [--kernel NAME] [--weight-bits 8|7]
//               [--model NAME --input CxHxW [--save-qdq FILE]]
//   (FILE: the quantized model, for timing ONNX Runtime on the same file)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "leancnn/core/cpu.h"
#include "leancnn/core/rng.h"
#include "leancnn/ir/passes.h"
#include "leancnn/kernels/kernel.h"
#include "leancnn/io/onnx.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/ops/quant_math.h"
#include "leancnn/runtime/executor.h"
#include "leancnn/runtime/inference_passes.h"
#include "leancnn/runtime/plan.h"

namespace {
using namespace leancnn;

struct Options {
  int rounds = 7;
  double ms = 40;  // per variant per round
  int threads = 1;
  std::string filter;
  std::string model;
  std::string save_qdq;  // --save-qdq FILE: also write the quantized model (for ONNX Runtime)
  std::string input = "3x224x224";
  std::string kernel;   // --kernel NAME: this int8 kernel instead of the dispatcher's choice
  int weight_bits = 8;  // 8: weights in [-127, 127]; 7: in [-64, 64] (ONNX Runtime's reduce_range)
};

struct LayerSpec {
  const char* label;
  int64_t ic, oc, hw, k, stride;
};

// Every distinct conv of ResNet-18 at 224x224 (the stem, the 3x3s of each stage, the stride-2
// 3x3s and 1x1 shortcuts).
const LayerSpec kLayers[] = {
    {"stem_7x7s2_3to64@224", 3, 64, 224, 7, 2},  {"3x3_64@56", 64, 64, 56, 3, 1},
    {"3x3s2_64to128@56", 64, 128, 56, 3, 2},     {"1x1s2_64to128@56", 64, 128, 56, 1, 2},
    {"3x3_128@28", 128, 128, 28, 3, 1},          {"3x3s2_128to256@28", 128, 256, 28, 3, 2},
    {"3x3_256@14", 256, 256, 14, 3, 1},          {"3x3s2_256to512@14", 256, 512, 14, 3, 2},
    {"3x3_512@7", 512, 512, 7, 3, 1},
};

Tensor random_f(const Shape& s, uint64_t seed, float lo, float hi) {
  Tensor t = Tensor::empty(s);
  Rng rng(seed);
  rng.fill_uniform(t, lo, hi);
  return t;
}

Tensor random_i(const Shape& s, DType dt, uint64_t seed, int lo, int hi) {
  const Tensor f = random_f(s, seed, static_cast<float>(lo), static_cast<float>(hi));
  std::vector<int64_t> v(f.numel());
  for (int64_t i = 0; i < f.numel(); ++i) v[i] = static_cast<int64_t>(f.at(i));
  return Tensor::from_ints(s, v, dt);
}

// One conv node (fp32 FusedConv or int8 QLinearFusedConv) with its tensors, prepared.
struct Layer {
  ir::Graph graph;
  std::vector<Tensor> inputs;
  Tensor dst;
  const kernels::Kernel* kernel = nullptr;
  std::shared_ptr<const void> state;
  uint32_t channels_last = 0;

  Layer(const LayerSpec& s, bool int8, bool nhwc, const Options& opt) {
    const int64_t pad = s.k / 2, oh = (s.hw + 2 * pad - s.k) / s.stride + 1;
    const Shape x{1, s.ic, s.hw, s.hw}, w{s.oc, s.ic, s.k, s.k};
    ir::Attributes attrs;
    attrs.set("pads", std::vector<int64_t>{pad, pad, pad, pad});
    attrs.set("strides", std::vector<int64_t>{s.stride, s.stride});
    attrs.set("activation", std::string("Relu"));
    if (int8) {
      inputs = {random_i(x, DType::u8, 1, 0, 255), Tensor::from_floats({}, {0.02f}),
                Tensor::from_ints({}, {128}, DType::u8),
                random_i(w, DType::s8, 2, opt.weight_bits == 7 ? -64 : -127, opt.weight_bits == 7 ? 64 : 127),
                random_f({s.oc}, 3, 0.004f, 0.01f), Tensor::zeros({s.oc}, DType::s8), Tensor::from_floats({}, {0.5f}),
                Tensor::from_ints({}, {0}, DType::u8), random_i({s.oc}, DType::s32, 4, -5000, 5000)};
      dst = Tensor::zeros({1, s.oc, oh, oh}, DType::u8);
    } else {
      inputs = {random_f(x, 1, -1.f, 1.f), random_f(w, 2, -1.f, 1.f), random_f({s.oc}, 3, -1.f, 1.f)};
      dst = Tensor::zeros({1, s.oc, oh, oh});
    }
    std::vector<ir::ValueId> in{graph.add_input("x", x, inputs[0].dtype())};
    for (size_t i = 1; i < inputs.size(); ++i) in.push_back(graph.add_initializer("c" + std::to_string(i), inputs[i], false));
    graph.add_node(int8 ? "QLinearFusedConv" : "FusedConv", in, {graph.add_value("y")}, attrs, s.label,
                   ir::kLeancnnDomain);
    ir::ForwardCtx c = ctx();
    c.channels_last = 0;
    const ir::OpSchema& schema = ops::op_table().get(graph.node(0));
    kernel = &kernels::select_forward(schema, c);
    if (int8 && !opt.kernel.empty()) {
      kernel = nullptr;
      for (const kernels::Kernel& k : kernels::kernel_list(schema))
        if (k.name == opt.kernel && (!k.check_forward || k.check_forward(c).empty())) kernel = &k;
      if (!kernel) {
        std::fprintf(stderr, "%s: no int8 kernel %s that takes this layer on this CPU\n", s.label, opt.kernel.c_str());
        std::exit(1);
      }
    }
    if (kernel->name == "reference" || (!int8 && kernel->name != "dnnl_fused_conv_f32")) {
      std::fprintf(stderr, "%s: selected %s\n", s.label, kernel->name.c_str());
      std::exit(1);
    }
    channels_last = nhwc ? ir::channels_last_input(0) | ir::channels_last_output(0) : 0;
    state = kernel->prepare(ctx());
    if (!state) {
      std::fprintf(stderr, "%s: %s did not prepare\n", s.label, kernel->name.c_str());
      std::exit(1);
    }
  }
  ir::ForwardCtx ctx() const {
    ir::ForwardCtx c{graph.node(0), inputs, {dst}};
    c.channels_last = channels_last;
    c.prepared = state.get();
    return c;
  }
};

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--rounds") o.rounds = std::atoi(argv[i + 1]);
    else if (a == "--ms") o.ms = std::atof(argv[i + 1]);
    else if (a == "--threads") o.threads = std::atoi(argv[i + 1]);
    else if (a == "--filter") o.filter = argv[i + 1];
    else if (a == "--model") o.model = argv[i + 1];
    else if (a == "--input") o.input = argv[i + 1];
    else if (a == "--save-qdq") o.save_qdq = argv[i + 1];
    else if (a == "--kernel") o.kernel = argv[i + 1];
    else if (a == "--weight-bits") o.weight_bits = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      std::exit(2);
    }
  }
  return o;
}


// --- whole models ---

// Quantizes a BN-folded float graph in the QDQ format (contracts: u8 per-tensor activations at
// every Conv/Gemm input and (Relu'd or Clip'd) output, s8 per-channel weights, s32 biases).
void quantize_qdq(ir::Graph& g, const Tensor& calibration) {
  const ir::OpTable& ops = ops::op_table();
  std::vector<std::pair<float, float>> range(g.num_values(), {0.f, 0.f});
  {
    ir::Graph copy = g;
    runtime::Executor exec(copy, ops, {.training = false, .use_kernels = true, .seed = 0, .keep_values = true});
    exec.forward({{"input", calibration}});
    for (ir::ValueId v = 0; v < copy.num_values(); ++v) {
      const Tensor& t = exec.value(v);
      if (!t.defined() || t.dtype() != DType::f32 || copy.value(v).is_initializer()) continue;
      for (int64_t i = 0; i < t.numel(); ++i)
        range[v] = {std::min(range[v].first, t.at(i)), std::max(range[v].second, t.at(i))};
    }
  }
  std::vector<ir::NodeId> layers;
  for (ir::NodeId id : g.topo_order())
    if (g.node(id).op_type == "Conv" || g.node(id).op_type == "Gemm") layers.push_back(id);
  std::vector<ir::ValueId> acts;
  for (ir::NodeId id : layers) {
    acts.push_back(g.node(id).inputs[0]);
    ir::ValueId out = g.node(id).outputs[0];
    const std::vector<ir::NodeId> readers = g.consumers(out);
    if (readers.size() == 1 && (g.node(readers[0]).op_type == "Relu" || g.node(readers[0]).op_type == "Clip"))
      out = g.node(readers[0]).outputs[0];
    acts.push_back(out);
  }
  std::sort(acts.begin(), acts.end());
  acts.erase(std::unique(acts.begin(), acts.end()), acts.end());
  std::vector<float> x_scale(g.num_values() * 2, 0.f);
  std::vector<ir::ValueId> dq_of(g.num_values(), ir::kNone);
  for (ir::ValueId v : acts) {
    if (std::find(g.outputs().begin(), g.outputs().end(), v) != g.outputs().end()) continue;
    const auto [lo, hi] = range[v];
    const float scale = hi > lo ? (hi - lo) / 255.f : 1.f;
    const int zp = std::clamp(static_cast<int>(std::nearbyint(-lo / scale)), 0, 255);
    const std::string name = g.value(v).name;
    const ir::ValueId s = g.add_initializer(name + "_scale", Tensor::from_floats({}, {scale}), false);
    const ir::ValueId z = g.add_initializer(name + "_zp", Tensor::from_ints({}, {zp}, DType::u8), false);
    const std::vector<ir::NodeId> readers = g.consumers(v);
    const ir::ValueId q = g.add_value(name + "_q"), dq = g.add_value(name + "_dq");
    g.add_node("QuantizeLinear", {v, s, z}, {q}, {}, name + "_Q");
    g.add_node("DequantizeLinear", {q, s, z}, {dq}, {}, name + "_DQ");
    for (ir::NodeId r : readers)
      for (ir::ValueId& in : g.node(r).inputs)
        if (in == v) in = dq;
    dq_of[v] = dq;
    if (static_cast<size_t>(dq) >= x_scale.size()) x_scale.resize(dq + 1);
    x_scale[dq] = scale;
  }
  for (ir::NodeId id : layers) {
    const Tensor w = g.value(g.node(id).inputs[1]).data;
    const bool nk = g.node(id).op_type == "Conv" || g.node(id).attrs.get_int("transB", 0) != 0;
    const int64_t oc = nk ? w.dim(0) : w.dim(1), inner = nk ? w.numel() / oc : 1;
    auto channel = [&](int64_t i) { return nk ? i / inner : i % oc; };
    Tensor scales = Tensor::zeros({oc});
    for (int64_t i = 0; i < w.numel(); ++i)
      scales.data<float>()[channel(i)] = std::max(scales.at(channel(i)), std::fabs(w.at(i)) / 127.f);
    for (int64_t c = 0; c < oc; ++c)
      if (scales.at(c) == 0.f) scales.data<float>()[c] = 1.f;
    Tensor wq = Tensor::empty(w.shape(), DType::s8);
    for (int64_t i = 0; i < w.numel(); ++i)
      wq.data<int8_t>()[i] = static_cast<int8_t>(ops::quantize_value(w.at(i), scales.at(channel(i)), 0, -127, 127));
    const std::string name = g.node(id).name;
    ir::Attributes axis;
    axis.set("axis", int64_t{nk ? 0 : 1});
    const ir::ValueId wdq = g.add_value(name + "_w_dq");
    g.add_node("DequantizeLinear",
               {g.add_initializer(name + "_w_s8", wq, false), g.add_initializer(name + "_w_scale", scales, false)},
               {wdq}, axis, name + "_w_DQ");
    g.node(id).inputs[1] = wdq;
    if (g.node(id).inputs.size() < 3 || g.node(id).inputs[2] == ir::kNone) continue;
    const Tensor b = g.value(g.node(id).inputs[2]).data;
    const float xs = x_scale.at(g.node(id).inputs[0]);
    Tensor bs = Tensor::empty({oc}), bq = Tensor::empty({oc}, DType::s32);
    for (int64_t c = 0; c < oc; ++c) {
      bs.data<float>()[c] = xs * scales.at(c);
      bq.data<int32_t>()[c] = static_cast<int32_t>(std::nearbyint(b.at(c) / bs.at(c)));
    }
    ir::Attributes axis0;
    axis0.set("axis", int64_t{0});
    const ir::ValueId bdq = g.add_value(name + "_b_dq");
    g.add_node("DequantizeLinear",
               {g.add_initializer(name + "_b_s32", bq, false), g.add_initializer(name + "_b_scale", bs, false)},
               {bdq}, axis0, name + "_b_DQ");
    g.node(id).inputs[2] = bdq;
  }
  ir::infer_shapes(g, ops);
  ir::verify(g, ops);
}

int bench_model(const Options& opt) {
  const ir::OpTable& ops = ops::op_table();
  const Shape chw = models::parse_chw(opt.input);
  ir::Graph g = models::build_model(opt.model, {chw, 1000, 1}, ops);
  runtime::drop_identities(g, ops);
  runtime::fold_constants(g, ops);
  runtime::fold_batch_norm(g, ops);
  ir::infer_shapes(g, ops);
  const Shape batch1{1, chw[0], chw[1], chw[2]};
  ir::Graph q = g;
  quantize_qdq(q, random_f({2, chw[0], chw[1], chw[2]}, 5, 0.f, 1.f));
  if (!opt.save_qdq.empty()) io::save_onnx(q, opt.save_qdq);
  runtime::Plan fp32 = runtime::Plan::compile(g), int8 = runtime::Plan::compile(q);
  const Tensor x = random_f(batch1, 6, 0.f, 1.f);
  runtime::Plan* plans[2] = {&fp32, &int8};
  for (runtime::Plan* p : plans) p->run({x});  // build, prepare, warm up
  int integer_ops = 0, nhwc = 0;
  for (const runtime::PlanStep& st : int8.steps()) {
    integer_ops += st.op_type == "QLinearFusedConv" || st.op_type == "QGemm";
    nhwc += st.channels_last != 0;
  }
  std::vector<double> ms[2], ratio;
  for (int r = 0; r < opt.rounds; ++r) {
    double round[2];
    for (int v = 0; v < 2; ++v) {
      const double t0 = now_ms();
      int n = 0;
      while (now_ms() - t0 < opt.ms) plans[v]->run({x}), ++n;
      round[v] = (now_ms() - t0) / n;
      ms[v].push_back(round[v]);
    }
    ratio.push_back(round[1] / round[0]);
  }
  std::printf("qconv_bench --model %s --input %s: batch 1, %d thread(s), %d rounds, CPU: %s (cap %s)\n",
              opt.model.c_str(), opt.input.c_str(), opt.threads, opt.rounds, cpu_features().summary().c_str(),
              cpu_isa_name(max_cpu_isa()));
  std::printf("fp32 plan %.3f ms, int8 plan %.3f ms (medians), int8/fp32 %.2f (median of per-round ratios); %d integer "
              "ops, %d steps with channels-last activations\n",
              median(ms[0]), median(ms[1]), median(ratio), integer_ops, nhwc);
  int8.set_profiling(true);
  int8.run({x});
  std::vector<std::pair<double, std::string>> top;
  std::map<std::string, double> by_op;
  for (size_t i = 0; i < int8.steps().size(); ++i) by_op[int8.steps()[i].op_type + " (" + int8.steps()[i].kernel + ")"] += int8.step_ms()[i];
  for (const auto& [k, v] : by_op) top.push_back({v, k});
  std::sort(top.rbegin(), top.rend());
  std::printf("int8 plan, one profiled run, time by op (kernel):\n");
  for (const auto& [v, k] : top) std::printf("  %8.3f ms  %s\n", v, k.c_str());
  return 0;
}

enum Variant { kF32, kF32Nhwc, kInt8, kInt8Nhwc, kVariants };
}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  set_num_threads(opt.threads);
  if (!opt.model.empty()) return bench_model(opt);
  std::printf("qconv_bench: batch 1, %d thread(s), %d rounds of %.0f ms per variant, %d-bit weights, CPU: %s (cap %s)\n",
              opt.threads, opt.rounds, opt.ms, opt.weight_bits, cpu_features().summary().c_str(),
              cpu_isa_name(max_cpu_isa()));
  std::printf("%-22s %8s | %9s %9s %9s %9s | %7s %7s %7s %7s | %9s %9s  %s\n", "layer", "GMAC", "fp32 ms", "f32nhwc",
              "int8 ms", "i8nhwc", "GOP/s", "", "", "", "int8/fp32", "nhwc i/f", "int8 kernel");
  double total[kVariants] = {};
  for (const LayerSpec& s : kLayers) {
    if (!opt.filter.empty() && std::string(s.label).find(opt.filter) == std::string::npos) continue;
    std::unique_ptr<Layer> layers[kVariants];
    for (int v = 0; v < kVariants; ++v)
      layers[v] = std::make_unique<Layer>(s, v >= kInt8, v == kF32Nhwc || v == kInt8Nhwc, opt);
    const int64_t oh = (s.hw + 2 * (s.k / 2) - s.k) / s.stride + 1;
    const double macs = static_cast<double>(s.oc * oh * oh * s.ic * s.k * s.k);
    std::vector<double> ms[kVariants], ratio, ratio_nhwc;
    int iters[kVariants];
    for (int v = 0; v < kVariants; ++v) {  // warm up and size the timed batches
      ir::ForwardCtx c = layers[v]->ctx();
      const double t0 = now_ms();
      int n = 0;
      while (now_ms() - t0 < opt.ms / 4 || n < 2) layers[v]->kernel->forward(c), ++n;
      iters[v] = std::max(1, n * 4);
    }
    for (int r = 0; r < opt.rounds; ++r) {
      double round[kVariants];
      for (int v = 0; v < kVariants; ++v) {
        ir::ForwardCtx c = layers[v]->ctx();
        const double t0 = now_ms();
        for (int i = 0; i < iters[v]; ++i) layers[v]->kernel->forward(c);
        round[v] = (now_ms() - t0) / iters[v];
        ms[v].push_back(round[v]);
      }
      ratio.push_back(round[kInt8] / round[kF32]);
      ratio_nhwc.push_back(round[kInt8Nhwc] / round[kF32Nhwc]);
    }
    double med[kVariants];
    for (int v = 0; v < kVariants; ++v) med[v] = median(ms[v]), total[v] += med[v];
    std::printf("%-22s %8.3f | %9.3f %9.3f %9.3f %9.3f | %7.1f %7.1f %7.1f %7.1f | %9.2f %9.2f  %s\n", s.label,
                macs / 1e9, med[kF32], med[kF32Nhwc], med[kInt8], med[kInt8Nhwc], 2 * macs / med[kF32] / 1e6,
                2 * macs / med[kF32Nhwc] / 1e6, 2 * macs / med[kInt8] / 1e6, 2 * macs / med[kInt8Nhwc] / 1e6,
                median(ratio), median(ratio_nhwc), layers[kInt8Nhwc]->kernel->name.c_str());
  }
  std::printf("%-22s %8s | %9.3f %9.3f %9.3f %9.3f | (sum of medians; %s)\n", "total", "", total[kF32], total[kF32Nhwc],
              total[kInt8], total[kInt8Nhwc], "each layer once");
  return 0;
}
