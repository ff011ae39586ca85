// Sets of offsets on one tensor axis (internal to accel): how many distinct rows a tile of
// output rows × filter rows touches, and how many of them a shifted tile shares. Intervals
// (the common case) are closed-form; strided or gapped sets fall back to a bitset.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace leancnn::accel::detail {

// One digit of a mixed-radix index: offsets {i·unit : 0 <= i < count}.
struct Digit {
  int64_t count = 1;
  int64_t unit = 1;
};

class IndexSet {
 public:
  IndexSet() = default;
  // {0, 1, ..., len-1}
  static IndexSet interval(int64_t len);
  // {Σ_k i_k·unit_k : 0 <= i_k < count_k}: the union of a tile's positions over spatial
  // digits. An interval when the digits chain (each unit = product of the smaller counts).
  static IndexSet from_digits(const Digit* digits, int n);
  // {a·stride + b·dilation : a in rows, b in taps}: the input rows of output rows × filter rows.
  static IndexSet sliding(const IndexSet& rows, int64_t stride, const IndexSet& taps, int64_t dilation);

  int64_t size() const { return size_; }
  // |S ∩ (S + shift)|.
  int64_t overlap(int64_t shift) const;
  bool is_interval() const { return bits_.empty(); }

 private:
  void set_bit(int64_t i) { bits_[static_cast<size_t>(i >> 6)] |= uint64_t{1} << (i & 63); }
  bool bit(int64_t i) const { return (bits_[static_cast<size_t>(i >> 6)] >> (i & 63)) & 1; }
  static IndexSet from_bits(std::vector<uint64_t> bits, int64_t extent);

  int64_t size_ = 1;    // number of elements
  int64_t extent_ = 1;  // max element + 1
  std::vector<uint64_t> bits_;  // empty: the interval [0, size_)
};

// |{i·stride + j·dilation : 0 <= i < a, 0 <= j < b}| in closed form.
int64_t sliding_count(int64_t a, int64_t stride, int64_t b, int64_t dilation);

}  // namespace leancnn::accel::detail
