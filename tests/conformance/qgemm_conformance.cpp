// Int8 GEMM: the oneDNN u8 x s8 matmul kernel (ai.leancnn QGemm, ONNX QLinearMatMul) against the
// integer reference, bit for bit, over M, N, K from 1 up (tails), per-tensor and per-column
// scales, zero points 0 and not, u8 / s8 / f32 outputs, Relu and Clip, with and without bias;
// unprepared and prepared.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "conformance_util.h"
#include "leancnn/core/error.h"
#include "leancnn/ir/passes.h"
#include "leancnn/kernels/kernel.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/ops/qlinear.h"

namespace leancnn::testing {
namespace {

constexpr const char* kKernel = "dnnl_qgemm_u8s8";

Tensor random_ints(const Shape& s, DType t, Rng& rng, int lo, int hi) {
  Tensor f = Tensor::empty(s);
  rng.fill_uniform(f, static_cast<float>(lo), static_cast<float>(hi) + 0.999f);
  std::vector<int64_t> v(f.numel());
  for (int64_t i = 0; i < f.numel(); ++i) v[i] = std::clamp(static_cast<int64_t>(std::floor(f.at(i))), int64_t{lo}, int64_t{hi});
  return Tensor::from_ints(s, v, t);
}

Tensor scalar_f(float v) { return Tensor::from_floats({}, {v}); }

struct QCfg {
  bool per_channel;
  int x_zp, y_zp;
  DType y_dtype;  // f32: no y_scale (QGemm only)
  const char* activation;
  bool bias;
};

OpCase qgemm_case(int64_t m, int64_t n, int64_t k, const QCfg& q, uint64_t seed, bool matmul) {
  Rng rng(seed);
  OpCase c;
  c.op_type = matmul ? "QLinearMatMul" : "QGemm";
  c.domain = matmul ? "" : ir::kLeancnnDomain;
  const float xs = 0.03f;
  Tensor ws = Tensor::empty({q.per_channel ? n : 1});
  rng.fill_uniform(ws, 0.004f, 0.012f);
  const float ys = xs * 0.008f * std::sqrt(static_cast<float>(k)) * 74.f * 73.f / 60.f;
  c.inputs = {random_ints({m, k}, DType::u8, rng, 0, 255), scalar_f(xs), Tensor::from_ints({}, {q.x_zp}, DType::u8),
              random_ints(matmul ? Shape{k, n} : Shape{n, k}, DType::s8, rng, -127, 127), ws,
              Tensor::zeros({ws.numel()}, DType::s8)};
  if (q.y_dtype == DType::f32) {
    c.inputs.push_back(Tensor());
    c.inputs.push_back(Tensor());
  } else {
    c.inputs.push_back(scalar_f(ys));
    c.inputs.push_back(Tensor::from_ints({}, {q.y_zp}, q.y_dtype));
  }
  if (q.bias) c.inputs.push_back(random_ints({n}, DType::s32, rng, -20000, 20000));
  if (!matmul && *q.activation) {
    c.attrs.set("activation", std::string(q.activation));
    if (std::string(q.activation) == "Clip") c.attrs.set("activation_params", std::vector<float>{-30.f * ys, 40.f * ys});
  }
  return c;
}

void expect_identical(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  ASSERT_EQ(got.shape(), want.shape()) << what;
  const size_t es = dtype_size(got.dtype());
  int64_t diffs = 0;
  for (int64_t i = 0; i < got.numel(); ++i)
    diffs += std::memcmp(static_cast<const uint8_t*>(got.raw()) + i * es, static_cast<const uint8_t*>(want.raw()) + i * es,
                         es) != 0;
  EXPECT_EQ(diffs, 0) << what << ": " << diffs << " of " << got.numel() << " elements differ";
}

Tensor run_prepared(const OpCase& c) {
  const ir::Graph g = single_node_graph(c);
  const ir::Node& n = g.node(0);
  const ir::OpTable& ops = ops::op_table();
  const std::vector<ir::TensorType> types = ir::infer_node(g, ops, n);
  ir::ForwardCtx ctx{n, {}, {}};
  for (const Tensor& t : c.inputs) ctx.inputs.push_back(t.defined() ? t.clone() : Tensor());
  ctx.outputs.push_back(Tensor::zeros(types[0].shape, types[0].dtype));
  const kernels::Kernel* k = nullptr;
  for (const kernels::Kernel& cand : kernels::kernel_list(ops.get(n)))
    if (cand.name == kKernel) k = &cand;
  if (!k) throw std::runtime_error("no kernel");
  const std::string why = k->check_forward(ctx);
  if (!why.empty()) throw std::runtime_error(std::string(kKernel) + " declined: " + why);
  std::shared_ptr<const void> state = k->prepare(ctx);
  if (!state) throw std::runtime_error("did not prepare");
  ctx.prepared = state.get();
  Rng rng(3);
  ctx.inputs[ops::kQW] = random_ints(ctx.inputs[ops::kQW].shape(), DType::s8, rng, -127, 127);
  k->forward(ctx);
  return ctx.outputs[0];
}

TEST(QGemmConformance, EveryShapeAndQuantizationBitExact) {
  const std::vector<QCfg> qs = {
      {false, 0, 0, DType::u8, "", true},       {true, 131, 77, DType::u8, "Relu", true},
      {true, 120, 100, DType::u8, "Clip", false}, {false, 250, -5, DType::s8, "", false},
      {true, 17, 0, DType::f32, "", true},      {true, 128, 0, DType::f32, "Relu", true},
  };
  const std::vector<std::array<int64_t, 3>> dims = {{1, 1, 1}, {1, 10, 512}, {3, 33, 7}, {17, 16, 64}, {5, 10, 300}};
  uint64_t seed = 1;
  for (const auto& d : dims)
    for (const QCfg& q : qs) {
      const std::string what = str_cat("m=", d[0], " n=", d[1], " k=", d[2], " per_channel=", q.per_channel,
                                       " x_zp=", q.x_zp, " y_zp=", q.y_zp, " ", dtype_name(q.y_dtype), " act='",
                                       q.activation, "' bias=", q.bias);
      const OpCase c = qgemm_case(d[0], d[1], d[2], q, seed++, false);
      const KernelForward ref = run_forward(c, false);
      const KernelForward fast = run_forward(c, true);
      EXPECT_EQ(fast.kernel, kKernel) << what;
      expect_identical(fast.outputs[0], ref.outputs[0], what);
      expect_identical(run_prepared(c), ref.outputs[0], what + " (prepared)");
    }
}

TEST(QGemmConformance, OnnxQLinearMatMulBitExact) {
  uint64_t seed = 50;
  for (const auto& d : std::vector<std::array<int64_t, 3>>{{1, 10, 512}, {3, 33, 7}, {8, 5, 64}})
    for (const QCfg& q : {QCfg{false, 3, 9, DType::u8, "", false}, QCfg{true, 128, 128, DType::u8, "", false},
                          QCfg{true, 0, -3, DType::s8, "", false}}) {
      const OpCase c = qgemm_case(d[0], d[1], d[2], q, seed++, true);
      const KernelForward ref = run_forward(c, false);
      const KernelForward fast = run_forward(c, true);
      EXPECT_EQ(fast.kernel, kKernel);
      expect_identical(fast.outputs[0], ref.outputs[0], str_cat("matmul m=", d[0], " n=", d[1], " k=", d[2]));
    }
}

}  // namespace
}  // namespace leancnn::testing
