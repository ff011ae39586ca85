// Density of a weight tensor (csr.h).
#include "csr.h"

#include "leancnn/core/cpu.h"

namespace leancnn::kernels::sparse {

double density(const float* values, int64_t n) {
  int64_t nz = 0;
  for (int64_t i = 0; i < n; ++i) nz += values[i] != 0.f;
  return n == 0 ? 1.0 : static_cast<double>(nz) / static_cast<double>(n);
}

const Product& product() {
  static const Product avx512{avx512::spmm, 64, "avx512"}, avx2{avx2::spmm, 32, "avx2"};
  return cpu_features().avx512f ? avx512 : avx2;
}

}  // namespace leancnn::kernels::sparse
