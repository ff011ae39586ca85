// Offset sets on one axis: intervals in closed form, everything else as a bitset.
#include "index_set.h"

#include <algorithm>
#include <bit>
#include <numeric>

#include "leancnn/core/error.h"

namespace leancnn::accel::detail {

int64_t sliding_count(int64_t a, int64_t stride, int64_t b, int64_t dilation) {
  if (a <= 0 || b <= 0) return 0;
  // Reduce by the gcd; then pairs (i, j) and (i + k·d', j - k·s') collide, and each class has
  // exactly one member with j < s' or i >= a - d'.
  const int64_t g = std::gcd(stride, dilation);
  const int64_t s = stride / g, d = dilation / g;
  return a * std::min(b, s) + std::max<int64_t>(0, b - s) * std::min(a, d);
}

IndexSet IndexSet::interval(int64_t len) {
  IndexSet r;
  r.size_ = len;
  r.extent_ = len;
  return r;
}

IndexSet IndexSet::from_bits(std::vector<uint64_t> bits, int64_t extent) {
  IndexSet r;
  int64_t n = 0;
  for (uint64_t w : bits) n += std::popcount(w);
  r.size_ = n;
  r.extent_ = extent;
  if (n != extent) r.bits_ = std::move(bits);  // a full range is an interval
  return r;
}

IndexSet IndexSet::from_digits(const Digit* digits, int n) {
  // Chain check: sorted by unit, each unit must equal the product of the counts below it.
  LEANCNN_CHECK(n <= 16, "too many digits: ", n);
  Digit sorted[16];
  int m = 0;
  for (int k = 0; k < n; ++k)
    if (digits[k].count > 1) sorted[m++] = digits[k];
  std::sort(sorted, sorted + m, [](const Digit& x, const Digit& y) { return x.unit < y.unit; });
  int64_t span = 1;
  bool chain = true;
  for (int k = 0; k < m; ++k) {
    if (sorted[k].unit != span) chain = false;
    span *= sorted[k].count;
  }
  if (chain) return interval(span);
  int64_t extent = 1;
  for (int k = 0; k < m; ++k) extent += (sorted[k].count - 1) * sorted[k].unit;
  std::vector<uint64_t> bits(static_cast<size_t>((extent + 63) / 64), 0);
  IndexSet tmp;
  tmp.bits_ = std::move(bits);
  // Enumerate every digit combination.
  int64_t idx[16] = {0};
  for (;;) {
    int64_t off = 0;
    for (int k = 0; k < m; ++k) off += idx[k] * sorted[k].unit;
    tmp.set_bit(off);
    int k = 0;
    while (k < m && ++idx[k] == sorted[k].count) idx[k++] = 0;
    if (k == m) break;
  }
  return from_bits(std::move(tmp.bits_), extent);
}

IndexSet IndexSet::sliding(const IndexSet& rows, int64_t stride, const IndexSet& taps, int64_t dilation) {
  const int64_t extent = (rows.extent_ - 1) * stride + (taps.extent_ - 1) * dilation + 1;
  if (rows.is_interval() && taps.is_interval()) {
    if (sliding_count(rows.size_, stride, taps.size_, dilation) == extent) return interval(extent);
  }
  IndexSet tmp;
  tmp.bits_.assign(static_cast<size_t>((extent + 63) / 64), 0);
  for (int64_t a = 0; a < rows.extent_; ++a) {
    if (!rows.is_interval() && !rows.bit(a)) continue;
    for (int64_t b = 0; b < taps.extent_; ++b) {
      if (!taps.is_interval() && !taps.bit(b)) continue;
      tmp.set_bit(a * stride + b * dilation);
    }
  }
  return from_bits(std::move(tmp.bits_), extent);
}

int64_t IndexSet::overlap(int64_t shift) const {
  const int64_t s = shift < 0 ? -shift : shift;  // |S ∩ (S+Δ)| = |S ∩ (S-Δ)|
  if (s >= extent_) return 0;
  if (is_interval()) return size_ - s;
  int64_t n = 0;
  for (int64_t i = s; i < extent_; ++i) n += (bit(i) && bit(i - s)) ? 1 : 0;
  return n;
}

}  // namespace leancnn::accel::detail
