// The binary ops' conventions: the packed format (bit 1 = +1, LSB first, ternary codes), the
// BinaryWeights decode and its storage view (1 or 2 bits per weight for the size figures), shape
// inference errors, and the BinaryConv reference against Conv on sign inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "leancnn/core/error.h"
#include "leancnn/ir/passes.h"
#include "leancnn/ir/storage.h"
#include "leancnn/ops/binary_net.h"
#include "leancnn/ops/op_table.h"
#include "op_harness.h"

namespace leancnn::testing {
namespace {

TEST(BinaryFormat, SignsPackLsbFirstWithBitOneForPlusOne) {
  const std::vector<float> w = {1.f, -1.f, 0.f, -0.5f, 2.f, -3.f, 1.f, 1.f, -1.f, 5.f};
  const std::vector<uint8_t> p = ops::pack_signs(w.data(), 10);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0], 0b11010101);  // elements 0..7: + - + - + - + + (sign(0) = +1)
  EXPECT_EQ(p[1], 0b10);        // elements 8, 9: - +; the six padding bits are 0
  for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(ops::packed_code(p.data(), i, 1), w[i] >= 0 ? 1 : -1) << i;
}

TEST(BinaryFormat, TernaryCodesRoundTripAndRejectTheInvalidCode) {
  const std::vector<float> w = {0.f, 0.3f, -0.3f, 0.f, -1.f};
  const std::vector<uint8_t> p = ops::pack_ternary(w.data(), 5);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0], 0b00110100);
  for (int64_t i = 0; i < 5; ++i) EXPECT_EQ(ops::packed_code(p.data(), i, 2), w[i] > 0 ? 1 : w[i] < 0 ? -1 : 0);
  const uint8_t bad = 0b10;
  EXPECT_THROW(ops::packed_code(&bad, 0, 2), Error);
}

OpCase weights_case(const Shape& shape, int bits, uint64_t seed, std::vector<float>* logical) {
  Rng rng(seed);
  const int64_t n = shape_numel(shape);
  std::vector<float> codes(static_cast<size_t>(n));
  for (float& c : codes) c = bits == 1 ? (rng.uniform() < 0.5f ? -1.f : 1.f) : static_cast<float>(rng.below(3) - 1);
  const std::vector<uint8_t> p = bits == 1 ? ops::pack_signs(codes.data(), n) : ops::pack_ternary(codes.data(), n);
  Tensor packed = Tensor::empty({static_cast<int64_t>(p.size())}, DType::u8);
  std::copy(p.begin(), p.end(), packed.data<uint8_t>());
  Tensor alpha = random_tensor({shape[0]}, rng, 0.1f, 1.f);
  if (logical) {
    const int64_t inner = n / shape[0];
    logical->resize(codes.size());
    for (int64_t i = 0; i < n; ++i) (*logical)[i] = codes[i] * alpha.data<float>()[i / inner];
  }
  OpCase c;
  c.op_type = "BinaryWeights";
  c.domain = ir::kLeancnnDomain;
  c.inputs = {packed, alpha};
  c.attrs.set("shape", shape);
  c.attrs.set("bits", int64_t{bits});
  return c;
}

TEST(BinaryWeightsOp, DecodesCodeTimesRowAlpha) {
  for (int bits : {1, 2}) {
    std::vector<float> want;
    const OpCase c = weights_case({5, 3, 3, 3}, bits, 4 + bits, &want);
    const OpRun r = run_reference(c);
    ASSERT_EQ(r.outputs[0].shape(), (Shape{5, 3, 3, 3}));
    for (int64_t i = 0; i < r.outputs[0].numel(); ++i) EXPECT_EQ(r.outputs[0].data<float>()[i], want[i]) << bits << " " << i;
  }
}

TEST(BinaryWeightsOp, StorageViewReportsOneOrTwoBitsPerWeight) {
  for (int bits : {1, 2}) {
    std::vector<float> logical;
    const OpCase c = weights_case({8, 4, 3, 3}, bits, 9, &logical);
    const ir::Graph g = single_node_graph(c);
    const ir::StoredTensor s = ir::stored_tensor(g, ops::op_table(), g.node(0).outputs[0]);
    ASSERT_TRUE(s.defined());
    EXPECT_EQ(s.bits, bits);
    EXPECT_EQ(s.count, 8 * 4 * 9);
    int64_t nonzero = 0;
    for (float v : logical) nonzero += v != 0.f;
    EXPECT_EQ(ir::stored_nonzero(g, s), nonzero);
  }
}

TEST(BinaryWeightsOp, RejectsAWrongByteCountNamingTheFix) {
  OpCase c = weights_case({4, 10}, 1, 1, nullptr);
  c.inputs[0] = Tensor::zeros({4}, DType::u8);  // needs 5 bytes
  try {
    run_reference(c);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("needs 5"), std::string::npos) << e.what();
  }
}

TEST(BinaryConvOp, ReferenceEqualsConvOnSignsWithZeroPadding) {
  Rng rng(2);
  const Tensor x = random_tensor({2, 5, 6, 7}, rng, -1.f, 1.f);
  Tensor w = Tensor::empty({4, 5, 3, 3});
  for (int64_t r = 0; r < 4; ++r)
    for (int64_t i = 0; i < 45; ++i) w.data<float>()[r * 45 + i] = (rng.uniform() < 0.5f ? -1.f : 1.f) * 0.25f * (r + 1);
  const Tensor b = random_tensor({4}, rng);
  Tensor signs = x.clone();
  for (int64_t i = 0; i < signs.numel(); ++i) signs.data<float>()[i] = x.data<float>()[i] >= 0 ? 1.f : -1.f;
  OpCase conv;
  conv.op_type = "Conv";
  conv.inputs = {signs, w, b};
  conv.attrs.set("pads", std::vector<int64_t>{1, 0, 1, 2});
  conv.attrs.set("strides", std::vector<int64_t>{1, 2});
  OpCase bin = conv;
  bin.op_type = "BinaryConv";
  bin.domain = ir::kLeancnnDomain;
  bin.inputs[0] = x;
  const Tensor want = run_reference(conv).outputs[0];
  const Tensor got = run_reference(bin).outputs[0];
  ASSERT_EQ(got.shape(), want.shape());
  for (int64_t i = 0; i < got.numel(); ++i) EXPECT_NEAR(got.data<float>()[i], want.data<float>()[i], 1e-5) << i;
}

TEST(BinaryConvOp, RejectsGroupsAndNonBinaryWeights) {
  Rng rng(1);
  OpCase c;
  c.op_type = "BinaryConv";
  c.domain = ir::kLeancnnDomain;
  c.inputs = {random_tensor({1, 4, 5, 5}, rng), random_tensor({4, 2, 3, 3}, rng)};
  c.attrs.set("group", int64_t{2});
  EXPECT_THROW(run_reference(c), Error);
  c.attrs = {};
  c.inputs[1] = random_tensor({4, 4, 3, 3}, rng);  // not ±alpha per row
  EXPECT_THROW(run_reference(c), Error);
}

}  // namespace
}  // namespace leancnn::testing
