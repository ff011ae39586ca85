// quantize::run calibrated on the model's own data: an image folder with the stated
// preprocessing, random inputs (labelled synthetic), and the clear refusal of a dataset whose
// images do not fit the model (a 3-channel model against Fashion-MNIST's 1x28x28).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "leancnn/compress/quantize/calibration.h"
#include "leancnn/compress/quantize/quantize.h"
#include "leancnn/core/error.h"
#include "leancnn/core/rng.h"
#include "leancnn/io/image.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "random_images.h"

namespace leancnn::compress::quantize {
namespace {

namespace fs = std::filesystem;

class CalibrationSource : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("leancnn_calsrc_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

int count_op(const ir::Graph& g, const char* op) {
  int n = 0;
  for (ir::NodeId id : g.node_ids()) n += g.node(id).op_type == op;
  return n;
}

Spec small_spec() {
  Spec s;
  s.ptq.calib_images = 6;
  s.ptq.calib_batch = 4;
  return s;
}

TEST_F(CalibrationSource, ImageFolderWithTheModelsPreprocessing) {
  // Random-noise images of several sizes, PNG and JPEG, for a 3x32x32 model.
  Rng rng(5);
  for (int i = 0; i < 6; ++i) {
    io::Image img;
    img.height = 20 + 7 * i;
    img.width = 40 - 3 * i;
    img.channels = 3;
    for (int64_t k = 0; k < img.height * img.width * 3; ++k) img.pixels.push_back(static_cast<uint8_t>(rng.below(256)));
    const std::string f = (dir_ / ("img" + std::to_string(i) + (i % 2 ? ".jpg" : ".png"))).string();
    if (i % 2) io::write_jpeg(f, img, 90);
    else io::write_png(f, img);
  }
  const ir::Graph g = models::build_model("lenet5", {{3, 32, 32}, 10, 1}, ops::op_table());
  Spec s = small_spec();
  train::Preprocess pre;
  pre.mean = {0.485f, 0.456f, 0.406f};
  pre.std = {0.229f, 0.224f, 0.225f};
  s.calibration = train::calibration_data_from(dir_.string(), "auto", pre);
  const Report r = run(g, train::Dataset{}, s);
  EXPECT_EQ(r.calibration_images, 6);
  EXPECT_FALSE(r.synthetic_calibration);
  EXPECT_NE(r.calibration.find(dir_.string()), std::string::npos) << r.calibration;
  EXPECT_GT(count_op(r.ptq.graph, "QuantizeLinear"), 0);
  // The scales follow the data: normalised inputs span about [-2.1, 2.6], not [0, 1].
  ASSERT_FALSE(r.ptq.layers.empty());
  EXPECT_GT(r.ptq.layers[0].input_scale * 255.f, 3.5f);
}

TEST_F(CalibrationSource, ADatasetOfAnotherShapeIsRefusedWithTheFix) {
  // Regression: a 3-channel model quantized with the default (Fashion-MNIST-like 1x28x28)
  // calibration failed deep in the executor ("input 'input' expects f32 1x3x...").
  const ir::Graph g = models::build_model("resnet18", {{3, 64, 64}, 10, 1}, ops::op_table());
  train::Dataset ds = testing::random_blobs(8, 1);
  ds.name = "fashion-mnist";
  try {
    run(g, ds, small_spec());
    ADD_FAILURE() << "quantized";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::bad_input) << e.what();
    const std::string m = e.what();
    for (const char* needle : {"3x64x64", "fashion-mnist", "1x28x28", "images", "random"})
      EXPECT_NE(m.find(needle), std::string::npos) << needle << " not in: " << m;
  }
}

TEST_F(CalibrationSource, RandomCalibrationIsLabelledSynthetic) {
  const ir::Graph g = models::build_model("lenet5", {{3, 32, 32}, 10, 1}, ops::op_table());
  Spec s = small_spec();
  s.calibration = train::calibration_data_from("random", "auto", {});
  const Report r = run(g, train::Dataset{}, s);
  EXPECT_TRUE(r.synthetic_calibration);
  EXPECT_NE(r.calibration.find("synthetic"), std::string::npos);
  EXPECT_EQ(r.calibration_images, 6);
  // The sensitivity needs labelled images: refused with other calibration data.
  s.sensitivity = true;
  EXPECT_THROW(run(g, train::Dataset{}, s), Error);
}

TEST_F(CalibrationSource, TheDatasetSampleIsUnchanged) {
  // The dataset path through train/calibration_data gives exactly calibration_batches' inputs.
  const train::Dataset ds = testing::random_blobs(40, 2);
  const std::vector<Tensor> a = calibration_batches(ds, 25, 8, 11);
  const std::vector<Tensor> b = train::load_calibration_batches({}, {1, 1, 28, 28}, 25, 8, 11, &ds);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].shape(), b[i].shape());
    for (int64_t k = 0; k < a[i].numel(); ++k) ASSERT_EQ(a[i].at(k), b[i].at(k)) << i << " " << k;
  }
}

}  // namespace
}  // namespace leancnn::compress::quantize
