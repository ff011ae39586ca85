// Int8 GEMM: every fast kernel of ai.leancnn QGemm / ONNX QLinearMatMul (oneDNN's u8 x s8
// matmul, the s16 AVX2 kernel) against the integer reference, bit for bit, over M, N, K from 1 up
// (tails, several row tiles, several K chunks), per-tensor and per-column scales, zero points 0
// and not, u8 / s8 / f32 outputs, Relu and Clip, with and without bias, s8 activations and
// asymmetric weights; unprepared and prepared; the dispatcher's choice asserted for this CPU.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "int8_conformance.h"
#include "kernel_coverage.h"
#include "leancnn/core/error.h"
#include "leancnn/ir/passes.h"
#include "leancnn/kernels/kernel.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/ops/qlinear.h"

namespace leancnn::testing {
namespace {

constexpr const char* kDnnl = "dnnl_qgemm_u8s8";
constexpr const char* kS16 = "cpu_qgemm_s16_avx2";

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

// The cases' weights use all 8 bits: oneDNN takes them where its pair sums cannot saturate.
LEANCNN_COVERS_WHERE("QGemmConformance.EveryShapeAndQuantizationBitExact", "QGemm", kDnnl,
                     int8_dnnl_takes_8bit_weights_here);
LEANCNN_COVERS_WHERE("QGemmConformance.EveryShapeAndQuantizationBitExact", "QGemm", kS16, int8_s16_kernels_run_here);
TEST(QGemmConformance, EveryShapeAndQuantizationBitExact) {
  const std::vector<QCfg> qs = {
      {false, 0, 0, DType::u8, "", true},       {true, 131, 77, DType::u8, "Relu", true},
      {true, 120, 100, DType::u8, "Clip", false}, {false, 250, -5, DType::s8, "", false},
      {true, 17, 0, DType::f32, "", true},      {true, 128, 0, DType::f32, "Relu", true},
  };
  const std::vector<std::array<int64_t, 3>> dims = {{1, 1, 1},    {1, 10, 512}, {3, 33, 7},
                                                     {17, 16, 64}, {5, 10, 300}, {2, 20, 1301}};
  uint64_t seed = 1;
  for (const auto& d : dims)
    for (const QCfg& q : qs) {
      const std::string what = str_cat("m=", d[0], " n=", d[1], " k=", d[2], " per_channel=", q.per_channel,
                                       " x_zp=", q.x_zp, " y_zp=", q.y_zp, " ", dtype_name(q.y_dtype), " act='",
                                       q.activation, "' bias=", q.bias);
      check_int8_kernels(qgemm_case(d[0], d[1], d[2], q, seed++, false), kDnnl, kS16, what);
    }
}

LEANCNN_COVERS_WHERE("QGemmConformance.OnnxQLinearMatMulBitExact", "QLinearMatMul", kDnnl,
                     int8_dnnl_takes_8bit_weights_here);
LEANCNN_COVERS_WHERE("QGemmConformance.OnnxQLinearMatMulBitExact", "QLinearMatMul", kS16, int8_s16_kernels_run_here);
TEST(QGemmConformance, OnnxQLinearMatMulBitExact) {
  uint64_t seed = 50;
  for (const auto& d : std::vector<std::array<int64_t, 3>>{{1, 10, 512}, {3, 33, 7}, {8, 5, 64}})
    for (const QCfg& q : {QCfg{false, 3, 9, DType::u8, "", false}, QCfg{true, 128, 128, DType::u8, "", false},
                          QCfg{true, 0, -3, DType::s8, "", false}}) {
      check_int8_kernels(qgemm_case(d[0], d[1], d[2], q, seed++, true), kDnnl, kS16,
                         str_cat("matmul m=", d[0], " n=", d[1], " k=", d[2]));
    }
}

// What oneDNN's kernel does not take the s16 kernel runs exactly: s8 activations, asymmetric
// and u8 weights (per column zero points), for QGemm and QLinearMatMul.
LEANCNN_COVERS_WHERE("QGemmConformance.S8ActivationsAndAsymmetricWeightsRunOnTheS16Kernel", "QGemm", kS16,
                     int8_s16_kernels_run_here);
LEANCNN_COVERS_WHERE("QGemmConformance.S8ActivationsAndAsymmetricWeightsRunOnTheS16Kernel", "QLinearMatMul", kS16,
                     int8_s16_kernels_run_here);
TEST(QGemmConformance, S8ActivationsAndAsymmetricWeightsRunOnTheS16Kernel) {
  uint64_t seed = 90;
  for (bool matmul : {false, true}) {
    OpCase c = qgemm_case(7, 21, 40, {true, 0, 5, DType::u8, "", true}, seed++, matmul);
    Rng rng(seed);
    c.inputs[ops::kQX] = random_ints(c.inputs[ops::kQX].shape(), DType::s8, rng, -128, 127);
    c.inputs[ops::kQXZp] = Tensor::from_ints({}, {11}, DType::s8);
    c.inputs[ops::kQWZp] = random_ints(c.inputs[ops::kQWZp].shape(), DType::s8, rng, -5, 5);
    EXPECT_FALSE(kernel_accepts(c, kDnnl));
    check_int8_kernels(c, kDnnl, kS16, str_cat("s8 x, asymmetric s8 w, matmul=", matmul));
    c.inputs[ops::kQW] = random_ints(c.inputs[ops::kQW].shape(), DType::u8, rng, 0, 255);
    c.inputs[ops::kQWZp] = random_ints(c.inputs[ops::kQWZp].shape(), DType::u8, rng, 120, 135);
    check_int8_kernels(c, kDnnl, kS16, str_cat("s8 x, u8 w, matmul=", matmul));
  }
}

}  // namespace
}  // namespace leancnn::testing
