// FusedConv: the oneDNN kernel (conv + bias + sum + eltwise post-ops) against the reference over
// odd channel counts, strides, asymmetric pads, dilation, groups, depthwise and batch 1 and 5,
// for each activation with and without B and Z, each both unprepared (as the executor runs it)
// and prepared (as an inference plan runs it: packed weights, no cache lookups).
#include <gtest/gtest.h>

#include <cstdlib>
#include <limits>
#include <thread>

#include "conformance_util.h"
#include "kernel_coverage.h"
#include "leancnn/core/error.h"
#include "prepared_run.h"
#include "own_conv_kernels_off.h"

namespace leancnn::testing {
namespace {

constexpr const char* kKernel = "dnnl_fused_conv_f32";

struct ShapeCfg {
  const char* name;
  Shape x, w;
  std::vector<int64_t> strides, pads, dilations;
  int64_t group;
};

struct ActCfg {
  const char* name;
  const char* activation;
  std::vector<float> params;
};

enum Epilogue { kNone = 0, kBias = 1, kResidual = 2, kBoth = 3 };

using Param = std::tuple<ShapeCfg, ActCfg, int>;

// The output shape of a conv geometry (through the op's shape inference).
Shape output_shape(const OpCase& c) {
  OpCase conv = c;
  conv.inputs.resize(2);
  return run_reference(conv).inferred[0].shape;
}

OpCase fused_case(const ShapeCfg& s, const ActCfg& a, int epilogue, uint64_t seed) {
  Rng rng(seed);
  OpCase c;
  c.op_type = "FusedConv";
  c.domain = ir::kLeancnnDomain;
  c.inputs = {random_tensor(s.x, rng), random_tensor(s.w, rng)};
  c.attrs.set("strides", s.strides);
  c.attrs.set("pads", s.pads);
  c.attrs.set("dilations", s.dilations);
  c.attrs.set("group", s.group);
  c.attrs.set("activation", std::string(a.activation));
  c.attrs.set("activation_params", a.params);
  c.inputs.push_back(epilogue & kBias ? random_tensor({s.w[0]}, rng) : Tensor());
  if (epilogue & kResidual) c.inputs.push_back(random_tensor(output_shape(c), rng));
  return c;
}

int64_t taps(const ShapeCfg& s) { return s.w[1] * s.w[2] * s.w[3]; }  // ic/group * kh * kw

class FusedConvConformance : public ::testing::TestWithParam<Param> {
  const OwnConvKernelsOff own_off_;  // ic64_weights_heavy is inside the Winograd and direct rules
};

LEANCNN_COVERS("Cases/FusedConvConformance.UnpreparedAndPreparedMatchReference/*", "FusedConv", kKernel);
TEST_P(FusedConvConformance, UnpreparedAndPreparedMatchReference) {
  const auto& [s, a, epilogue] = GetParam();
  const OpCase c = fused_case(s, a, epilogue, 71);
  const KernelForward ref = run_forward(c, false);
  ASSERT_EQ(ref.kernel, "reference");
  const KernelForward fast = run_forward(c, true);
  ASSERT_EQ(fast.kernel, kKernel);
  expect_close(fast.outputs[0], ref.outputs[0], fp32_tol(taps(s)), "unprepared Y");
  const PreparedForward prepared = run_forward_prepared(c, kKernel);
  ASSERT_TRUE(prepared.prepared);
  EXPECT_EQ(prepared.cache_lookups, 0);
  expect_close(prepared.fwd.outputs[0], ref.outputs[0], fp32_tol(taps(s)), "prepared Y");
}

const ShapeCfg kShapes[] = {
    {"ic1", {1, 1, 8, 8}, {4, 1, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1},
    {"ic3_stride2", {1, 3, 9, 9}, {7, 3, 3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 1},
    {"ic7_asym_pads_batch5", {5, 7, 10, 9}, {13, 7, 3, 3}, {1, 1}, {0, 1, 2, 1}, {1, 1}, 1},
    {"ic13_5x5_stride2", {1, 13, 11, 11}, {7, 13, 5, 5}, {2, 2}, {2, 2, 2, 2}, {1, 1}, 1},
    {"groups3", {2, 12, 9, 9}, {18, 4, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 3},
    {"depthwise13_stride2", {1, 13, 12, 12}, {13, 1, 3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 13},
    {"depthwise64_batch5", {5, 64, 10, 10}, {64, 1, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 64},
    {"dilation", {1, 7, 13, 13}, {5, 7, 3, 3}, {1, 1}, {2, 3, 2, 3}, {2, 3}, 1},
    {"ic16_stride_dilation_asym", {1, 16, 15, 15}, {24, 16, 3, 3}, {2, 1}, {1, 0, 0, 2}, {1, 2}, 1},
    {"pointwise_16to64_batch5", {5, 16, 7, 7}, {64, 16, 1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1},
    {"pointwise_13to24_12x12", {1, 13, 12, 12}, {24, 13, 1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1},
    {"pointwise_stride2", {1, 13, 9, 9}, {16, 13, 1, 1}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 1},
    {"ic64_weights_heavy", {1, 64, 7, 7}, {64, 64, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1},
};

const ActCfg kActs[] = {
    {"none", "", {}},
    {"relu", "Relu", {}},
    {"clip", "Clip", {-0.5f, 0.8f}},
    {"hardswish", "HardSwish", {}},
};

std::string param_name(const ::testing::TestParamInfo<Param>& i) {
  static const char* const epilogues[] = {"plain", "B", "Z", "BZ"};
  return std::string(std::get<0>(i.param).name) + "_" + std::get<1>(i.param).name + "_" +
         epilogues[std::get<2>(i.param)];
}

INSTANTIATE_TEST_SUITE_P(Cases, FusedConvConformance,
                         ::testing::Combine(::testing::ValuesIn(kShapes), ::testing::ValuesIn(kActs),
                                            ::testing::Values(kNone, kBias, kResidual, kBoth)),
                         param_name);

// Clip's edge cases: min > max gives max everywhere (ONNX), infinite-width bounds (ONNX's
// defaults, what a fused Clip without min or max carries), and ReLU6.
TEST(FusedConvDnnl, ClipBoundsEdgeCases) {
  const ShapeCfg s = kShapes[2];
  const float lowest = std::numeric_limits<float>::lowest(), highest = std::numeric_limits<float>::max();
  for (const ActCfg& a : {ActCfg{"min_above_max", "Clip", {0.5f, -0.25f}}, ActCfg{"open", "Clip", {lowest, highest}},
                          ActCfg{"min_only", "Clip", {0.f, highest}}, ActCfg{"relu6", "Clip", {0.f, 6.f}}}) {
    SCOPED_TRACE(a.name);
    const OpCase c = fused_case(s, a, kBoth, 72);
    const KernelForward ref = run_forward(c, false), fast = run_forward(c, true);
    ASSERT_EQ(fast.kernel, kKernel);
    expect_close(fast.outputs[0], ref.outputs[0], fp32_tol(taps(s)), "unprepared Y");
    expect_close(run_forward_prepared(c, kKernel).fwd.outputs[0], ref.outputs[0], fp32_tol(taps(s)), "prepared Y");
  }
}

// A plan may place Y over the storage of a residual that dies at this node: Z is then used in
// place. Every layout policy (plain NCHW: the sum reads Y itself; blocked: Z is reordered into
// the primitive's buffer) and repeated runs of one prepared state.
TEST(FusedConvDnnl, OutputOverTheResidualsStorage) {
  for (const char* layout : {"plain", "blocked", "channel"}) {
    SCOPED_TRACE(layout);
    setenv("LEANCNN_DNNL_CONV_LAYOUT", layout, 1);  // read at every prepare
    for (const ShapeCfg& s : {kShapes[2], kShapes[9], kShapes[10], kShapes[6]}) {
      SCOPED_TRACE(s.name);
      const OpCase c = fused_case(s, kActs[1], kBoth, 73);
      const KernelForward ref = run_forward(c, false);
      PrepareOptions opt;
      opt.output_over_input = 3;
      opt.runs = 3;
      const PreparedForward p = run_forward_prepared(c, kKernel, opt);
      expect_close(p.fwd.outputs[0], ref.outputs[0], fp32_tol(taps(s)), "prepared Y over Z");
    }
    unsetenv("LEANCNN_DNNL_CONV_LAYOUT");
  }
  // Unprepared, with the policy's own choice.
  const OpCase c = fused_case(kShapes[3], kActs[3], kBoth, 74);
  const KernelForward ref = run_forward(c, false);
  const kernels::Kernel* k = nullptr;
  for (const kernels::Kernel& cand : kernels::kernel_list(ops::op_table().get(single_node_graph(c).node(0))))
    if (cand.name == kKernel) k = &cand;
  ASSERT_NE(k, nullptr);
  const ir::Graph g = single_node_graph(c);
  std::vector<Tensor> in;
  for (const Tensor& t : c.inputs) in.push_back(t.defined() ? t.clone() : Tensor());
  ir::ForwardCtx ctx{g.node(0), in, {in[3]}};
  ASSERT_EQ(k->check_forward(ctx), "");
  k->forward(ctx);
  expect_close(ctx.outputs[0], ref.outputs[0], fp32_tol(taps(kShapes[3])), "unprepared Y over Z");
}

// Every layout policy gives the same results when prepared.
TEST(FusedConvDnnl, PreparedUnderEachLayoutPolicy) {
  for (const char* layout : {"plain", "blocked", "channel"}) {
    SCOPED_TRACE(layout);
    setenv("LEANCNN_DNNL_CONV_LAYOUT", layout, 1);
    for (const ShapeCfg& s : kShapes) {
      SCOPED_TRACE(s.name);
      const OpCase c = fused_case(s, kActs[3], kBoth, 75);
      expect_close(run_forward_prepared(c, kKernel).fwd.outputs[0], run_forward(c, false).outputs[0],
                   fp32_tol(taps(s)), "prepared Y");
    }
    unsetenv("LEANCNN_DNNL_CONV_LAYOUT");
  }
}

// Prepared under every pair of X and Y layouts a plan may give it (Z in Y's), the epilogue in
// full; channels-last Y and Z add Z by a binary post-op, also with Y over Z's storage. A single input channel (ResNet-20's stem) is described to oneDNN channels-last whatever X's
// layout, the bytes being the same; the other shapes keep X's own.
TEST(FusedConvDnnl, PreparedUnderEachLayoutPair) {
  const OwnConvKernelsOff own_off;
  const ShapeCfg shapes[] = {
      kShapes[0],  // ic1 8x8
      {"ic1_r20_stem", {1, 1, 28, 28}, {16, 1, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1},
      {"ic1_batch3_stride2", {3, 1, 11, 10}, {8, 1, 3, 3}, {2, 2}, {1, 0, 1, 1}, {1, 1}, 1},
      kShapes[1],  // ic3 stride 2
      kShapes[8],  // ic16, stride, dilation, asymmetric pads
  };
  uint64_t seed = 310;
  for (const ShapeCfg& s : shapes)
    for (const int epilogue : {kBias, kBoth})
      for (const auto& [in_nhwc, out_nhwc] : {std::pair{false, false}, {false, true}, {true, false}, {true, true}}) {
        const std::string what = str_cat(s.name, " epilogue ", epilogue, in_nhwc ? " NHWC" : " NCHW", " -> ",
                                         out_nhwc ? "NHWC" : "NCHW");
        const OpCase c = fused_case(s, kActs[1], epilogue, seed++);
        PrepareOptions opt;
        opt.channels_last = (in_nhwc ? ir::channels_last_input(0) : 0u) |
                            (out_nhwc ? ir::channels_last_output(0) | ir::channels_last_input(3) : 0u);
        const PreparedForward r = run_forward_prepared(c, kKernel, opt);
        ASSERT_TRUE(r.prepared) << what;
        const Tensor ref = run_forward(c, false).outputs[0];
        expect_close(r.fwd.outputs[0], ref, fp32_tol(taps(s)), what);
        if (epilogue == kBoth && in_nhwc && out_nhwc) {  // Y over Z's storage (Z read by a binary add)
          opt.output_over_input = 3;
          opt.runs = 2;
          expect_close(run_forward_prepared(c, kKernel, opt).fwd.outputs[0], ref, fp32_tol(taps(s)), what + " Y over Z");
        }
      }
}

// One prepared state run from several threads at once (shared packed weights and primitive,
// per-thread scratchpads and staging) gives the single-threaded result.
TEST(FusedConvDnnl, ConcurrentRunsOfOnePreparedState) {
  const ShapeCfg s{"threads", {2, 16, 12, 12}, {16, 16, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1};
  const OpCase c = fused_case(s, kActs[2], kBoth, 76);
  const ir::Graph g = single_node_graph(c);
  const kernels::Kernel* k = nullptr;
  for (const kernels::Kernel& cand : kernels::kernel_list(ops::op_table().get(g.node(0))))
    if (cand.name == kKernel) k = &cand;
  ASSERT_NE(k, nullptr);
  ir::ForwardCtx prep{g.node(0), c.inputs, {Tensor::full(output_shape(c), NAN)}};
  const std::shared_ptr<const void> state = k->prepare(prep);
  ASSERT_NE(state, nullptr);
  const Tensor expected = run_forward(c, false).outputs[0];
  std::vector<Tensor> results(4);
  std::vector<std::thread> workers;
  for (Tensor& r : results)
    workers.emplace_back([&, out = &r] {
      for (int i = 0; i < 5; ++i) {
        ir::ForwardCtx ctx{g.node(0), c.inputs, {Tensor::full(expected.shape(), NAN)}};
        ctx.prepared = state.get();
        k->forward(ctx);
        *out = ctx.outputs[0];
      }
    });
  for (std::thread& w : workers) w.join();
  for (const Tensor& r : results) expect_close(r, expected, fp32_tol(taps(s)), "Y from a concurrent prepared run");
}

}  // namespace
}  // namespace leancnn::testing
