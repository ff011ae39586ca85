// Sparse weight rows of convolutions, private to the sparse kernels: the packing done once when
// a kernel is prepared, and the products over it (spmm_impl.h, compiled for AVX2 and AVX-512).
// Each non-zero carries the element offset of its input in the activation buffer the kernel
// reads (for a 1x1 stride-1 conv's channel c: c * h * w; for tap (c, ky, kx) on the
// stride-phase split of a zero-padded source: the phase plane's start plus the tap's row and
// column within it), so one product serves every convolution without an im2col. Fully
// connected layers have their own packing (lut_rows.h).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace leancnn::kernels::sparse {

struct SparseRows {
  int64_t rows = 0;
  std::vector<int64_t> row_ptr;  // rows + 1
  std::vector<int32_t> off;      // per non-zero: element offset of its input
  std::vector<float> val;        // per non-zero
  int64_t nnz() const { return static_cast<int64_t>(val.size()); }
};

// The non-zeros of columns [c0, c1) of a dense row-major rows x cols matrix; column c's offset
// is offset(c).
template <typename Offset>
SparseRows sparse_rows_of(const float* dense, int64_t rows, int64_t cols, Offset offset, int64_t c0 = 0,
                          int64_t c1 = -1) {
  SparseRows a;
  a.rows = rows;
  a.row_ptr.assign(static_cast<size_t>(rows + 1), 0);
  if (c1 < 0) c1 = cols;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = c0; c < c1; ++c) {
      const float v = dense[r * cols + c];
      if (v == 0.f) continue;
      a.off.push_back(static_cast<int32_t>(offset(c)));
      a.val.push_back(v);
    }
    a.row_ptr[static_cast<size_t>(r + 1)] = a.nnz();
  }
  return a;
}

// Fraction of non-zero values among n.
double density(const float* values, int64_t n);

// For rows [r0, r1) and t in [0, n):
//   y[r * ldy + t] = act((s + sum over the non-zeros (o, v) of row r of v * x[o + t]) + z[r * ldy + t])
// with s = y[r * ldy + t] when accumulate (a later block of the columns), else bias[r] (null: 0);
// act = max(., 0) when relu; z null: no residual; z has y's layout.
struct Epilogue {
  const float* bias = nullptr;
  const float* z = nullptr;
  bool relu = false;
  bool accumulate = false;
};
using SpmmFn = void (*)(const SparseRows& a, int64_t r0, int64_t r1, const float* x, int64_t n, float* y,
                        int64_t ldy, const Epilogue& e);
namespace avx2 {  // call only when the CPU has AVX2 and FMA
void spmm(const SparseRows& a, int64_t r0, int64_t r1, const float* x, int64_t n, float* y, int64_t ldy,
          const Epilogue& e);
}  // namespace avx2
namespace avx512 {  // call only when the CPU has AVX-512F and FMA
void spmm(const SparseRows& a, int64_t r0, int64_t r1, const float* x, int64_t n, float* y, int64_t ldy,
          const Epilogue& e);
}  // namespace avx512

// The product this CPU runs (AVX-512 where the CPU and the ISA cap allow it, else AVX2), and the
// outputs of one of its runs (4 vectors: 64 or 32), the natural tile of its callers.
struct Product {
  SpmmFn spmm;
  int64_t run;
  const char* isa;
};
const Product& product();

}  // namespace leancnn::kernels::sparse
