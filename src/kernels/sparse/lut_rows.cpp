// Packing for the table-lookup products (lut_rows.h) and the choice of product.
#include "lut_rows.h"

#include <algorithm>

#include "leancnn/core/cpu.h"

namespace leancnn::kernels::sparse {

LutRows pack_lut_rows(const float* w, int64_t n, int64_t k, int lanes, int cols) {
  LutRows a;
  a.n = n;
  a.k = k;
  a.lanes = lanes;
  a.cols = cols;
  a.blocks = (n + lanes - 1) / lanes;
  a.chunks = (k + cols - 1) / cols;
  a.slot_ptr.push_back(0);
  std::vector<std::vector<std::pair<float, uint8_t>>> rows(static_cast<size_t>(lanes));
  for (int64_t b = 0; b < a.blocks; ++b)
    for (int64_t c = 0; c < a.chunks; ++c) {
      size_t slots = 0;
      for (int l = 0; l < lanes; ++l) {
        auto& nz = rows[static_cast<size_t>(l)];
        nz.clear();
        const int64_t r = b * lanes + l;
        if (r >= n) continue;
        for (int64_t j = c * cols; j < std::min(k, (c + 1) * cols); ++j)
          if (w[r * k + j] != 0.f) nz.emplace_back(w[r * k + j], static_cast<uint8_t>(j - c * cols));
        slots = std::max(slots, nz.size());
      }
      for (size_t s = 0; s < slots; ++s)
        for (int l = 0; l < lanes; ++l) {
          const auto& nz = rows[static_cast<size_t>(l)];
          a.val.push_back(s < nz.size() ? nz[s].first : 0.f);
          a.idx.push_back(s < nz.size() ? nz[s].second : uint8_t{0});
        }
      a.slot_ptr.push_back(a.slot_ptr.back() + static_cast<int64_t>(slots));
    }
  return a;
}

const LutProduct& lut_product() {
  static const LutProduct avx512{avx512::lut_gemv, 16, 32}, avx2{avx2::lut_gemv, 8, 8};
  return cpu_features().avx512f ? avx512 : avx2;
}

}  // namespace leancnn::kernels::sparse
