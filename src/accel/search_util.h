// Factor arithmetic shared by the dataflow templates and the mapper (internal to accel).
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "leancnn/accel/mapping.h"

namespace leancnn::accel::detail {

inline std::vector<int64_t> divisors(int64_t n) {
  std::vector<int64_t> d;
  for (int64_t i = 1; i * i <= n; ++i)
    if (n % i == 0) {
      d.push_back(i);
      if (i != n / i) d.push_back(n / i);
    }
  std::sort(d.begin(), d.end());
  return d;
}

inline std::vector<int64_t> prime_factors(int64_t n) {
  std::vector<int64_t> f;
  for (int64_t p = 2; p * p <= n; ++p)
    while (n % p == 0) {
      f.push_back(p);
      n /= p;
    }
  if (n > 1) f.push_back(n);
  return f;
}

inline int64_t smallest_prime(int64_t n) {
  for (int64_t p = 2; p * p <= n; ++p)
    if (n % p == 0) return p;
  return n;
}

inline int64_t product(const DimFactors& f) {
  int64_t n = 1;
  for (int64_t x : f) n *= x;
  return n;
}

// Every assignment of factors (dividing rem) to `dims` whose product is <= cap, sorted by
// product (largest first; ties: earlier dims larger), at most `keep` of them.
inline std::vector<DimFactors> axis_options(const DimFactors& rem, const std::vector<Dim>& dims, int64_t cap,
                                            size_t keep) {
  std::vector<DimFactors> out;
  DimFactors cur = kOnes;
  auto rec = [&](auto&& self, size_t k, int64_t left) -> void {
    if (k == dims.size()) {
      out.push_back(cur);
      return;
    }
    const int d = static_cast<int>(dims[k]);
    if (cur[static_cast<size_t>(d)] != 1) {  // a dimension listed twice
      self(self, k + 1, left);
      return;
    }
    for (int64_t f : divisors(rem[static_cast<size_t>(d)])) {
      if (f > left) break;
      cur[static_cast<size_t>(d)] = f;
      self(self, k + 1, left / f);
    }
    cur[static_cast<size_t>(d)] = 1;
  };
  rec(rec, 0, cap);
  std::stable_sort(out.begin(), out.end(), [&](const DimFactors& a, const DimFactors& b) {
    const int64_t pa = product(a), pb = product(b);
    if (pa != pb) return pa > pb;
    for (Dim d : dims)
      if (a[static_cast<size_t>(d)] != b[static_cast<size_t>(d)]) return a[static_cast<size_t>(d)] > b[static_cast<size_t>(d)];
    return false;
  });
  if (out.size() > keep) out.resize(keep);
  return out;
}

inline bool level_fits(const Problem& p, const Architecture& arch, const Mapping& m, int level) {
  const int64_t cap = arch.levels[static_cast<size_t>(level)].capacity_words;
  return cap == 0 || tile_words(p, arch, m, level) <= cap;
}

}  // namespace leancnn::accel::detail
