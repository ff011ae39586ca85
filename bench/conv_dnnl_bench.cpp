// Conv 64->64, 3x3, pad 1, 56x56 (a ResNet stage-1 layer) through the kernel API on 2 threads:
// forward, backward-data and backward-weights at batch 1 and 64, as GFLOP/s (2 * MACs / time)
// and % of peak (100 GFLOP/s per core, DESIGN.md §5). To split where the kernel's time goes it
// also times the raw oneDNN primitive in its own layouts (no reorders), each reorder alone, and
// the kernel with the primitive caches off.
//   conv_dnnl_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// LEANCNN_BENCH_THREADS=n changes the thread count; LEANCNN_DNNL_CONV_LAYOUT=plain|blocked
// overrides the kernel's layout policy.
#include <benchmark/benchmark.h>

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "leancnn/core/cpu.h"
#include "leancnn/core/rng.h"
#include "leancnn/kernels/dnnl_cache.h"
#include "leancnn/kernels/kernel.h"
#include "leancnn/ops/op_table.h"

namespace {
using namespace leancnn;

constexpr double kPeakGflopsPerCore = 100.0;

// 2 threads, or LEANCNN_BENCH_THREADS (peak scales with it).
int threads() {
  static const int n = [] {
    const char* env = std::getenv("LEANCNN_BENCH_THREADS");
    return env && std::atoi(env) > 0 ? std::atoi(env) : 2;
  }();
  return n;
}

void set_flop_counters(benchmark::State& state, double flops_per_iter) {
  const double gflop = flops_per_iter * 1e-9;
  state.counters["GFLOPS"] = benchmark::Counter(gflop, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["pct_peak"] = benchmark::Counter(gflop * 100.0 / (kPeakGflopsPerCore * threads()),
                                                  benchmark::Counter::kIsIterationInvariantRate);
}

Tensor random(const Shape& shape, uint64_t seed) {
  Tensor t = Tensor::empty(shape);
  Rng rng(seed);
  rng.fill_uniform(t, -1.f, 1.f);
  return t;
}

// One conv layer: batch x ic x hw x hw -> oc channels, k x k, stride, pad, groups.
struct ConvSpec {
  int64_t batch, ic, oc, hw, k, stride, pad, group;
  const char* label;
};

// The benchmark's layer: a ResNet stage-1 3x3 conv, 64 -> 64, pad 1, 56x56.
ConvSpec resnet_stage1(int64_t batch, int64_t c, int64_t hw) { return {batch, c, c, hw, 3, 1, 1, 1, "3x3"}; }

// A one-node graph holding the conv, and its tensors.
struct ConvLayer {
  ir::Graph graph;
  ir::NodeId node_id = 0;
  Tensor src, weights, dst, d_dst, d_src, d_weights;
  double flops = 0;

  explicit ConvLayer(const ConvSpec& s) {
    const int64_t oh = (s.hw + 2 * s.pad - s.k) / s.stride + 1;
    src = random({s.batch, s.ic, s.hw, s.hw}, 1);
    weights = random({s.oc, s.ic / s.group, s.k, s.k}, 2);
    dst = Tensor::zeros({s.batch, s.oc, oh, oh});
    d_dst = random(dst.shape(), 3);
    d_src = Tensor::zeros(src.shape());
    d_weights = Tensor::zeros(weights.shape());
    const ir::ValueId x = graph.add_input("x", src.shape());
    const ir::ValueId w = graph.add_initializer("w", weights, true);
    const ir::ValueId y = graph.add_value("y");
    ir::Attributes attrs;
    attrs.set("pads", std::vector<int64_t>{s.pad, s.pad, s.pad, s.pad});
    attrs.set("strides", std::vector<int64_t>{s.stride, s.stride});
    attrs.set("group", s.group);
    node_id = graph.add_node("Conv", {x, w}, {y}, attrs, "conv");
    flops = 2.0 * static_cast<double>(s.batch * s.oc * oh * oh * (s.ic / s.group) * s.k * s.k);
  }
  const ir::Node& node() const { return graph.node(node_id); }
  const ir::OpSchema& schema() const { return ops::op_table().get(node()); }
};

enum class Pass { forward, backward_data, backward_weights };

// Times one pass through kernels::select_* + the kernel, as the executor calls it.
void run_kernel(benchmark::State& state, Pass pass, const ConvSpec& spec) {
  set_num_threads(threads());
  ConvLayer layer(spec);
  const ir::OpSchema& schema = layer.schema();
  ir::ForwardCtx fwd{layer.node(), {layer.src, layer.weights}, {layer.dst}};
  ir::BackwardCtx bwd{layer.node(), {layer.src, layer.weights}, {layer.dst}, {}, {layer.d_dst}, {Tensor(), Tensor()}};
  if (pass == Pass::backward_data) bwd.d_inputs[0] = layer.d_src;
  if (pass == Pass::backward_weights) bwd.d_inputs[1] = layer.d_weights;
  const std::string name = pass == Pass::forward ? kernels::select_forward(schema, fwd).name
                                                 : kernels::select_backward(schema, bwd).name;
  if (name != "dnnl_conv_f32") {
    state.SkipWithError(("selected " + name + ", not dnnl_conv_f32").c_str());
    return;
  }
  for (auto _ : state) {
    if (pass == Pass::forward)
      kernels::select_forward(schema, fwd).forward(fwd);
    else
      kernels::select_backward(schema, bwd).backward(bwd);
  }
  set_flop_counters(state, layer.flops);
}

ConvSpec spec_of(const benchmark::State& state) { return resnet_stage1(state.range(0), state.range(1), state.range(2)); }

void BM_ConvForward(benchmark::State& state) { run_kernel(state, Pass::forward, spec_of(state)); }
void BM_ConvBackwardData(benchmark::State& state) { run_kernel(state, Pass::backward_data, spec_of(state)); }
void BM_ConvBackwardWeights(benchmark::State& state) { run_kernel(state, Pass::backward_weights, spec_of(state)); }

// Other layer kinds, batch 1, for the layout policy (run with LEANCNN_DNNL_CONV_LAYOUT=plain
// and =blocked to compare the two).
const ConvSpec kLayerKinds[] = {
    {1, 3, 16, 32, 3, 1, 1, 1, "resnet20_stem_3to16_32x32"},
    {1, 3, 64, 224, 7, 2, 3, 1, "resnet18_stem_3to64_7x7s2_224"},
    {1, 16, 16, 32, 3, 1, 1, 1, "resnet20_16to16_32x32"},
    {1, 32, 32, 112, 3, 1, 1, 32, "mobilenet_dw32_112"},
    {1, 64, 256, 56, 1, 1, 0, 1, "pointwise_64to256_56"},
    {1, 512, 512, 7, 3, 1, 1, 1, "resnet_stage4_512_7x7"},
};
void BM_ConvForwardLayerKinds(benchmark::State& state) {
  const ConvSpec& spec = kLayerKinds[state.range(0)];
  state.SetLabel(spec.label);
  run_kernel(state, Pass::forward, spec);
}

// The kernel's forward with our primitive cache off and oneDNN's own cache at `onednn_capacity`
// (0: off), so every call builds its primitive descriptors and primitives.
void run_forward_without_our_cache(benchmark::State& state, int onednn_capacity) {
  const int old_capacity = kernels::onednn_primitive_cache_capacity();
  kernels::set_dnnl_cache_enabled(false);
  kernels::set_onednn_primitive_cache_capacity(onednn_capacity);
  run_kernel(state, Pass::forward, spec_of(state));
  kernels::set_onednn_primitive_cache_capacity(old_capacity);
  kernels::set_dnnl_cache_enabled(true);
}
void BM_ConvForward_OnlyOnednnCache(benchmark::State& state) { run_forward_without_our_cache(state, 1024); }
void BM_ConvForward_NoCache(benchmark::State& state) { run_forward_without_our_cache(state, 0); }

// The per-call cost of getting the primitives alone (kernels::select_forward runs the kernel's
// check, which looks the primitives up or builds them), without executing anything:
// range(3) = 0: both caches on; 1: only oneDNN's primitive cache; 2: neither.
void BM_ConvSelectOnly(benchmark::State& state) {
  set_num_threads(threads());
  ConvLayer layer(spec_of(state));
  const ir::OpSchema& schema = layer.schema();
  ir::ForwardCtx fwd{layer.node(), {layer.src, layer.weights}, {layer.dst}};
  const int old_capacity = kernels::onednn_primitive_cache_capacity();
  kernels::set_dnnl_cache_enabled(state.range(3) == 0);
  kernels::set_onednn_primitive_cache_capacity(state.range(3) == 2 ? 0 : 1024);
  for (auto _ : state) benchmark::DoNotOptimize(&kernels::select_forward(schema, fwd));
  kernels::set_onednn_primitive_cache_capacity(old_capacity);
  kernels::set_dnnl_cache_enabled(true);
  state.SetLabel(state.range(3) == 0 ? "our cache + oneDNN's" : state.range(3) == 1 ? "oneDNN's cache only" : "no cache");
}

// --- raw oneDNN, to split the kernel's time: the primitive alone and each reorder alone ---
struct RawConv {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  dnnl::memory::dims src_dims, w_dims;
  dnnl::convolution_forward::primitive_desc pd;
  double flops;

  RawConv(int64_t batch, int64_t c, int64_t hw) : src_dims{batch, c, hw, hw}, w_dims{c, c, 3, 3} {
    using dnnl::memory;
    const memory::desc any_src(src_dims, memory::data_type::f32, memory::format_tag::any);
    const memory::desc any_w(w_dims, memory::data_type::f32, memory::format_tag::any);
    pd = dnnl::convolution_forward::primitive_desc(
        {dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, any_src, any_w, any_src, {1, 1},
         {0, 0}, {1, 1}, {1, 1}},
        eng);
    flops = 2.0 * static_cast<double>(batch * c * hw * hw * c * 9);
  }
  dnnl::memory::desc plain(const dnnl::memory::dims& d, dnnl::memory::format_tag t) const {
    return {d, dnnl::memory::data_type::f32, t};
  }
  static void fill(const dnnl::memory& m) {
    float* p = static_cast<float*>(m.get_data_handle());
    for (size_t i = 0; i < m.get_desc().get_size() / sizeof(float); ++i) p[i] = static_cast<float>(i % 7) * 0.1f;
  }
};

void BM_OnednnConvForwardOwnLayouts(benchmark::State& state) {
  set_num_threads(threads());
  RawConv raw(state.range(0), state.range(1), state.range(2));
  dnnl::memory src(raw.pd.src_desc(), raw.eng), w(raw.pd.weights_desc(), raw.eng), dst(raw.pd.dst_desc(), raw.eng);
  RawConv::fill(src);
  RawConv::fill(w);
  dnnl::convolution_forward prim(raw.pd);
  for (auto _ : state) {
    prim.execute(raw.strm, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, dst}});
    raw.strm.wait();
  }
  set_flop_counters(state, raw.flops);
  state.SetLabel(raw.pd.impl_info_str());
}

enum class Which { src, weights, dst };

// One reorder between NCHW/OIHW and the primitive's layout, as the kernel does every call.
void run_reorder(benchmark::State& state, Which which) {
  set_num_threads(threads());
  RawConv raw(state.range(0), state.range(1), state.range(2));
  using Tag = dnnl::memory::format_tag;
  dnnl::memory::desc from, to;
  if (which == Which::src) {
    from = raw.plain(raw.src_dims, Tag::nchw);
    to = raw.pd.src_desc();
  } else if (which == Which::weights) {
    from = raw.plain(raw.w_dims, Tag::oihw);
    to = raw.pd.weights_desc();
  } else {
    from = raw.pd.dst_desc();
    to = raw.plain(raw.src_dims, Tag::nchw);
  }
  dnnl::memory a(from, raw.eng), b(to, raw.eng);
  RawConv::fill(a);
  dnnl::reorder r(a, b);
  for (auto _ : state) {
    r.execute(raw.strm, a, b);
    raw.strm.wait();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(from.get_size() * 2));
  // Reorder time as a share of the raw conv's ideal time at the measured peak is in the report.
}
void BM_ReorderSrc(benchmark::State& state) { run_reorder(state, Which::src); }
void BM_ReorderWeights(benchmark::State& state) { run_reorder(state, Which::weights); }
void BM_ReorderDst(benchmark::State& state) { run_reorder(state, Which::dst); }

// The fastest repetition too: on a shared machine it is the least disturbed one.
double min_of(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }

// {batch, channels, height = width}
void main_shapes(benchmark::internal::Benchmark* b) {
  b->Args({1, 64, 56})->Args({64, 64, 56})->UseRealTime()->MeasureProcessCPUTime()->Unit(benchmark::kMillisecond)->ComputeStatistics("min", min_of);
}
void small_shapes(benchmark::internal::Benchmark* b) {
  b->Args({1, 64, 56})->Args({1, 16, 14})->UseRealTime()->MeasureProcessCPUTime()->Unit(benchmark::kMicrosecond)->ComputeStatistics("min", min_of);
}

BENCHMARK(BM_ConvForward)->Apply(main_shapes);
BENCHMARK(BM_ConvBackwardData)->Apply(main_shapes);
BENCHMARK(BM_ConvBackwardWeights)->Apply(main_shapes);
BENCHMARK(BM_OnednnConvForwardOwnLayouts)->Apply(main_shapes);
BENCHMARK(BM_ReorderSrc)->Apply(main_shapes);
BENCHMARK(BM_ReorderWeights)->Apply(main_shapes);
BENCHMARK(BM_ReorderDst)->Apply(main_shapes);
BENCHMARK(BM_ConvForward)->Name("BM_ConvForward_Small")->Apply(small_shapes);
// Per-image cost against batch size (reorders of large batches stream through memory).
BENCHMARK(BM_ConvForward)
    ->Name("BM_ConvForward_BatchSweep")
    ->ArgsProduct({{4, 8, 16, 32}, {64}, {56}})
    ->UseRealTime()->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond)
    ->ComputeStatistics("min", min_of);
BENCHMARK(BM_OnednnConvForwardOwnLayouts)
    ->Name("BM_OnednnConvForwardOwnLayouts_BatchSweep")
    ->ArgsProduct({{4, 8, 16, 32}, {64}, {56}})
    ->UseRealTime()->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond)
    ->ComputeStatistics("min", min_of);
BENCHMARK(BM_ConvForward_OnlyOnednnCache)->Apply(small_shapes);
BENCHMARK(BM_ConvForward_NoCache)->Apply(small_shapes);
BENCHMARK(BM_ConvSelectOnly)
    ->ArgsProduct({{1}, {64}, {56}, {0, 1, 2}})
    ->Unit(benchmark::kMicrosecond)
    ->ComputeStatistics("min", min_of);
BENCHMARK(BM_ConvForwardLayerKinds)->DenseRange(0, 5)->UseRealTime()->MeasureProcessCPUTime()->Unit(benchmark::kMicrosecond)->ComputeStatistics("min", min_of);

}  // namespace

BENCHMARK_MAIN();
