// TensorProto files (leancnn/io/tensor_proto.h): round trips of every dtype ONNX can hold,
// the typed-field and BOOL forms other writers use, atomic writes, and malformed files as
// Error(bad_input) naming the file and field.
#include "leancnn/io/tensor_proto.h"

#include <gtest/gtest.h>

#include <cstring>

#include "leancnn/core/rng.h"
#include "onnx_proto_util.h"
#include "onnx_test_support.h"

namespace leancnn {
namespace {

using namespace onnx_test;
using TensorProtoFiles = OnnxDir;

void expect_bad(const std::string& bytes, const std::string& needle) {
  try {
    io::parse_tensor_proto(bytes);
    ADD_FAILURE() << "parsed";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::bad_input);
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST_F(TensorProtoFiles, EveryDtypeRoundTripsBitExactly) {
  Tensor f = Tensor::empty({2, 3, 4});
  Rng(1).fill_uniform(f, -5.f, 5.f);
  const std::vector<Tensor> tensors = {f, Tensor::from_ints({3}, {-1, 0, int64_t{1} << 40}, DType::s64),
                                       Tensor::from_ints({2, 2}, {-7, 8, 9, -10}, DType::s32),
                                       Tensor::from_ints({4}, {-128, -1, 0, 127}, DType::s8),
                                       Tensor::from_ints({1, 2}, {0, 255}, DType::u8), Tensor::full({}, 3.5f)};
  for (size_t i = 0; i < tensors.size(); ++i) {
    const fs::path p = file("t" + std::to_string(i) + ".pb");
    io::write_tensor_proto(p.string(), tensors[i], "value_" + std::to_string(i));
    const io::NamedTensor back = io::read_tensor_proto(p.string());
    EXPECT_EQ(back.name, "value_" + std::to_string(i));
    ASSERT_EQ(back.tensor.dtype(), tensors[i].dtype());
    ASSERT_EQ(back.tensor.shape(), tensors[i].shape());
    EXPECT_EQ(std::memcmp(back.tensor.raw(), tensors[i].raw(), tensors[i].nbytes()), 0) << i;
  }
  EXPECT_EQ(others("t0.pb").size(), tensors.size() - 1) << "no temporary files left";
  const fs::path packed = file("b1.pb");
  EXPECT_THROW(io::write_tensor_proto(packed.string(), Tensor::zeros({64}, DType::b1), "bits"), Error);
  EXPECT_FALSE(fs::exists(packed));
}

TEST_F(TensorProtoFiles, TypedFieldsAndBoolAsOtherWritersStoreThem) {
  onnx::TensorProto t;
  t.set_name("x");
  t.set_data_type(onnx::TensorProto::FLOAT);
  t.add_dims(2);
  t.add_float_data(1.5f);
  t.add_float_data(-2.f);
  io::NamedTensor r = io::parse_tensor_proto(t.SerializeAsString());
  ASSERT_EQ(r.tensor.shape(), (Shape{2}));
  EXPECT_EQ(r.tensor.at(1), -2.f);

  onnx::TensorProto b;  // ONNX's BOOL (Dropout's mask) reads as u8 0/1
  b.set_data_type(onnx::TensorProto::BOOL);
  b.add_dims(3);
  for (int v : {1, 0, 1}) b.add_int32_data(v);
  r = io::parse_tensor_proto(b.SerializeAsString());
  ASSERT_EQ(r.tensor.dtype(), DType::u8);
  EXPECT_EQ(static_cast<const uint8_t*>(r.tensor.raw())[2], 1);
  b.set_int32_data(1, 2);
  expect_bad(b.SerializeAsString(), "int32_data");
}

TEST_F(TensorProtoFiles, MalformedFilesAreErrorsNamingTheField) {
  expect_bad("not a protobuf at all \xff\xff\xff", "TensorProto");
  expect_bad("", "TensorProto");
  onnx::TensorProto t;
  t.set_data_type(onnx::TensorProto::FLOAT);
  t.add_dims(4);
  t.set_raw_data(std::string(12, '\0'));
  expect_bad(t.SerializeAsString(), "raw_data");
  t.set_dims(0, int64_t{1} << 45);
  expect_bad(t.SerializeAsString(), "dims");
  t.set_data_type(onnx::TensorProto::DOUBLE);
  expect_bad(t.SerializeAsString(), "DOUBLE");
  try {
    io::read_tensor_proto(file("absent.pb").string());
    ADD_FAILURE() << "read a missing file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("absent.pb"), std::string::npos) << e.what();
  }
  write_file(file("cut.pb"), t.SerializeAsString().substr(0, 5));
  try {
    io::read_tensor_proto(file("cut.pb").string());
    ADD_FAILURE() << "read a truncated file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cut.pb"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace leancnn
