// Seeded random numbers, identical on every platform (own generator and distributions:
// the standard library's distributions differ between implementations).
#pragma once
#include <cstdint>

namespace leancnn {

class Tensor;

class Rng {
 public:
  explicit Rng(uint64_t seed = 0);
  uint64_t next_u64();                 // xoshiro256**
  float uniform();                     // [0, 1)
  float uniform(float lo, float hi);   // [lo, hi)
  float normal(float mean = 0.f, float stddev = 1.f);  // Box-Muller
  int64_t below(int64_t n);            // uniform integer in [0, n)
  // An independent stream derived from this one (e.g. one per worker or per layer).
  Rng split();

  void fill_uniform(const Tensor& t, float lo, float hi);
  void fill_normal(const Tensor& t, float mean, float stddev);

 private:
  uint64_t s_[4];
  bool has_spare_ = false;
  float spare_ = 0.f;
};

}  // namespace leancnn
