// Tensor: allocation, alignment, views, copies, b1 packing.
#include <gtest/gtest.h>

#include <cstdint>

#include "leancnn/core/error.h"
#include "leancnn/core/tensor.h"

namespace leancnn {
namespace {

TEST(Tensor, AllocatesAligned) {
  for (DType t : {DType::f32, DType::s8, DType::u8, DType::s32, DType::s64, DType::b1}) {
    Tensor x = Tensor::zeros({3, 5, 7}, t);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(x.raw()) % 64, 0u) << dtype_name(t);
    EXPECT_EQ(x.numel(), 105);
  }
}

TEST(Tensor, ContiguousStridesAndBytes) {
  Tensor x = Tensor::empty({2, 3, 4, 5});
  EXPECT_EQ(x.strides(), (std::vector<int64_t>{60, 20, 5, 1}));
  EXPECT_TRUE(x.is_contiguous());
  EXPECT_EQ(x.nbytes(), 120u * 4);
  EXPECT_EQ(Tensor::empty({7}, DType::s8).nbytes(), 7u);
}

TEST(Tensor, BatchSliceIsAView) {
  Tensor x = Tensor::from_floats({3, 2}, {0, 1, 2, 3, 4, 5});
  Tensor s = x.slice_batch(1, 3);
  EXPECT_EQ(s.shape(), (Shape{2, 2}));
  EXPECT_EQ(s.at(0), 2.f);
  s.data<float>()[0] = 42.f;  // shares storage
  EXPECT_EQ(x.at(2), 42.f);
  EXPECT_THROW(x.slice_batch(2, 4), Error);
}

TEST(Tensor, CloneIsDeep) {
  Tensor x = Tensor::full({4}, 1.f);
  Tensor y = x.clone();
  y.data<float>()[0] = 9.f;
  EXPECT_EQ(x.at(0), 1.f);
}

TEST(Tensor, ReshapeKeepsData) {
  Tensor x = Tensor::from_floats({2, 3}, {0, 1, 2, 3, 4, 5});
  Tensor y = x.reshape({3, 2});
  EXPECT_EQ(y.at(5), 5.f);
  EXPECT_THROW(x.reshape({4, 2}), Error);
}

TEST(Tensor, WrongDtypeAccessThrows) {
  Tensor x = Tensor::zeros({2}, DType::s8);
  EXPECT_THROW(x.data<float>(), Error);
  EXPECT_NO_THROW(x.data<int8_t>());
}

TEST(Tensor, B1PacksRowsIntoWords) {
  // 2 rows of 70 bits: each row takes 2 words, padding bits stay 0.
  Tensor b = Tensor::zeros({2, 70}, DType::b1);
  EXPECT_EQ(b.b1_row_words(), 2);
  EXPECT_EQ(b.nbytes(), 2u * 2 * 8);
  b.b1_set(0, true);
  b.b1_set(69, true);
  b.b1_set(70, true);  // row 1, bit 0
  const auto* w = static_cast<const uint64_t*>(b.raw());
  EXPECT_EQ(w[0], 1u);
  EXPECT_EQ(w[1], uint64_t{1} << 5);
  EXPECT_EQ(w[2], 1u);
  EXPECT_TRUE(b.b1_get(69));
  EXPECT_FALSE(b.b1_get(68));
  Tensor row1 = b.slice_batch(1, 2);
  EXPECT_TRUE(row1.b1_get(0));
  EXPECT_FALSE(row1.b1_get(1));
}

TEST(Tensor, FromIntsConverts) {
  Tensor x = Tensor::from_ints({3}, {-1, 0, 7}, DType::s32);
  EXPECT_EQ(x.data<int32_t>()[0], -1);
  EXPECT_EQ(x.data<int32_t>()[2], 7);
}

TEST(Shape, Strings) {
  EXPECT_EQ(shape_str({1, 3, 32, 32}), "1x3x32x32");
  EXPECT_EQ(shape_str({}), "scalar");
  EXPECT_EQ(shape_numel({}), 1);
}

}  // namespace
}  // namespace leancnn
