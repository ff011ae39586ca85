// A tiny synthetic IDX dataset (random 28x28 images, 10 classes) for pipeline tests that must
// not depend on Fashion-MNIST being installed.
#pragma once
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace leancnn::pipeline::testing {

inline void write_be32(std::ofstream& f, uint32_t v) {
  const unsigned char b[4] = {static_cast<unsigned char>(v >> 24), static_cast<unsigned char>(v >> 16),
                              static_cast<unsigned char>(v >> 8), static_cast<unsigned char>(v)};
  f.write(reinterpret_cast<const char*>(b), 4);
}

// Writes {train,t10k}-{images-idx3,labels-idx1}-ubyte into dir; returns dir.
inline std::string write_tiny_idx(const std::string& dir, int train = 64, int test = 32) {
  std::filesystem::create_directories(dir);
  std::mt19937 rng(7);
  for (auto [prefix, n] : {std::pair<std::string, int>{"train", train}, {"t10k", test}}) {
    std::ofstream im(dir + "/" + prefix + "-images-idx3-ubyte", std::ios::binary);
    write_be32(im, 0x803);
    write_be32(im, static_cast<uint32_t>(n));
    write_be32(im, 28);
    write_be32(im, 28);
    std::ofstream lb(dir + "/" + prefix + "-labels-idx1-ubyte", std::ios::binary);
    write_be32(lb, 0x801);
    write_be32(lb, static_cast<uint32_t>(n));
    for (int i = 0; i < n; ++i) {
      const unsigned char label = static_cast<unsigned char>(i % 10);
      lb.write(reinterpret_cast<const char*>(&label), 1);
      for (int p = 0; p < 28 * 28; ++p) {
        // A class-dependent band plus noise, so a model can learn something.
        const int row = p / 28;
        unsigned char v = static_cast<unsigned char>(rng() % 64);
        if (row / 3 == label) v = static_cast<unsigned char>(192 + rng() % 64);
        im.write(reinterpret_cast<const char*>(&v), 1);
      }
    }
  }
  return dir;
}

}  // namespace leancnn::pipeline::testing
