// Calibration data of the model's own: PNG and JPEG folders (written here with the same
// library), TensorProto files, IDX folders and random inputs, with the stated preprocessing;
// errors name the file, the field and the fix.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "leancnn/core/error.h"
#include "leancnn/io/image.h"
#include "leancnn/io/tensor_proto.h"
#include "leancnn/train/calibration_data.h"

namespace leancnn::train {
namespace {

namespace fs = std::filesystem;

io::Image solid(int64_t h, int64_t w, std::vector<uint8_t> colour) {
  io::Image img;
  img.height = h;
  img.width = w;
  img.channels = static_cast<int64_t>(colour.size());
  for (int64_t i = 0; i < h * w; ++i) img.pixels.insert(img.pixels.end(), colour.begin(), colour.end());
  return img;
}

class CalibrationFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("leancnn_calib_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

// Expects `f` to throw Error(kind) whose message holds every needle.
template <typename F>
void expect_error(F f, ErrorKind kind, const std::vector<std::string>& needles) {
  try {
    f();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    for (const std::string& n : needles) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << n << " not in: " << e.what();
  }
}

TEST_F(CalibrationFiles, PngRoundTripsExactly) {
  io::Image img;
  img.height = 3;
  img.width = 5;
  img.channels = 3;
  for (int i = 0; i < 45; ++i) img.pixels.push_back(static_cast<uint8_t>(i * 5));
  io::write_png(path("a.png"), img);
  const io::Image back = io::read_image(path("a.png"));
  EXPECT_EQ(back.height, 3);
  EXPECT_EQ(back.width, 5);
  EXPECT_EQ(back.channels, 3);
  EXPECT_EQ(back.pixels, img.pixels);
}

TEST_F(CalibrationFiles, ImageFolderWithPreprocessing) {
  // A PNG of another size (resized to the model's 8x8) and a JPEG (lossy: a solid colour comes
  // back within a few levels), both RGB (255, 0, 51) = (1, 0, 0.2) after scaling.
  fs::create_directories(dir_ / "imgs");
  io::write_png(path("imgs/a.png"), solid(12, 20, {255, 0, 51}));
  io::write_jpeg(path("imgs/b.jpg"), solid(8, 8, {255, 0, 51}), 95);
  std::ofstream(path("imgs/notes.txt")) << "not an image";
  Preprocess pre;
  pre.mean = {0.5f, 0.25f, 0.1f};
  pre.std = {0.5f, 0.25f, 0.05f};
  const CalibrationData d = calibration_data_from(path("imgs"), "auto", pre);
  EXPECT_EQ(d.kind, CalibrationKind::images);
  const std::vector<Tensor> b = load_calibration_batches(d, {1, 3, 8, 8}, 16, 16, 0);
  ASSERT_EQ(b.size(), 1u);
  ASSERT_EQ(b[0].shape(), (Shape{2, 3, 8, 8}));
  const float expect[3] = {(1.f - 0.5f) / 0.5f, (0.f - 0.25f) / 0.25f, (0.2f - 0.1f) / 0.05f};
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t i = 0; i < 64; ++i)
        EXPECT_NEAR(b[0].at((n * 3 + c) * 64 + i), expect[c], 4.f / 255.f / pre.std[static_cast<size_t>(c)]) << n << " " << c;
  // BGR models see the channels reversed; a grey model sees BT.601 luma.
  Preprocess bgr;
  bgr.order = ChannelOrder::bgr;
  const Tensor r = load_calibration_batches(calibration_data_from(path("imgs"), "images", bgr), {1, 3, 8, 8}, 1, 1, 0)[0];
  EXPECT_NEAR(r.at(0), 0.2f, 4.f / 255.f);
  EXPECT_NEAR(r.at(2 * 64), 1.f, 4.f / 255.f);
  const Tensor grey = load_calibration_batches(calibration_data_from(path("imgs"), "images", {}), {1, 1, 4, 4}, 1, 1, 0)[0];
  EXPECT_NEAR(grey.at(0), (0.299f * 255 + 0.114f * 51) / 255.f, 4.f / 255.f);
}

TEST_F(CalibrationFiles, BilinearResizeKeepsARamp) {
  // A horizontal ramp 0, 100, 200 upscaled to 6 columns with half-pixel centres: the source
  // column of output x is (x + 0.5) / 2 - 0.5, clamped: 0, 0, 25, 75, 125, 175 ... 200.
  io::Image img;
  img.height = 1;
  img.width = 3;
  img.channels = 1;
  img.pixels = {0, 100, 200};
  fs::create_directories(dir_ / "ramp");
  io::write_png(path("ramp/r.png"), img);
  Preprocess pre;
  pre.scale = false;
  const Tensor t = load_calibration_batches(calibration_data_from(path("ramp"), "auto", pre), {1, 1, 1, 6}, 1, 1, 0)[0];
  const float expect[6] = {0, 25, 75, 125, 175, 200};
  for (int i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(t.at(i), expect[i]) << i;
}

TEST_F(CalibrationFiles, ImageErrorsNameTheFileAndTheFix) {
  fs::create_directories(dir_ / "bad");
  std::ofstream(path("bad/broken.png")) << "definitely not a PNG";
  const CalibrationData d = calibration_data_from(path("bad"), "auto", {});
  expect_error([&] { load_calibration_batches(d, {1, 3, 8, 8}, 4, 4, 0); }, ErrorKind::bad_input, {"broken.png", "PNG or JPEG"});
  fs::create_directories(dir_ / "big");
  io::write_png(path("big/x.png"), solid(9, 9, {1, 2, 3}));
  Preprocess keep;
  keep.resize = false;
  expect_error([&] { load_calibration_batches(calibration_data_from(path("big"), "auto", keep), {1, 3, 8, 8}, 4, 4, 0); },
               ErrorKind::bad_input, {"x.png", "9x9", "8x8", "resize"});
  Preprocess two;
  two.mean = {0.1f, 0.2f};
  expect_error([&] { load_calibration_batches(calibration_data_from(path("big"), "auto", two), {1, 3, 8, 8}, 4, 4, 0); },
               ErrorKind::bad_input, {"mean", "3 channels"});
  fs::create_directories(dir_ / "empty");
  expect_error([&] { load_calibration_batches(calibration_data_from(path("empty"), "images", {}), {1, 3, 8, 8}, 4, 4, 0); },
               ErrorKind::bad_input, {"empty", "no image files"});
  expect_error([&] { calibration_data_from(path("nowhere"), "auto", {}); }, ErrorKind::bad_input, {"nowhere", "random"});
  expect_error([&] { calibration_data_from(path("big"), "jpeg", {}); }, ErrorKind::usage, {"auto, idx, images or tensors"});
}

TEST_F(CalibrationFiles, TensorProtoFilesAsInferReadsThem) {
  fs::create_directories(dir_ / "pb");
  Tensor one = Tensor::full({3, 4, 4}, 0.5f), two = Tensor::full({2, 3, 4, 4}, -1.f);
  io::write_tensor_proto(path("pb/input_0.pb"), one, "input");
  io::write_tensor_proto(path("pb/input_1.pb"), two, "input");
  const CalibrationData d = calibration_data_from(path("pb"), "auto", {});
  EXPECT_EQ(d.kind, CalibrationKind::tensors);
  const std::vector<Tensor> b = load_calibration_batches(d, {1, 3, 4, 4}, 10, 2, 0);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].shape(), (Shape{2, 3, 4, 4}));
  EXPECT_EQ(b[1].shape(), (Shape{1, 3, 4, 4}));
  EXPECT_FLOAT_EQ(b[0].at(0), 0.5f);
  EXPECT_FLOAT_EQ(b[0].at(48), -1.f);
  expect_error([&] { load_calibration_batches(d, {1, 3, 8, 8}, 10, 2, 0); }, ErrorKind::bad_input,
               {"input_0.pb", "3x8x8", "3x4x4"});
  Preprocess norm;
  norm.mean = {0.5f};
  expect_error([&] { load_calibration_batches(calibration_data_from(path("pb"), "auto", norm), {1, 3, 4, 4}, 1, 1, 0); },
               ErrorKind::usage, {"as stored"});
}

TEST_F(CalibrationFiles, RandomIsLabelledSynthetic) {
  const CalibrationData d = calibration_data_from("random", "auto", {});
  EXPECT_TRUE(d.synthetic());
  EXPECT_NE(d.describe().find("synthetic"), std::string::npos);
  EXPECT_NE(d.describe().find("speed"), std::string::npos);
  const std::vector<Tensor> b = load_calibration_batches(d, {1, 3, 5, 5}, 5, 4, 7);
  ASSERT_EQ(b.size(), 2u);
  for (const Tensor& t : b)
    for (int64_t i = 0; i < t.numel(); ++i) {
      EXPECT_GE(t.at(i), 0.f);
      EXPECT_LT(t.at(i), 1.f);
    }
  EXPECT_FLOAT_EQ(b[0].at(3), load_calibration_batches(d, {1, 3, 5, 5}, 5, 4, 7)[0].at(3));  // seeded
}

TEST_F(CalibrationFiles, DatasetOfAnotherShapeIsRefusedWithTheFix) {
  // The reported failure: a 3x224x224 model calibrated on the 1x28x28 built-in dataset.
  Dataset ds;
  ds.name = "fashion-mnist";
  ds.images = Tensor::zeros({4, 1, 28, 28}, DType::u8);
  ds.labels = Tensor::zeros({4}, DType::s64);
  expect_error([&] { load_calibration_batches(CalibrationData{}, {1, 3, 224, 224}, 4, 4, 0, &ds); }, ErrorKind::bad_input,
               {"3x224x224", "fashion-mnist", "1x28x28", "folder of images", "random"});
  const std::vector<Tensor> ok = load_calibration_batches(CalibrationData{}, {1, 1, 28, 28}, 3, 2, 0, &ds);
  EXPECT_EQ(ok.size(), 2u);
}

}  // namespace
}  // namespace leancnn::train
