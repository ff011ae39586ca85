// BatchNormalization fp32 on NCHW at ResNet-20's training shapes (batch 128, 28x28 input):
// our cpu_batch_norm_f32 against oneDNN 2.6's kernel, training forward and backward, 2 threads.
// Reported as GB/s of the tensors a pass must touch (forward: read x, write y; backward: read x
// and dy, write dx), so the figure compares with the machine's memory bandwidth.
//   batch_norm_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "leancnn/core/cpu.h"
#include "leancnn/core/rng.h"
#include "leancnn/kernels/kernel.h"
#include "leancnn/ops/op_table.h"

namespace {
using namespace leancnn;

Tensor random(const Shape& shape, uint64_t seed, float lo = -1.f, float hi = 1.f) {
  Tensor t = Tensor::empty(shape);
  Rng rng(seed);
  rng.fill_uniform(t, lo, hi);
  return t;
}

const kernels::Kernel& kernel_named(const ir::OpSchema& op, const std::string& name) {
  for (const kernels::Kernel& k : kernels::kernel_list(op))
    if (k.name == name) return k;
  throw std::runtime_error("no kernel " + name);
}

struct BnLayer {
  ir::Graph graph;
  Tensor x, scale, bias, mean, var, y, dy, dx, dscale, dbias;
  explicit BnLayer(const Shape& shape) {
    const int64_t c = shape[1];
    x = random(shape, 1);
    scale = random({c}, 2, 0.5f, 1.5f);
    bias = random({c}, 3);
    mean = Tensor::zeros({c});
    var = Tensor::full({c}, 1.f);
    y = Tensor::zeros(shape);
    dy = random(shape, 4);
    dx = Tensor::zeros(shape);
    dscale = Tensor::zeros({c});
    dbias = Tensor::zeros({c});
    std::vector<ir::ValueId> in{graph.add_input("x", shape)};
    for (const char* n : {"scale", "bias", "mean", "var"}) in.push_back(graph.add_input(n, {c}));
    const ir::ValueId out = graph.add_value("y");
    graph.add_node("BatchNormalization", in, {out}, {}, "bn");
  }
  const ir::Node& node() const { return graph.node(0); }
};

const char* const kKernels[] = {"cpu_batch_norm_f32", "dnnl_batch_norm_f32"};
const Shape kShapes[] = {{128, 16, 28, 28}, {128, 32, 14, 14}, {128, 64, 7, 7}};

void set_bytes(benchmark::State& state, double bytes) {
  state.counters["GBps"] = benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// Args: shape index, kernel index.
void BM_BatchNormTrainForward(benchmark::State& state) {
  set_num_threads(2);
  BnLayer l(kShapes[state.range(0)]);
  const kernels::Kernel& k = kernel_named(ops::op_table().get(l.node()), kKernels[state.range(1)]);
  state.SetLabel(k.name);
  for (auto _ : state) {
    std::vector<Tensor> saved;
    ir::ForwardCtx ctx{l.node(), {l.x, l.scale, l.bias, l.mean, l.var}, {l.y}, true, nullptr, &saved};
    k.forward(ctx);
  }
  set_bytes(state, 2.0 * static_cast<double>(l.x.numel()) * 4);
}

void BM_BatchNormBackward(benchmark::State& state) {
  set_num_threads(2);
  BnLayer l(kShapes[state.range(0)]);
  const kernels::Kernel& k = kernel_named(ops::op_table().get(l.node()), kKernels[state.range(1)]);
  state.SetLabel(k.name);
  std::vector<Tensor> saved;
  ir::ForwardCtx f{l.node(), {l.x, l.scale, l.bias, l.mean, l.var}, {l.y}, true, nullptr, &saved};
  k.forward(f);
  for (auto _ : state) {
    ir::BackwardCtx ctx{l.node(), {l.x, l.scale, l.bias, l.mean, l.var}, {l.y}, saved, {l.dy},
                        {l.dx, l.dscale, l.dbias}};
    k.backward(ctx);
  }
  set_bytes(state, 3.0 * static_cast<double>(l.x.numel()) * 4);
}

BENCHMARK(BM_BatchNormTrainForward)->ArgsProduct({{0, 1, 2}, {0, 1}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_BatchNormBackward)->ArgsProduct({{0, 1, 2}, {0, 1}})->Unit(benchmark::kMillisecond)->UseRealTime();
}  // namespace

BENCHMARK_MAIN();
