// DataLoader: coverage of every item per epoch, seeded repeatability with and without
// prefetch, normalisation, augmentation, validation split.
#include <gtest/gtest.h>

#include <set>

#include "leancnn/core/error.h"
#include "leancnn/train/data_loader.h"

namespace leancnn::train {
namespace {

// n images of 1x4x4 where every pixel of image i is i (mod 256) and its label is i % 10.
Dataset toy(int64_t n) {
  Dataset d;
  d.name = "toy";
  d.images = Tensor::empty({n, 1, 4, 4}, DType::u8);
  d.labels = Tensor::empty({n}, DType::s64);
  for (int64_t i = 0; i < n; ++i) {
    for (int p = 0; p < 16; ++p) d.images.data<uint8_t>()[i * 16 + p] = static_cast<uint8_t>(i);
    d.labels.data<int64_t>()[i] = i % 10;
  }
  return d;
}

std::vector<std::vector<float>> epoch_images(DataLoader& l, int64_t epoch) {
  l.start_epoch(epoch);
  std::vector<std::vector<float>> out;
  while (auto b = l.next()) out.emplace_back(b->images.data<float>(), b->images.data<float>() + b->images.numel());
  return out;
}

TEST(DataLoader, EveryItemOncePerEpoch) {
  Dataset d = toy(37);
  DataLoader l(d, {.batch = 8, .mean = 0.f, .stddev = 1.f / 255.f, .seed = 3});
  EXPECT_EQ(l.batches_per_epoch(), 5);
  std::multiset<int64_t> seen;
  int64_t batches = 0;
  while (auto b = l.next()) {
    ++batches;
    for (int64_t i = 0; i < b->labels.numel(); ++i) {
      const float v = b->images.data<float>()[i * 16];  // = item index with this normalisation
      seen.insert(static_cast<int64_t>(v + 0.5f));
      EXPECT_EQ(b->labels.data<int64_t>()[i], static_cast<int64_t>(v + 0.5f) % 10);
    }
  }
  EXPECT_EQ(batches, 5);
  ASSERT_EQ(seen.size(), 37u);
  for (int64_t i = 0; i < 37; ++i) EXPECT_EQ(seen.count(i), 1u);
}

TEST(DataLoader, SameSeedSameBatchesWithOrWithoutPrefetch) {
  Dataset d = toy(50);
  LoaderOptions o{.batch = 16, .augment = {.crop_pad = 1, .hflip = true, .erase_prob = 0.5f}, .seed = 9};
  DataLoader a(d, o);
  o.prefetch = false;
  DataLoader b(d, o);
  EXPECT_EQ(epoch_images(a, 2), epoch_images(b, 2));
  EXPECT_NE(epoch_images(a, 1), epoch_images(a, 2));  // epochs differ
  EXPECT_EQ(epoch_images(a, 1), epoch_images(b, 1));  // and are reproducible out of order
}

TEST(DataLoader, NormalisesPixels) {
  Dataset d = toy(3);
  DataLoader l(d, {.batch = 3, .shuffle = false, .mean = 0.5f, .stddev = 0.25f});
  auto b = l.next();
  ASSERT_TRUE(b);
  EXPECT_FLOAT_EQ(b->images.data<float>()[16 * 2], (2.f / 255.f - 0.5f) / 0.25f);
}

TEST(DataLoader, FlipAndCropMovePixels) {
  Dataset d;
  d.images = Tensor::zeros({1, 1, 1, 3}, DType::u8);
  d.images.data<uint8_t>()[0] = 255;  // a bright pixel at the left
  d.labels = Tensor::zeros({1}, DType::s64);
  bool saw_flip = false, saw_plain = false;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    DataLoader l(d, {.batch = 1, .shuffle = false, .augment = {.hflip = true}, .seed = seed});
    auto b = l.next();
    const float* p = b->images.data<float>();
    if (p[2] == 1.f && p[0] == 0.f) saw_flip = true;
    if (p[0] == 1.f && p[2] == 0.f) saw_plain = true;
  }
  EXPECT_TRUE(saw_flip);
  EXPECT_TRUE(saw_plain);
}

TEST(DataLoader, ValidationSplitIsDisjointAndComplete) {
  Dataset d = toy(100);
  auto [tr, va] = split_validation(d, 20, 1);
  EXPECT_EQ(tr.size(), 80);
  EXPECT_EQ(va.size(), 20);
  std::set<int> all;
  for (const Dataset* part : {&tr, &va})
    for (int64_t i = 0; i < part->size(); ++i) all.insert(part->images.data<uint8_t>()[i * 16]);
  EXPECT_EQ(all.size(), 100u);
  EXPECT_THROW(split_validation(d, 100, 1), Error);
  EXPECT_EQ(subset(d, 7).size(), 7);
}

TEST(DataLoader, RejectsBadOptions) {
  Dataset d = toy(4);
  EXPECT_THROW(DataLoader(d, {.batch = 0}), Error);
  EXPECT_THROW(DataLoader(d, {.stddev = 0.f}), Error);
}

}  // namespace
}  // namespace leancnn::train
