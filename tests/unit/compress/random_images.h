// A labelled set of random 1x28x28 u8 images (seeded) for the compression tests.
#pragma once
#include "leancnn/core/rng.h"
#include "leancnn/train/dataset.h"

namespace leancnn::compress::testing {

inline train::Dataset random_blobs(int64_t n, uint64_t seed) {
  train::Dataset d;
  d.images = Tensor::empty({n, 1, 28, 28}, DType::u8);
  d.labels = Tensor::empty({n}, DType::s64);
  Rng rng(seed);
  for (int64_t i = 0; i < n * 784; ++i) d.images.data<uint8_t>()[i] = static_cast<uint8_t>(rng.below(256));
  for (int64_t i = 0; i < n; ++i) d.labels.data<int64_t>()[i] = rng.below(10);
  return d;
}

}  // namespace leancnn::compress::testing
